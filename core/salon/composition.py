"""The composition root: the core's services, built once per process from the runtime.

``build_runtime`` turns settings into providers; :func:`compose` builds the core's services
on top of them. The web app, the worker and the CLI all call it, so each process has the same
typed :class:`CoreServices` (``runtime.services``): handlers get them through Litestar
``Provide`` dependencies (:func:`dependencies`), the core's job handlers through
:func:`job_services`. Nothing looks a service up by name, except the deprecated
``JobContext.service`` kept for third-party plugins.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, cast, get_args, overload

from litestar.di import Provide

from salon.context import salon_argument
from salon.domain.auth.services import UserDirectory
from salon.domain.auth.throttle import AuthThrottle
from salon.domain.bodies import UploadSlots
from salon.domain.images.listing import ImageLister
from salon.domain.images.pool import MediaPool
from salon.domain.images.processing import RenditionService
from salon.domain.images.services import ImageService
from salon.domain.images.serving import MediaSigner
from salon.domain.sources.services import SourceImportService
from salon.domain.uploads.services import UploadService
from salon.plugins import PluginEvents

if TYPE_CHECKING:
    from salon.providers import JobContext
    from salon.runtime import Runtime

__all__ = [
    "CoreServices",
    "JobServices",
    "ServiceByName",
    "ServiceName",
    "compose",
    "dependencies",
    "job_services",
]

T = TypeVar("T")

# The names the deprecated ``JobContext.service(name)`` still answers.
ServiceName = Literal["images", "uploads", "sources", "renditions"]


class ServiceByName(Protocol):
    """The deprecated ``JobContext.service``: typed per name, for plugins checked by mypy."""

    @overload
    def __call__(self, name: Literal["images"]) -> ImageService: ...
    @overload
    def __call__(self, name: Literal["uploads"]) -> UploadService: ...
    @overload
    def __call__(self, name: Literal["sources"]) -> SourceImportService: ...
    @overload
    def __call__(self, name: Literal["renditions"]) -> RenditionService: ...
    def __call__(self, name: ServiceName) -> object: ...


@dataclass(slots=True)
class CoreServices:
    """Every core service of one process, typed; one instance, made by :func:`compose`."""

    users: UserDirectory
    # One directory per request authenticator: its users are (its provider, subject).
    authenticator_users: dict[str, UserDirectory]
    image_pages: ImageLister
    images: ImageService
    renditions: RenditionService
    uploads: UploadService
    sources: SourceImportService
    upload_slots: UploadSlots
    throttle: AuthThrottle
    # Signs /media/ URLs; ``media_mounted`` once create_app answers them (local storage).
    signer: MediaSigner
    media_mounted: bool = False

    def parts(self) -> list[object]:
        """The services, in the order they are closed at shutdown."""
        return [getattr(self, f.name) for f in fields(self)]

    def by_name(self, name: ServiceName) -> object:
        """The deprecated ``JobContext.service`` lookup; KeyError for any other name."""
        if name not in get_args(ServiceName):
            raise KeyError(name)
        service: object = getattr(self, name)
        return service


def compose(runtime: Runtime, *, local_media: bool = True) -> CoreServices:
    """Build the core services on ``runtime`` and set ``runtime.services``. ``local_media``:
    this process makes renditions itself (it runs jobs); otherwise they are left to a worker
    through ``image.renditions`` jobs. The image events are wired here (``runtime.events``):
    each listener gets its plugin's SalonContext, which the runtime cannot build itself."""
    core = runtime.core
    runtime.plugin_events = PluginEvents(runtime.pm, salon_argument(runtime))
    pool = MediaPool(
        runtime.media,
        workers=core.media_workers,
        queue=core.media_queue,
        per_owner=core.media_queue_per_user,
        nice=core.media_nice,
        light_pixels=core.media_light_pixels,
    )
    images = ImageService(runtime, RenditionService(runtime, pool, local=local_media))
    services = CoreServices(
        users=UserDirectory(core.auth, runtime.session_maker, runtime.changes),
        authenticator_users={
            authn.provider: UserDirectory(authn.provider, runtime.session_maker, runtime.changes)
            for _name, authn in runtime.authenticators
        },
        image_pages=ImageLister(
            runtime.session_maker, runtime.changes, core.read_cache_mb << 20, runtime.engine
        ),
        images=images,
        renditions=images.renditions,
        uploads=UploadService(runtime, images),
        sources=SourceImportService(runtime, images),
        upload_slots=UploadSlots(
            core.max_concurrent_uploads_per_user,
            core.upload_intake_concurrency,
            core.upload_intake_wait,
        ),
        throttle=AuthThrottle(core, runtime.engine),
        signer=MediaSigner(core.secret_key, core.presign_ttl),
    )
    runtime.composed = services
    return services


def _constant(value: T) -> Callable[[], T]:
    def provide() -> T:
        return value

    return provide


def dependencies(runtime: Runtime) -> dict[str, Provide]:
    """The app's dependencies on the composition root: a handler names the parameter (typed
    with ``salon.domain.deps``' aliases) and gets the one instance, never from app.state."""
    services = runtime.services
    provided: dict[str, object] = {
        "runtime": runtime,
        "image_service": services.images,
        "image_pages": services.image_pages,
        "rendition_service": services.renditions,
        "upload_service": services.uploads,
        "source_service": services.sources,
        "upload_slots": services.upload_slots,
        "auth_throttle": services.throttle,
        "user_directory": services.users,
    }
    return {
        name: Provide(_constant(value), use_cache=True, sync_to_thread=False)
        for name, value in provided.items()
    }


def _deprecated_service(services: CoreServices | None, name: ServiceName) -> object:
    warnings.warn(
        "JobContext.service() is deprecated: use job.salon (images, albums, queue, storage, "
        "media), see docs/plugins.md",
        DeprecationWarning,
        stacklevel=2,
    )
    try:
        if services is None:
            raise KeyError(name)
        return services.by_name(name)
    except KeyError:
        raise NotImplementedError(f"no core service named {name!r} in this process") from None


def service_by_name(services: CoreServices | None) -> ServiceByName:
    """``JobContext.service`` for a process with ``services``: warns, then answers the
    attribute of that name (CoreServices.by_name), which is the type each overload says."""
    return cast(ServiceByName, functools.partial(_deprecated_service, services))


class JobServices:
    """Carried by the worker's job context: the typed services of the process running it."""

    core_services: CoreServices | None = None


def job_services(job: JobContext) -> CoreServices:
    """The core services for a core job handler (the worker's context carries them)."""
    if isinstance(job, JobServices) and job.core_services is not None:
        return job.core_services
    raise NotImplementedError("a core job handler needs the services of Salon's worker")
