"""The nginx config template and the secure_link token (no nginx needed: see
tests/integration/test_nginx_media.py for the real one)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from salon.domain.images.serving import MediaSigner
from salon.errors import ConfigurationError
from salon.nginx_config import TEMPLATE, nginx_config, render
from salon.settings import CoreSettings

ROOT = Path(__file__).resolve().parents[2]


def test_the_deploy_template_is_the_one_the_command_renders() -> None:
    assert (ROOT / "deploy" / "nginx" / "salon.conf").read_text() == TEMPLATE


def test_the_token_is_what_nginx_secure_link_md5_computes() -> None:
    signer = MediaSigner("s3cret", 300)
    key = "renditions/u/ab/abcd/sm.webp"
    url = signer.url(key, content_type="image/webp", etag="e", now=1_000_000)
    expires = signer.expires(1_000_000)
    raw = hashlib.md5(f"{expires}/media/{key} {signer.nginx_key()}".encode()).digest()
    expected = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert url.endswith(f"&m={expected}") and "=" not in expected
    assert signer.nginx_key() != MediaSigner("other", 300).nginx_key()
    assert "s3cret" not in signer.nginx_key() and len(signer.nginx_key()) == 32


def test_render_fills_every_placeholder_and_refuses_injection(tmp_path: Path) -> None:
    core = CoreSettings(data_dir=tmp_path, secret_key="the-secret-itself", max_upload_bytes=1000)
    text = nginx_config(core, upstream="127.0.0.1:9000", listen="8080")
    assert "{{" not in text and "the-secret-itself" not in text
    assert f"alias {tmp_path}/media/renditions/;" in text
    assert "server 127.0.0.1:9000;" in text and "listen 8080;" in text
    assert f"client_max_body_size {1000 + (1 << 20)};" in text
    # The template's legend of placeholders is not printed with values in place of the names.
    assert "Placeholders:" in TEMPLATE and "Placeholders:" not in text
    assert "# Filled in by `salon nginx-config`" in text and "#   127.0.0.1:9000" not in text
    with pytest.raises(ConfigurationError):
        nginx_config(core, upstream="127.0.0.1:9000; include /etc/passwd", listen="80")
    with pytest.raises(ConfigurationError):
        render(
            listen="80",
            upstream="a:1",
            media_root=Path("/srv/my media"),
            nginx_key="k",
            max_upload_bytes=1,
        )


def test_only_local_storage_is_served_by_nginx(tmp_path: Path) -> None:
    core = CoreSettings(data_dir=tmp_path, secret_key="k", storage="s3")
    with pytest.raises(ConfigurationError, match="local storage"):
        nginx_config(core, upstream="127.0.0.1:8000", listen="80")
