"""The load test's short form (benchmarks/load/load_test.py): a real ``salon serve`` on
127.0.0.1, 16 connections of mixed reads and uploads for about 10 s, then the audit. Asserts
zero errors and zero lost uploads (every 201 listed, ``salon doctor`` clean); no timing asserts
(the long form and its recorded results are in benchmarks/load/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "load" / "load_test.py"


def test_short_load_has_no_errors_and_loses_nothing() -> None:
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--seconds", "10", "--connections", "16", "--json"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert completed.stdout.strip(), completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0, result["first_errors"]
    audit = result["audit"]
    assert audit["lost_uploads"] == [] and audit["listing_mismatch_users"] == [], audit
    assert audit["images_listed"] == audit["uploads_created"]
    # Uploads happened during the load, not only the seeding (8 users x 3 images).
    assert audit["uploads_created"] > 24, audit
    assert result["by_operation"].get("upload", 0) > 0 and result["by_operation"].get("list", 0) > 0
    doctor = result["doctor"]
    assert doctor["exit_code"] == 0, doctor
    assert not (
        doctor["orphan_objects"] or doctor["missing_originals"] or doctor["missing_renditions"]
    )
    assert result["ok"] is True
    assert completed.returncode == 0


HOSTILE = SCRIPT.parent / "hostile_load.py"


def test_short_hostile_load_leaves_honest_clients_unharmed() -> None:
    """benchmarks/load/hostile_load.py's short form: 8 honest connections beside slow uploads,
    huge anonymous bodies, pixel bombs and a log-in flood for a few seconds. Every honest
    request must succeed and every attack must have been refused the way issue 17 says; no
    timing asserts (the long form's figures are in benchmarks/load/README.md)."""
    completed = subprocess.run(
        [
            sys.executable,
            str(HOSTILE),
            "--seconds",
            "8",
            "--connections",
            "8",
            "--slow",
            "4",
            "--huge",
            "1",
            "--bombs",
            "1",
            "--logins",
            "2",
            "--setting",
            "BODY_READ_TIMEOUT=2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert completed.stdout.strip(), completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    honest = result["honest"]
    assert honest["errors"] == 0, honest["first_errors"]
    assert honest["requests"] > 0
    attacks = result["attacks"]
    # Each attack ran and was answered as a refusal, never served.
    assert set(attacks["slow upload"]) <= {"408", "ended by the test"}, attacks
    assert attacks["slow upload"].get("408", 0) > 0, attacks
    huge = attacks["huge body"]
    assert huge.get("declared 413", 0) > 0, attacks
    assert set(huge) <= {"declared 413", "chunked 413", "chunked reset"}, attacks
    assert set(attacks["login flood"]) <= {"401", "429"}, attacks
    assert set(attacks["pixel bomb"]) <= {"dense 201", "tiny 413"}, attacks
    # Where the web process's CPU went (benchmarks/load/README.md reads these).
    assert result["cpu_seconds"]["web"] > 0, result["cpu_seconds"]
    assert any(k.startswith("main thread of") for k in result["web_threads_cpu_seconds"]), result
    assert result["ok"] is True and completed.returncode == 0
