"""What Terraform hands the containers is exactly Salon's settings names.

The names are read from both sides: from the production example (the `app_environment` and
`app_secrets` locals, parsed with python-hcl2, plus the Dockerfile's ENV) and from the code
(`salon.settings.CoreSettings` and each installed plugin's settings type, via
`salon.runtime.load_settings(...)[2].settings_types`). Any SALON_* name Terraform sets that Salon
does not read fails, and so does a production setting Terraform forgets. Then the environment
Terraform would produce is fed to Salon's own settings loader, which must accept it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from deploy_support import DEPLOY, TfDir, unquote
from salon.settings import CoreSettings

# The plugin settings the production stack uses, from the design (used only for a prefix whose
# plugin is not installed in this environment; the test says so when it falls back).
FALLBACK_PLUGIN_SETTINGS = {
    "S3": ["bucket", "prefix", "sse", "kms_key_id"],
    "SQS": ["queue_url", "long_queue_url"],
    "COGNITO": ["user_pool_id", "client_id", "region", "jwks_url"],
    "APOD": ["api_key", "base_url"],
}
PRODUCTION_REQUIRED = {
    "SALON_STORAGE": "s3",
    "SALON_AUTH": "cognito",
    "SALON_QUEUE": "sqs",
    "SALON_DATABASE_URL": None,
    "SALON_SECRET_KEY": None,
    "SALON_PUBLIC_URL": None,
    "SALON_S3_BUCKET": None,
    "SALON_SQS_QUEUE_URL": None,
    "SALON_SQS_LONG_QUEUE_URL": None,
    "SALON_COGNITO_USER_POOL_ID": None,
    "SALON_COGNITO_CLIENT_ID": None,
    "SALON_COGNITO_REGION": None,
}
# Stand-ins for values Terraform computes (resource IDs, URLs), realistic in shape.
COMPUTED = {
    "SALON_PUBLIC_URL": "https://photos.example.com",
    "SALON_TRUSTED_PROXIES": "10.0.0.0/16,100.64.0.0/16",
    "SALON_INTERNAL_ALLOW": "127.0.0.0/8,::1/128,10.0.0.0/16",
    "SALON_MAX_UPLOAD_BYTES": "209715200",
    "SALON_LOG_LEVEL": "INFO",
    "SALON_SIGNUP_ENABLED": "false",
    "SALON_S3_BUCKET": "salon-prod-media-123456789012",
    "SALON_S3_PREFIX": "",
    "SALON_S3_KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:key/0000",
    "SALON_SQS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/salon-prod-jobs",
    "SALON_SQS_LONG_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/salon-prod-jobs-long",
    "SALON_SQS_MAX_RECEIVES": "5",
    "SALON_COGNITO_USER_POOL_ID": "eu-west-1_AbCdEfGhI",
    "SALON_COGNITO_CLIENT_ID": "1example23456789",
    "SALON_COGNITO_REGION": "eu-west-1",
    "SALON_DATABASE_URL": "postgresql+asyncpg://salon:pw@db.internal:5432/salon?ssl=verify-full",
    "SALON_SECRET_KEY": "k" * 64,
    "SALON_APOD_API_KEY": "DEMO_KEY",
    "SALON_S3_CLOUDFRONT_DOMAIN": "d111111abcdef8.cloudfront.net",
    "SALON_S3_CLOUDFRONT_KEY_ID": "K2JCJMDEHXQW5F",
    # Settings only check that the three CloudFront values come together; the storage backend
    # (not built here) parses the key, and its own tests sign with a real one.
    "SALON_S3_CLOUDFRONT_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY",
}


def terraform_environment(example: TfDir) -> dict[str, str | None]:
    """name -> literal value (None when Terraform computes it) of everything the tasks get."""
    names: dict[str, str | None] = {}
    for name, value in example.locals["app_environment"].items():
        literal = unquote(value)
        names[name] = None if "${" in str(literal) else str(literal)
    secrets_expr = example.locals["app_secrets"]
    for name in re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", secrets_expr):
        names[name] = None
    return names


def dockerfile_environment() -> dict[str, str]:
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    return dict(re.findall(r"\b(SALON_[A-Z0-9_]+)=(\S+)", text))


def salon_settings_names(tmp_path: Path) -> set[str]:
    names = {f"SALON_{f.upper()}" for f in CoreSettings.__struct_fields__}
    from salon.runtime import load_settings

    _settings, _pm, registry = load_settings(environ={"SALON_DATA_DIR": str(tmp_path)})
    declared = registry.settings_types
    for prefix, (type_, _plugin) in declared.items():
        names |= {f"SALON_{prefix}_{f.upper()}" for f in type_.__struct_fields__}
    missing = sorted(set(FALLBACK_PLUGIN_SETTINGS) - set(declared))
    for prefix in missing:
        names |= {f"SALON_{prefix}_{f.upper()}" for f in FALLBACK_PLUGIN_SETTINGS[prefix]}
    if missing:
        print(
            f"plugins for SALON_{{{','.join(missing)}}}_* are not installed here: their names "
            "come from the design's list, not from code"
        )
    return names


def test_terraform_sets_only_salon_settings(example_dir: TfDir, tmp_path: Path) -> None:
    known = salon_settings_names(tmp_path)
    given = terraform_environment(example_dir)
    salon_names = {n for n in given if n.startswith("SALON_")}
    others = set(given) - salon_names
    # boto3's region and asyncpg's CA bundle for verify-full: read by those libraries.
    libraries = {"AWS_REGION", "PGSSLROOTCERT"}
    assert others <= libraries, f"non-Salon variables: {others - libraries}"
    unknown = sorted(salon_names - known)
    assert not unknown, f"Terraform sets names Salon does not read: {unknown}"
    docker_unknown = sorted(set(dockerfile_environment()) - known)
    assert not docker_unknown, f"the Dockerfile sets unknown settings: {docker_unknown}"


def test_terraform_sets_every_production_setting(example_dir: TfDir) -> None:
    given = terraform_environment(example_dir)
    for name, value in PRODUCTION_REQUIRED.items():
        assert name in given, f"production needs {name}"
        if value is not None:
            assert given[name] == value, f"{name} must be {value!r}, not {given[name]!r}"


def test_salon_accepts_what_terraform_hands_it(example_dir: TfDir, tmp_path: Path) -> None:
    from salon.runtime import load_settings

    given = terraform_environment(example_dir)
    environ = {}
    for name, literal in given.items():
        if not name.startswith("SALON_"):
            continue
        value = literal if literal is not None else COMPUTED.get(name)
        assert value is not None, f"add a realistic stand-in for {name} to COMPUTED"
        environ[name] = value
    environ["SALON_DATA_DIR"] = str(tmp_path)  # the image's /var/lib/salon, here a temp dir
    settings, _pm, registry = load_settings(environ=environ)
    core = settings.core
    assert (core.storage, core.auth, core.queue) == ("s3", "cognito", "sqs")
    assert core.inprocess_worker is False
    for prefix in ("S3", "SQS", "COGNITO"):
        if prefix not in registry.settings_types:
            pytest.skip(f"plugin for SALON_{prefix}_* not installed: cannot parse its settings")
    assert settings.plugin("S3").bucket == COMPUTED["SALON_S3_BUCKET"]
    assert settings.plugin("S3").sse == "aws:kms"
    assert settings.plugin("S3").cloudfront_enabled
    assert settings.plugin("SQS").queue_url == COMPUTED["SALON_SQS_QUEUE_URL"]
    assert settings.plugin("SQS").long_queue_url == COMPUTED["SALON_SQS_LONG_QUEUE_URL"]
    assert settings.plugin("COGNITO").user_pool_id == COMPUTED["SALON_COGNITO_USER_POOL_ID"]


# What the podman test's salon.env holds (tests/deploy/test_image_podman.py), besides AWS_*.
PODMAN_ENV_NEEDS = {
    "SALON_DATABASE_URL",
    "SALON_SECRET_KEY",
    "SALON_STORAGE",
    "SALON_S3_BUCKET",
    "SALON_QUEUE",
    "SALON_SQS_QUEUE_URL",
    "SALON_INPROCESS_WORKER",
    "AWS_ENDPOINT_URL",
}


def test_the_readme_salon_env_lists_every_key_the_containers_need(tmp_path: Path) -> None:
    """deploy/README.md's podman section shows a whole salon.env: the keys the tested one
    has, a PostgreSQL URL, and only names Salon (or boto3) reads."""
    readme = (DEPLOY / "README.md").read_text()
    section = readme.split("## Building the image without Docker (podman)", 1)[1]
    block = section.split("cat > salon.env <<EOF\n", 1)[1].split("\nEOF\n", 1)[0]
    env = dict(line.split("=", 1) for line in block.splitlines())
    assert env.keys() >= PODMAN_ENV_NEEDS, sorted(PODMAN_ENV_NEEDS - env.keys())
    assert env["SALON_DATABASE_URL"].startswith("postgresql+asyncpg://"), env
    unknown = {k for k in env if k.startswith("SALON_")} - salon_settings_names(tmp_path)
    assert not unknown, unknown
    assert "apt-get install -y postgresql" in section  # how to get a PostgreSQL locally
