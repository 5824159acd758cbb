"""Job, queue and ingest metrics, in prometheus_client's default registry.

``/metrics`` (Litestar's ``PrometheusController``) serves that registry, so whatever runs in the
web process shows there: the in-process worker's jobs and every image ingested by an upload.
A standalone ``salon worker`` is another process with its own registry: with
``SALON_WORKER_METRICS_PORT`` set, :func:`serve_worker_metrics` serves that registry from the
worker on its own port (its JSON log lines carry each job's kind, outcome and duration too).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from prometheus_client import Counter, Histogram, start_http_server

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from salon.settings import CoreSettings

__all__ = ["INGEST_SECONDS", "JOBS", "JOB_RETRIES", "JOB_SECONDS", "serve_worker_metrics"]

log = logging.getLogger(__name__)

# Jobs run from under a second (an image) to many minutes (a video slideshow).
_JOB_BUCKETS: Final = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_INGEST_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)

JOBS: Final = Counter(
    "salon_jobs",
    "Jobs that reached a final state, by kind and state (succeeded, failed)",
    ["kind", "state"],
)
JOB_SECONDS: Final = Histogram(
    "salon_job_duration_seconds",
    "Time one job attempt ran, by kind and outcome (succeeded, failed)",
    ["kind", "outcome"],
    buckets=_JOB_BUCKETS,
)
JOB_RETRIES: Final = Counter(
    "salon_job_retries",
    "Failed job attempts that were put back on the queue for another try, by kind",
    ["kind"],
)
INGEST_SECONDS: Final = Histogram(
    "salon_image_ingest_seconds",
    "Time to process and store one new image (renditions, storage writes, database row)",
    buckets=_INGEST_BUCKETS,
)


def serve_worker_metrics(core: CoreSettings) -> WSGIServer | None:
    """Serve this process's metrics on ``SALON_WORKER_METRICS_HOST:PORT`` (None when off).

    prometheus_client's own server runs in a daemon thread, off the worker's event loop; it
    dies with the process, so nothing has to stop it. A port already in use fails the start
    (OSError) rather than running a worker whose metrics nobody can read.
    """
    if not core.worker_metrics_port:
        return None
    server, _thread = start_http_server(core.worker_metrics_port, addr=core.worker_metrics_host)
    log.info("worker metrics on http://%s:%d/metrics", core.worker_metrics_host, server.server_port)
    return server
