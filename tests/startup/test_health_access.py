"""/health is shallow and public, /ready is deep and public only as ready/not-ready, /metrics
and /ready's details go only to SALON_INTERNAL_ALLOW addresses, talking to Salon directly."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
from startup_support import run_salon, serve


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_SECRET_KEY": secrets.token_urlsafe(32),
        **extra,
    }


def test_loopback_sees_details_and_metrics(tmp_path: Path) -> None:
    with serve(_env(tmp_path), tmp_path) as server:
        ready = httpx.get(f"{server.url}/ready", timeout=30)
        assert ready.status_code == 200
        assert ready.json()["checks"]["schema"] == "ok"
        metrics = httpx.get(f"{server.url}/metrics", timeout=30)
        assert metrics.status_code == 200 and "request_duration_seconds" in metrics.text
        # Relayed by a proxy (the nginx front connects from loopback): not internal.
        relayed = {"X-Forwarded-For": "203.0.113.9"}
        ready = httpx.get(f"{server.url}/ready", headers=relayed, timeout=30)
        assert ready.json() == {"status": "ok"}
        assert httpx.get(f"{server.url}/metrics", headers=relayed, timeout=30).status_code == 404


def test_outside_addresses_learn_only_ready_or_not(tmp_path: Path) -> None:
    env = _env(tmp_path, SALON_INTERNAL_ALLOW="10.0.0.0/8")
    with serve(env, tmp_path) as server:
        assert httpx.get(f"{server.url}/ready", timeout=30).json() == {"status": "ok"}
        assert httpx.get(f"{server.url}/metrics", timeout=30).status_code == 404
        assert httpx.get(f"{server.url}/health", timeout=30).json() == {"status": "ok"}
        # Make a check fail (the schema falls behind): the answer still names nothing.
        down = run_salon(env, "db", "downgrade", "0002", cwd=tmp_path)
        assert down.returncode == 0, down.stderr
        ready = httpx.get(f"{server.url}/ready", timeout=30)
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable"}
        assert str(tmp_path) not in ready.text


def test_a_bad_internal_allow_is_a_startup_error(tmp_path: Path) -> None:
    refused = run_salon(
        _env(tmp_path, SALON_INTERNAL_ALLOW="10.0.0.0/8,not-a-network"), "plugins", cwd=tmp_path
    )
    assert refused.returncode == 2
    assert "not-a-network" in refused.stderr and "Traceback" not in refused.stderr


def test_the_nginx_front_marks_what_it_relays() -> None:
    """What keeps /metrics and /ready's details closed behind the shipped nginx front (which
    connects from loopback): it always sets X-Forwarded-For, so nothing it relays is internal."""
    template = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "salon.conf"
    relaying = [line for line in template.read_text().splitlines() if "proxy_pass" in line]
    assert relaying, "the template relays nothing?"
    assert template.read_text().count("proxy_set_header X-Forwarded-For") >= len(relaying)
