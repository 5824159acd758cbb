"""The ``salon`` command as a newcomer meets it: commands that need no data folder write nothing
where they run, an unknown provider selection is named with the nearest known name, and
migrations do not print Alembic's plugin chatter."""

from __future__ import annotations

import json
from pathlib import Path

from startup_support import run_salon


def test_commands_without_a_data_dir_write_nothing(tmp_path: Path) -> None:
    for args in (["--help"], ["plugins"], ["plugins", "--json"], ["db", "--help"], ["--version"]):
        result = run_salon({}, *args, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stderr)
        assert list(tmp_path.iterdir()) == [], f"salon {' '.join(args)} wrote into its folder"


def test_commands_that_need_it_still_make_the_data_dir(tmp_path: Path) -> None:
    result = run_salon({}, "nginx-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "secret_key").exists()


def test_a_misspelled_selection_is_unknown_with_a_suggestion(tmp_path: Path) -> None:
    result = run_salon({"SALON_STORAGE": "lcoal"}, "plugins", cwd=tmp_path)
    assert result.returncode == 2
    assert " ? storage  lcoal" in result.stdout and "unknown" in result.stdout
    assert result.stderr.strip().splitlines() == [
        "salon: SALON_STORAGE='lcoal' is not a known storage provider; did you mean 'local'? "
        "(available: local (plugin salon.defaults.local_storage), s3 (plugin aws_storage))"
    ]
    as_json = run_salon({"SALON_STORAGE": "fsspek"}, "plugins", "--json", cwd=tmp_path)
    assert as_json.returncode == 2
    unknown = json.loads(as_json.stdout)["unknown"]
    assert set(unknown) == {"storage"}
    assert "'fsspek' is not a known storage provider" in unknown["storage"]
    assert "did you mean" not in unknown["storage"]  # nothing is near it


def test_a_disabled_selection_says_so(tmp_path: Path) -> None:
    env = {"SALON_STORAGE": "s3", "SALON_DISABLE_PLUGINS": "aws_storage"}
    result = run_salon(env, "plugins", cwd=tmp_path)
    assert result.returncode == 2
    assert "SALON_STORAGE='s3' is not a known storage provider" in result.stderr
    assert "SALON_DISABLE_PLUGINS leaves out: aws_storage" in result.stderr


def test_no_alembic_plugin_chatter(tmp_path: Path) -> None:
    result = run_salon({"SALON_DATA_DIR": str(tmp_path / "data")}, "db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "alembic.runtime.plugins" not in result.stdout + result.stderr
    assert "Running upgrade" in result.stderr  # the migrations themselves are still told


def test_a_database_url_salon_cannot_use_is_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    for url in ("mysql://ann:s3cret-pw@db.example/photos", "not a url s3cret-pw"):
        for args in (["serve", "--port", "1"], ["db", "upgrade"]):
            result = run_salon({"SALON_DATABASE_URL": url}, *args, cwd=tmp_path, timeout=60)
            assert result.returncode == 2, (url, args, result.stderr)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("salon: SALON_DATABASE_URL"), lines
            assert "s3cret-pw" not in result.stdout + result.stderr
