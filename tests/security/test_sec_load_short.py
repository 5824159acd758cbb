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
