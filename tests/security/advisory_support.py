"""Advisories of locked packages from PyPI's project-level JSON API, for the dependency audit.

Used when pip-audit cannot reach its own service (it asks the per-release endpoint
``/pypi/<name>/<version>/json``, which some registry mirrors answer with 404, and OSV may be
unreachable). The project endpoint ``/pypi/<name>/json`` is documented by PyPI (warehouse
``docs/dev/api-reference/json.rst``) as follows: its ``vulnerabilities`` array lists the known
vulnerabilities *of the most recent release* (``info.version``); each entry has ``id``,
``aliases``, ``fixed_in`` (the releases that fix it, possibly one per release line, e.g.
``["2.2.18", "3.0.12", "3.1.6"]``), ``link``, ``source`` and ``withdrawn`` (an RFC 3339 time
when the advisory was retracted, else null). So:

* a package locked AT its latest release is fully checked: that list is exactly its advisories;
* a package locked at an OLDER release is only partly checked: advisories that were fixed at or
  before the latest release are not in the list at all (this endpoint cannot show them), while
  those still open in the latest release are, and :func:`affects` decides whether they reach
  the locked version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from packaging.version import InvalidVersion, Version

__all__ = [
    "Advisory",
    "ProjectReport",
    "affects",
    "fetch_reports",
    "parse_requirements",
    "report_for",
]

PYPI_JSON = "https://pypi.org/pypi/{name}/json"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


@dataclass(frozen=True)
class Advisory:
    """One advisory as PyPI lists it (``id`` plus ``aliases`` name the same problem)."""

    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]
    link: str

    @property
    def names(self) -> frozenset[str]:
        return frozenset((self.id, *self.aliases))


@dataclass
class ProjectReport:
    """What the project endpoint told us about one locked package."""

    name: str
    locked: str
    latest: str | None = None
    advisories: list[Advisory] = field(default_factory=list)  # those that reach ``locked``
    error: str | None = None

    @property
    def at_latest(self) -> bool:
        if self.latest is None:
            return False
        latest, locked = _version(self.latest), _version(self.locked)
        if latest is None or locked is None:
            return self.latest == self.locked
        return latest == locked


def parse_requirements(text: str) -> list[tuple[str, str]]:
    """The ``(name, version)`` pins of a ``uv export`` requirements file.

    A package may be pinned twice under different markers (one version per Python), so this is a
    list of distinct pairs rather than a mapping.
    """
    pins: dict[tuple[str, str], None] = {}
    for line in text.splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[(match.group(1).lower(), match.group(2))] = None
    return list(pins)


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def affects(locked: str, fixed_in: Iterable[str]) -> bool:
    """Whether an advisory still open in the latest release reaches the ``locked`` version.

    It does not when a fix in the locked version's own release line (same major.minor) is at or
    below it, or when every fixed release is at or below it. Otherwise it does; in particular
    with no fix at all, or with only fixes above the locked version. A fix on an older line
    (``2.2.18`` for a locked ``3.0.5`` with ``3.0.12`` also listed) does not count. Unparsable
    versions count as "not fixed": the audit errs towards reporting.
    """
    current = _version(locked)
    if current is None:
        return True
    fixes = [v for v in (_version(f) for f in fixed_in) if v is not None]
    if not fixes:
        return True
    line = current.release[:2]
    if any(fix <= current and fix.release[:2] == line for fix in fixes):
        return False
    return not all(fix <= current for fix in fixes)


def _advisories(document: Mapping[str, Any]) -> list[Advisory]:
    found = []
    for entry in document.get("vulnerabilities") or []:
        if not isinstance(entry, Mapping) or entry.get("withdrawn"):
            continue  # withdrawn: the source retracted it
        found.append(
            Advisory(
                id=str(entry.get("id")),
                aliases=tuple(str(a) for a in entry.get("aliases") or ()),
                fixed_in=tuple(str(v) for v in entry.get("fixed_in") or ()),
                link=str(entry.get("link") or ""),
            )
        )
    return found


def _fetch(client: httpx.Client, name: str) -> tuple[str, dict[str, Any] | str]:
    """The project document of ``name``, or why it could not be had."""
    try:
        response = client.get(PYPI_JSON.format(name=name))
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict) or not isinstance(document.get("info"), dict):
            return name, "not a project document"
        return name, document
    except (httpx.HTTPError, ValueError) as exc:
        return name, f"{type(exc).__name__}: {str(exc)[:120]}"


def report_for(name: str, locked: str, document: Mapping[str, Any]) -> ProjectReport:
    """Which advisories of the project document reach ``locked`` (see the module docstring)."""
    report = ProjectReport(name=name, locked=locked, latest=str(document["info"].get("version")))
    advisories = _advisories(document)
    if report.at_latest:
        report.advisories = advisories  # the list is exactly this release's advisories
    else:
        report.advisories = [a for a in advisories if affects(locked, a.fixed_in)]
    return report


def fetch_reports(
    pins: Iterable[tuple[str, str]], *, timeout: float = 15.0, workers: int = 6
) -> list[ProjectReport]:
    """One report per pin; each project is fetched once, by a small thread pool."""
    pins = list(pins)
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    headers = {"Accept": "application/json", "User-Agent": "salon-dependency-audit"}
    with (
        httpx.Client(timeout=timeout, limits=limits, headers=headers) as client,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        names = sorted({name for name, _ in pins})
        documents = dict(pool.map(lambda name: _fetch(client, name), names))
    reports = []
    for name, locked in sorted(pins):
        document = documents[name]
        if isinstance(document, str):
            reports.append(ProjectReport(name=name, locked=locked, error=document))
        else:
            reports.append(report_for(name, locked, document))
    return reports
