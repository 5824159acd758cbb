"""Dependency audit: every locked package of the workspace (core, plugins, dev tools) checked
against the PyPI/OSV advisory database.

``uv export --frozen --no-hashes --all-packages --no-emit-workspace`` writes the locked set (the
workspace's own packages are not on PyPI, so they are left out).

Two paths, and the printed summary says how many packages each one checked:

1. pip-audit (``--disable-pip --no-deps``: the lock is already resolved). It asks PyPI's
   per-release endpoint ``/pypi/<name>/<version>/json``; behind some registry mirrors that
   answers 404 for everything, and OSV (api.osv.dev) may be unreachable.
2. For every package pip-audit could not audit: PyPI's project endpoint ``/pypi/<name>/json``
   (see ``advisory_support``). PyPI documents its ``vulnerabilities`` array as the known
   advisories of the project's most recent release, each with ``id``, ``aliases``, ``fixed_in``
   and ``withdrawn`` (withdrawn ones are dropped). A package locked at its latest release is
   therefore checked completely. For a package locked at an older release only the advisories
   still open in the latest release are visible; one of them applies unless a release at or
   below the locked version fixes it (``advisory_support.affects``). Advisories fixed between
   the locked and the latest release cannot be seen on this path: the summary names those
   packages.

A finding fails the test with its ids and fixed versions, unless it is in :data:`IGNORED` (an
advisory with no fixed release that we cannot avoid, each with its reason; printed every run).
If neither path reaches more than half of the packages, the test skips saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from advisory_support import affects, fetch_reports, parse_requirements, report_for

ROOT = Path(__file__).resolve().parents[2]
NETWORK_HINTS = (
    "connection",
    "timed out",
    "timeout",
    "name resolution",
    "temporary failure",
    "network is unreachable",
    "max retries exceeded",
    "ssl",
)

# Advisories that genuinely cannot be fixed (no fixed release, package still needed), by any of
# their ids or aliases: advisory id -> (package, one-line reason). Empty since python-jose (and
# with it ecdsa, CVE-2024-23342 / GHSA-wj6h-64fc-37mp, no fix planned) left the Cognito plugin.
IGNORED: dict[str, tuple[str, str]] = {}


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    names: frozenset[str]  # id and aliases
    fixed_in: tuple[str, ...]
    path: str  # which check found it

    def describe(self) -> str:
        fixes = ", ".join(self.fixed_in) or "no release yet"
        return (
            f"{self.package}=={self.version}: {', '.join(sorted(self.names))}; "
            f"fixed in {fixes} [{self.path}]"
        )


def _uv() -> str:
    local = ROOT / ".tools" / "bin" / "uv"
    found = shutil.which("uv") or (str(local) if local.exists() else None)
    if found is None:
        pytest.skip("dependency audit skipped: uv is not installed (make sync installs it)")
    return found


def _export(tmp_path: Path) -> Path:
    requirements = tmp_path / "requirements.txt"
    export = subprocess.run(
        [
            _uv(),
            "export",
            "--frozen",
            "--no-hashes",
            "--all-packages",
            "--no-emit-workspace",
            "--output-file",
            str(requirements),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert export.returncode == 0, export.stderr
    assert "pillow" in requirements.read_text().lower()
    return requirements


def _pip_audit(requirements: Path, tmp_path: Path) -> tuple[dict[tuple[str, str], Any], str]:
    """``(name, version) -> vulns`` for the packages pip-audit audited, and a note on the rest."""
    audit_bin = Path(sys.executable).with_name("pip-audit")
    if not audit_bin.exists():
        return {}, f"pip-audit is not installed next to {sys.executable}"
    audit = subprocess.run(
        [
            str(audit_bin),
            "-r",
            str(requirements),
            "--disable-pip",
            "--no-deps",
            "--progress-spinner",
            "off",
            "--timeout",
            "20",
            "--format",
            "json",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    try:
        report = json.loads(audit.stdout)
    except json.JSONDecodeError:
        message = (audit.stderr or audit.stdout).strip()
        if any(hint in message.lower() for hint in NETWORK_HINTS):
            return {}, f"pip-audit's service is unreachable: {message[-200:]}"
        raise AssertionError(
            f"pip-audit failed (exit {audit.returncode}): {message[-2000:]}"
        ) from None
    dependencies = report.get("dependencies", [])
    audited = {
        (dep["name"].lower(), dep["version"]): dep.get("vulns", [])
        for dep in dependencies
        if not dep.get("skip_reason") and "version" in dep
    }
    skipped = [dep for dep in dependencies if dep.get("skip_reason")]
    note = f"pip-audit could not audit {len(skipped)} of {len(dependencies)}"
    if skipped:
        note += f", e.g. {skipped[0]['skip_reason'][:120]!r}"
    return audited, note


def _ignored(finding: Finding) -> str | None:
    for name in sorted(finding.names):
        entry = IGNORED.get(name)
        if entry is not None and entry[0] == finding.package:
            return f"{finding.describe()} -- ignored: {entry[1]}"
    return None


def test_locked_dependencies_have_no_known_vulnerabilities(tmp_path: Path) -> None:
    requirements = _export(tmp_path)
    pins = parse_requirements(requirements.read_text())
    assert len(pins) > 50, "the lock export has too few pins to mean anything"

    audited, pip_audit_note = _pip_audit(requirements, tmp_path)
    findings = [
        Finding(
            package=name,
            version=version,
            names=frozenset((vuln["id"], *vuln.get("aliases", []))),
            fixed_in=tuple(vuln.get("fix_versions", [])),
            path="pip-audit",
        )
        for (name, version), vulns in audited.items()
        for vuln in vulns
    ]

    rest = [pin for pin in pins if pin not in audited]
    reports = fetch_reports(rest) if rest else []
    reached = [report for report in reports if report.error is None]
    unreached = [f"{r.name}=={r.locked} ({r.error})" for r in reports if r.error is not None]
    at_latest = [r for r in reached if r.at_latest]
    older = [f"{r.name}=={r.locked} (latest {r.latest})" for r in reached if not r.at_latest]
    for report in reached:
        seen: list[frozenset[str]] = []
        for advisory in report.advisories:
            if any(advisory.names & names for names in seen):
                continue  # the same problem under another id (PYSEC and GHSA entries)
            seen.append(advisory.names)
            findings.append(
                Finding(report.name, report.locked, advisory.names, advisory.fixed_in, "pypi-json")
            )

    checked = len(audited) + len(reached)
    summary = (
        f"dependency audit: {len(pins)} locked packages; pip-audit checked {len(audited)} "
        f"({pip_audit_note}); PyPI project JSON checked {len(reached)}: {len(at_latest)} at "
        f"their latest release (complete), {len(older)} older, where only advisories still open "
        f"in the latest release are visible: {older}; unreached {len(unreached)}: {unreached}"
    )
    print(summary)
    if checked * 2 <= len(pins):
        reason = f"dependency audit skipped: too few packages could be checked. {summary}"
        print(reason)
        pytest.skip(reason)

    ignored = [line for line in map(_ignored, findings) if line is not None]
    failing = [finding.describe() for finding in findings if _ignored(finding) is None]
    print(f"dependency audit: {len(failing)} findings, {len(ignored)} ignored")
    for line in ignored:
        print(f"  {line}")
    assert not failing, "known vulnerabilities; upgrade to the fixed versions:\n" + "\n".join(
        failing
    )


# ------------------------------------------------------------------ the rules of the fallback


@pytest.mark.parametrize(
    ("locked", "fixed_in", "expected"),
    [
        ("0.19.2", [], True),  # no fix at all
        ("1.0", ["1.1"], True),  # fixed only above
        ("1.2", ["1.1"], False),  # fixed below
        ("1.1", ["1.1"], False),  # fixed in exactly this release
        ("3.0.5", ["2.2.18", "3.0.12", "3.1.6"], True),  # its own line is fixed later
        ("3.0.15", ["2.2.18", "3.0.12", "3.1.6"], False),  # its own line is fixed
        ("3.1.0", ["2.2.18", "3.0.12", "3.1.6"], True),
        ("3.0.5", ["2.2.18", "3.1.6"], True),  # its line never fixed, a later one is
        ("3.2.0", ["2.2.18", "3.0.12", "3.1.6"], False),  # every fix is below
        ("not-a-version", ["1.0"], True),  # unparsable: report rather than guess
        ("1.0", ["garbage"], True),
    ],
)
def test_fallback_decides_whether_an_open_advisory_reaches_the_locked_version(
    locked: str, fixed_in: list[str], expected: bool
) -> None:
    assert affects(locked, fixed_in) is expected


def _document(latest: str, *vulns: dict[str, Any]) -> dict[str, Any]:
    return {"info": {"version": latest}, "vulnerabilities": list(vulns)}


def _vuln(id_: str, fixed_in: list[str], withdrawn: str | None = None) -> dict[str, Any]:
    return {"id": id_, "aliases": [f"CVE-{id_}"], "fixed_in": fixed_in, "withdrawn": withdrawn}


def test_fallback_at_latest_takes_every_advisory_and_drops_withdrawn_ones() -> None:
    document = _document(
        "2.0", _vuln("A", []), _vuln("B", ["1.0"]), _vuln("C", [], "2024-01-01T00:00:00Z")
    )
    report = report_for("pkg", "2.0", document)
    assert report.at_latest
    # At the latest release the list is the release's own: B's fixed_in does not filter it out.
    assert [a.id for a in report.advisories] == ["A", "B"]
    assert report.advisories[0].names == {"A", "CVE-A"}


def test_fallback_on_an_older_release_keeps_only_advisories_that_reach_it() -> None:
    document = _document("2.0", _vuln("A", []), _vuln("B", ["1.0"]), _vuln("C", ["1.8"]))
    report = report_for("pkg", "1.5", document)
    assert not report.at_latest
    assert [a.id for a in report.advisories] == ["A", "C"]


def test_fallback_finds_a_real_unfixable_advisory_on_pypi() -> None:
    """Canary: ecdsa's Minerva advisory has no fix, so it must show on both fallback branches."""
    reports = fetch_reports([("ecdsa", "0.19.2"), ("ecdsa", "0.18.0")], timeout=15)
    if all(report.error for report in reports):
        reason = f"PyPI project JSON unreachable: {reports[0].error}"
        print(reason)
        pytest.skip(reason)
    for report in reports:
        assert report.error is None, report.error
        names = set().union(*(advisory.names for advisory in report.advisories))
        assert "GHSA-wj6h-64fc-37mp" in names, (report.locked, report.latest, names)
