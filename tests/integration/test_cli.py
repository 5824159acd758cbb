"""The ``salon`` command, run as a user would run it (a subprocess with its own environment)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image
from salon.testing.fixtures import sample_jpeg

SALON = [sys.executable, "-m", "salon.cli"]


def run(
    env_extra: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    env.update(env_extra)
    return subprocess.run(
        [*SALON, *args], env=env, capture_output=True, text=True, timeout=120, input=input
    )


def test_plugins_lists_built_in_providers_and_selection(tmp_path: Path) -> None:
    result = run({"SALON_DATA_DIR": str(tmp_path)}, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    names = {p["name"] for p in data["plugins"]}
    assert "salon.defaults.local_storage" in names
    storage = {o["name"]: o for o in data["providers"]["storage"]}
    assert storage["local"]["selected"] is True
    assert data["selected"] == {
        "storage": "local",
        "auth": "local",
        "media": "pillow",
        "queue": "local",
        "mail": "console",
    }
    text = run({"SALON_DATA_DIR": str(tmp_path)}, "plugins")
    assert " * storage  local" in text.stdout
    # The bundled plugins' pages, with their navigation entries.
    assert data["pages"]["/apod"] == {"plugin": "nasa_apod", "nav_label": "APOD", "nav_order": 50}
    assert "   page     /video       (ffmpeg_video, nav 'Video' at 60)" in text.stdout


def test_plugins_lists_the_media_stack_in_its_order(tmp_path: Path) -> None:
    env = {"SALON_DATA_DIR": str(tmp_path), "SALON_MEDIA": "pillow,avif_phash"}
    result = run(env, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    media = json.loads(result.stdout)["providers"]["media"]
    assert [(o["name"], o["selected"]) for o in media[:2]] == [
        ("pillow", True),
        ("avif_phash", True),
    ], media
    text = run(env, "plugins").stdout
    assert text.index(" * media    pillow") < text.index(" * media    avif_phash"), text


def test_unknown_provider_is_a_readable_startup_error(tmp_path: Path) -> None:
    result = run(
        {"SALON_DATA_DIR": str(tmp_path), "SALON_AUTH": "ldap"},
        "user",
        "create",
        "--email",
        "a@b.c",
        "--password",
        "x" * 12,
    )
    assert result.returncode == 2
    assert "SALON_AUTH='ldap' is not a known auth provider" in result.stderr
    assert "local (plugin salon.defaults.local_auth)" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_setting_is_refused(tmp_path: Path) -> None:
    result = run({"SALON_DATA_DIR": str(tmp_path), "SALON_STORGE": "s3"}, "plugins")
    assert result.returncode == 2 and "SALON_STORGE" in result.stderr


def test_db_upgrade_user_create_and_bulk_import(tmp_path: Path) -> None:
    env = {"SALON_DATA_DIR": str(tmp_path / "data")}
    upgrade = run(env, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert "revision 0001" in upgrade.stdout or "revision" in upgrade.stdout
    created = run(
        env, "user", "create", "--email", "ann@example.com", "--password", "a long password"
    )
    assert created.returncode == 0, created.stderr
    photos = tmp_path / "photos"
    (photos / "nested").mkdir(parents=True)
    (photos / "a.jpg").write_bytes(sample_jpeg(color=(10, 10, 10)))
    (photos / "nested" / "b.jpg").write_bytes(sample_jpeg(color=(200, 10, 10)))
    (photos / "copy-of-a.jpg").write_bytes(sample_jpeg(color=(10, 10, 10)))
    (photos / "notes.txt").write_text("not an image")
    # A PNG under a wrong extension (its guessed type image/x-portable-bitmap): the bytes decide.
    png = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 90, 200)).save(png, "PNG")
    (photos / "scan.pbm").write_bytes(png.getvalue())
    first = run(env, "import", str(photos), "--user", "ann@example.com", "--album", "Trip")
    assert first.returncode == 0, first.stderr
    assert "imported: 3, duplicates: 1, unsupported: 1" in first.stdout
    second = run(env, "import", str(photos), "--user", "ann@example.com")
    assert "imported: 0, duplicates: 4, unsupported: 1" in second.stdout
    nobody = run(env, "import", str(photos), "--user", "zed@example.com")
    assert nobody.returncode != 0 and "no user with email" in nobody.stderr


def test_user_set_password_reads_the_password_from_stdin_or_a_prompt(tmp_path: Path) -> None:
    env = {"SALON_DATA_DIR": str(tmp_path / "data")}
    assert run(env, "db", "upgrade").returncode == 0
    created = run(env, "user", "create", "--email", "ann@example.com", input="first pass 1\n" * 2)
    assert created.returncode == 0, created.stderr
    # No --password option: a password in argv would show in `ps` and shell history.
    argv = run(env, "user", "set-password", "--email", "ann@example.com", "--password", "x" * 12)
    assert argv.returncode == 2 and "No such option" in argv.stderr
    piped = run(
        env,
        "user",
        "set-password",
        "--email",
        "ann@example.com",
        "--password-stdin",
        input="second pass 2\n",
    )
    assert piped.returncode == 0, piped.stderr
    assert "second pass 2" not in piped.stdout + piped.stderr
    prompted = run(
        env, "user", "set-password", "--email", "ann@example.com", input="third pass 3\n" * 2
    )
    assert prompted.returncode == 0, prompted.stderr
    short = run(
        env, "user", "set-password", "--email", "ann@example.com", "--password-stdin", input="x\n"
    )
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    unknown = run(
        env, "user", "set-password", "--email", "bob@example.com", "--password-stdin", input="a" * 9
    )
    assert unknown.returncode == 1 and "No account" in unknown.stderr
    assert _can_log_in(env, "ann@example.com", "third pass 3")
    assert not _can_log_in(env, "ann@example.com", "second pass 2")


def _can_log_in(env: dict[str, str], email: str, password: str) -> bool:
    """Log in through the app built from the same settings (the CLI has no login command)."""
    script = (
        "import asyncio, sys\n"
        "from salon.runtime import build_runtime, load_settings\n"
        "async def main():\n"
        "    runtime = build_runtime(*load_settings())\n"
        "    try:\n"
        "        await runtime.auth.login(sys.argv[1], sys.argv[2])\n"
        "    finally:\n"
        "        await runtime.close()\n"
        "asyncio.run(main())\n"
    )
    merged = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")} | env
    result = subprocess.run(
        [sys.executable, "-c", script, email, password],
        env=merged,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode == 0


def test_bulk_import_stops_at_the_storage_quota_with_a_message(tmp_path: Path) -> None:
    first, second = sample_jpeg(color=(10, 10, 10)), sample_jpeg(color=(200, 10, 10))
    env = {
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_STORAGE_QUOTA_BYTES": str(len(first) + len(second) // 2),
    }
    assert run(env, "db", "upgrade").returncode == 0
    created = run(env, "user", "create", "--email", "q@example.com", input="quota pass 1\n" * 2)
    assert created.returncode == 0, created.stderr
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(first)
    (photos / "b.jpg").write_bytes(second)
    result = run(env, "import", str(photos), "--user", "q@example.com")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "stopped at b.jpg: storage quota exceeded" in result.stderr
    assert "Traceback" not in result.stderr


def test_user_create_needs_no_code_when_sign_ups_are_confirmed(tmp_path: Path) -> None:
    """With SALON_SIGNUP_CONFIRM on, a sign-up waits for its mailed code; an account the
    administrator makes does not."""
    env = {"SALON_DATA_DIR": str(tmp_path / "data"), "SALON_SIGNUP_CONFIRM": "true"}
    assert run(env, "db", "upgrade").returncode == 0
    created = run(env, "user", "create", "--email", "ann@example.com", input="admin made 1\n" * 2)
    assert created.returncode == 0, created.stderr
    assert _can_log_in(env, "ann@example.com", "admin made 1")


def test_user_create_refuses_an_address_that_looks_like_an_accounts(tmp_path: Path) -> None:
    """An all-Cyrillic "copex" looks like the Latin one: the administrator is told why."""
    env = {"SALON_DATA_DIR": str(tmp_path / "data")}
    assert run(env, "db", "upgrade").returncode == 0
    made = run(env, "user", "create", "--email", "copex@example.com", input="first pass 1\n" * 2)
    assert made.returncode == 0, made.stderr
    lookalike = "\u0441\u043e\u0440\u0435\u0445@example.com"
    refused = run(env, "user", "create", "--email", lookalike, input="other pass 1\n" * 2)
    assert refused.returncode != 0
    assert "looks like the address of another account" in refused.stderr, refused.stderr
    assert not _can_log_in(env, lookalike, "other pass 1")
