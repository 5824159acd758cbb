"""deploy/tools/tf-offline.sh finds a provider mirror in the documented order and says plainly
when there is none; deploy/tools/tf-env.sh turns a Terraform map output into exports."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "deploy" / "tools"


def _tool_copy(tmp_path: Path, name: str) -> Path:
    """The script in a deploy/tools of its own, so what it writes under deploy/.tools stays
    in tmp_path."""
    target = tmp_path / "deploy" / "tools" / name
    target.parent.mkdir(parents=True)
    shutil.copy(TOOLS / name, target)
    return target


def _mirror(root: Path) -> Path:
    (root / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)
    return root


def _offline(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "deploy" / "tools" / "tf-offline.sh"
    if not script.exists():
        _tool_copy(tmp_path, "tf-offline.sh")
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")}
    return subprocess.run(
        ["bash", str(script)], env={**base, **env}, capture_output=True, text=True, check=True
    )


def _config_mirror(result: subprocess.CompletedProcess[str]) -> str:
    config = Path(result.stdout.strip()).read_text()
    return config.split('path    = "', 1)[1].split('"', 1)[0]


def test_tf_offline_looks_in_the_documented_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    system = [_mirror(tmp_path / "usr-local"), _mirror(tmp_path / "opt")]
    env = {"TF_OFFLINE_SYSTEM_MIRRORS": ":".join(map(str, system))}
    assert _config_mirror(_offline(tmp_path, **env)) == str(system[0])
    xdg = _mirror(tmp_path / "xdg" / "terraform" / "plugins")
    assert _config_mirror(_offline(tmp_path, XDG_DATA_HOME=str(tmp_path / "xdg"), **env)) == str(
        xdg
    )
    implied = _mirror(home / ".terraform.d" / "plugins")
    assert _config_mirror(_offline(tmp_path, **env)) == str(implied)
    own = _mirror(tmp_path / "deploy" / ".tools" / "tf-plugins")
    assert _config_mirror(_offline(tmp_path, **env)) == str(own)
    chosen = _mirror(tmp_path / "chosen")
    result = _offline(tmp_path, TF_PLUGIN_MIRROR=str(chosen), **env)
    assert _config_mirror(result) == str(chosen)
    assert f"providers from the mirror {chosen}" in result.stderr


def test_tf_offline_ends_with_a_plain_hint_without_a_mirror(tmp_path: Path) -> None:
    result = _offline(
        tmp_path, TF_PLUGIN_MIRROR=str(tmp_path / "none"), TF_OFFLINE_SYSTEM_MIRRORS=""
    )
    assert result.stdout == ""  # an empty TF_CLI_CONFIG_FILE: the registry
    lines = result.stderr.splitlines()
    assert f"  {tmp_path / 'none'}" in lines
    assert f"  {tmp_path / 'home' / '.terraform.d' / 'plugins'}" in lines
    assert lines[-1].startswith("tf-offline: NO PROVIDER MIRROR"), lines
    assert "TF_PLUGIN_MIRROR" in lines[-1] and "providers mirror" in lines[-1]


def _fake_terraform(tmp_path: Path, output: str) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    terraform = bin_dir / "terraform"
    script = f"#!/bin/sh\necho \"$*\" > {tmp_path}/args\ncat <<'JSON'\n{output}\nJSON\n"
    terraform.write_text(script)
    terraform.chmod(terraform.stat().st_mode | stat.S_IXUSR)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def _eval_env(tmp_path: Path, path: str, *args: str, **env: str) -> dict[str, str]:
    """What `eval "$(tf-env.sh ARGS)"` leaves in a shell's environment."""
    script = TOOLS / "tf-env.sh"
    argv = " ".join(args)
    dump = subprocess.run(
        ["bash", "-c", f'eval "$(bash {script} {argv})" && env -0'],
        env={"PATH": path, **env},
        capture_output=True,
        check=True,
    ).stdout.decode()
    return dict(item.split("=", 1) for item in dump.split("\0") if "=" in item)


OUTPUT = '{"SALON_S3_BUCKET": "b $x \\"y\'", "SALON_PUBLIC_URL": "http://127.0.0.1:8000"}'


def test_tf_env_exports_the_output_quoted(tmp_path: Path) -> None:
    path = _fake_terraform(tmp_path, OUTPUT)
    env = _eval_env(tmp_path, path, f"-chdir={tmp_path}")
    assert env["SALON_S3_BUCKET"] == "b $x \"y'"
    assert env["SALON_PUBLIC_URL"] == "http://127.0.0.1:8000"
    assert (tmp_path / "args").read_text().split() == [
        f"-chdir={tmp_path}",
        "output",
        "-json",
        "app_environment",
    ]


def test_tf_env_public_url_follows_port_or_an_exported_one(tmp_path: Path) -> None:
    path = _fake_terraform(tmp_path, OUTPUT)
    assert _eval_env(tmp_path, path, PORT="9010")["SALON_PUBLIC_URL"] == "http://127.0.0.1:9010"
    mine = "https://photos.test"
    env = _eval_env(tmp_path, path, PORT="9010", SALON_PUBLIC_URL=mine)
    assert env["SALON_PUBLIC_URL"] == mine


def test_tf_env_warns_when_the_address_is_not_the_stacks(tmp_path: Path) -> None:
    path = _fake_terraform(tmp_path, OUTPUT)
    script = TOOLS / "tf-env.sh"
    same, other = (
        subprocess.run(
            ["bash", str(script)],
            env={"PATH": path, "PORT": port},
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        for port in ("8000", "9010")
    )
    assert same == ""
    assert "-var public_url=http://127.0.0.1:9010" in other, other


def _fake_tflocal(tmp_path: Path) -> Path:
    """tflocal.sh beside its _venv.sh, with a tflocal venv already made whose tflocal fails
    as an offline `init` does."""
    script = _tool_copy(tmp_path, "tflocal.sh")
    shutil.copy(TOOLS / "_venv.sh", script.parent / "_venv.sh")
    spec = re.search(r'TFLOCAL_VERSION="([^"]+)"', script.read_text())
    assert spec
    venv = tmp_path / "deploy" / ".tools" / "tflocal-venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".spec").write_text(f"terraform-local=={spec.group(1)}")
    tflocal = venv / "bin" / "tflocal"
    tflocal.write_text(
        "#!/bin/sh\necho 'Error: Failed to query available provider packages' >&2\nexit 1\n"
    )
    tflocal.chmod(0o755)
    return script


def test_tflocal_repeats_the_mirror_hint_after_a_failed_init(tmp_path: Path) -> None:
    script = _fake_tflocal(tmp_path)
    base = {"PATH": os.environ["PATH"]}
    bare = subprocess.run(
        ["bash", str(script), "init", "-backend=false"], env=base, capture_output=True, text=True
    )
    assert bare.returncode == 1
    assert bare.stderr.splitlines()[-1].startswith("tflocal: init failed with no provider mirror")
    mirrored = subprocess.run(
        ["bash", str(script), "init", "-backend=false"],
        env={**base, "TF_CLI_CONFIG_FILE": str(tmp_path / "cli.tfrc")},
        capture_output=True,
        text=True,
    )
    assert mirrored.returncode == 1 and "no provider mirror" not in mirrored.stderr


def test_tf_env_makes_the_eval_fail_when_there_is_no_output(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "terraform").write_text("#!/bin/sh\necho 'Error: Output not found' >&2\nexit 1\n")
    (bin_dir / "terraform").chmod(0o755)
    result = subprocess.run(
        ["bash", "-c", f'eval "$(bash {TOOLS / "tf-env.sh"})" && echo went-on'],
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "went-on" not in result.stdout, result
    assert "tf-env: no output app_environment" in result.stderr
