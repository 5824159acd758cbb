"""``salon nginx-config``: the nginx configuration that serves renditions in front of Salon.

nginx answers ``/media/renditions/...`` from the local storage folder itself (sendfile), checking
the ``m`` token of Salon's signed media links with its ``secure_link`` module, and proxies
everything else to Salon. The template is deploy/nginx/salon.conf (kept identical to
:data:`TEMPLATE`, a test checks); the key filled in is derived from the secret, never the secret.
"""

from __future__ import annotations

import re
from pathlib import Path

from salon.domain.images.serving import MediaSigner
from salon.errors import ConfigurationError
from salon.settings import CoreSettings

# Room for the multipart envelope around the largest upload Salon accepts: Salon, not nginx,
# gives the clear "too large" answer.
_BODY_SLACK = 1 << 20
# Values go into the config unquoted: nothing that could end a directive or open a block.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:\[\]/-]+$")
# The template's legend of its placeholders: in a filled-in config it would show the values
# where the names were (an outside reader took it for a broken comment).
_LEGEND = re.compile(r"^# A template: .*\n# .*Placeholders:\n(?:#   \{\{.*\n)+", re.MULTILINE)
_FILLED_IN = "# Filled in by `salon nginx-config` for this server's settings and storage folder.\n"

TEMPLATE = """\
# Salon behind nginx: nginx serves image renditions from local storage itself, checking the
# signed link with ngx_http_secure_link_module, and proxies everything else to Salon.
#
# A template: `salon nginx-config --upstream 127.0.0.1:8000 --listen 80` prints it filled in
# with the media key derived from SALON_SECRET_KEY and the storage folder. Placeholders:
#   {{LISTEN}}                what nginx listens on (`80`, `127.0.0.1:8080`)
#   {{SALON_UPSTREAM}}        host:port of `salon serve`
#   {{MEDIA_ROOT}}            the local storage folder, <SALON_DATA_DIR>/media
#   {{NGINX_MEDIA_KEY}}       MediaSigner.nginx_key(): derived from the secret, not the secret
#   {{CLIENT_MAX_BODY_SIZE}}  SALON_MAX_UPLOAD_BYTES plus room for the multipart envelope
# It goes in the `http` context (Debian: /etc/nginx/conf.d/salon.conf). Keep the file readable
# by root and nginx only: the media key lets whoever holds it sign rendition links.
# Start Salon with SALON_TRUSTED_PROXIES set to nginx's address (127.0.0.1 on one host): only
# then does it believe the X-Forwarded-* headers below (client address for rate limits,
# https for Secure cookies and HSTS, the host for share links).

upstream salon_app {
    server {{SALON_UPSTREAM}};
    keepalive 32;
}

# `salon serve` (granian) never closes a connection that sends nothing, and holds at most a
# few thousand: one client opening that many silent sockets would lock everyone out. Here a
# silent or idle connection is closed after 15 s, and one address has at most 64 requests in
# progress at once (more answer 429).
limit_conn_zone $binary_remote_addr zone=salon_conn_per_client:10m;

server {
    listen {{LISTEN}};
    server_tokens off;
    client_max_body_size {{CLIENT_MAX_BODY_SIZE}};
    client_header_timeout 15s;
    keepalive_timeout 15s;
    limit_conn salon_conn_per_client 64;
    limit_conn_status 429;

    # Renditions: content-addressed, immutable files; the link Salon's API redirects to
    # (/media/<key>?x=<expires>&...&m=<md5>) is checked here, then sent with sendfile.
    location /media/renditions/ {
        secure_link $arg_m,$arg_x;
        secure_link_md5 "$secure_link_expires$uri {{NGINX_MEDIA_KEY}}";
        if ($secure_link = "") { return 403; }
        if ($secure_link = "0") { return 410; }

        alias {{MEDIA_ROOT}}/renditions/;
        sendfile on;
        tcp_nopush on;
        etag on;
        if_modified_since exact;
        # The type comes from the extension (Salon's rendition keys end in .webp or .jpg).
        types {
            image/webp webp;
            image/jpeg jpg jpeg;
            image/png png;
            image/avif avif;
            image/gif gif;
        }
        default_type application/octet-stream;
        # The headers Salon's own /media/ handler sends.
        add_header Cache-Control "private, max-age=31536000, immutable";
        add_header X-Content-Type-Options "nosniff";
        add_header Content-Security-Policy "default-src 'none'; sandbox";
    }

    # Everything else, /media/originals/ included (their type and file name are only in the
    # link, which Salon checks): Salon.
    location / {
        proxy_pass http://salon_app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        # Appended to what the client sent: Salon takes the rightmost untrusted entry.
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        # Uploads stream straight to Salon, which enforces SALON_MAX_UPLOAD_BYTES itself.
        proxy_request_buffering off;
        proxy_read_timeout 300s;
        proxy_send_timeout 300s;
    }
}
"""


def render(
    *, listen: str, upstream: str, media_root: Path, nginx_key: str, max_upload_bytes: int
) -> str:
    """:data:`TEMPLATE` with its placeholders filled; refuses values that could break it."""
    values = {
        "LISTEN": listen,
        "SALON_UPSTREAM": upstream,
        "MEDIA_ROOT": str(media_root).rstrip("/"),
        "NGINX_MEDIA_KEY": nginx_key,
        "CLIENT_MAX_BODY_SIZE": str(max_upload_bytes + _BODY_SLACK),
    }
    text = _LEGEND.sub(_FILLED_IN, TEMPLATE, count=1)
    for name, value in values.items():
        if not _SAFE_VALUE.match(value):
            raise ConfigurationError(
                f"nginx-config: {name.lower()} {value!r} must be letters, digits and ._-:/[]"
            )
        text = text.replace("{{" + name + "}}", value)
    return text


def nginx_config(core: CoreSettings, *, upstream: str, listen: str) -> str:
    """The filled-in config for these settings (local storage only: it serves its folder)."""
    if core.storage != "local":
        raise ConfigurationError(
            f"nginx-config serves local storage; SALON_STORAGE is {core.storage!r} "
            "(S3-like storage already redirects to presigned URLs)"
        )
    signer = MediaSigner(core.secret_key, core.presign_ttl)
    return render(
        listen=listen,
        upstream=upstream,
        media_root=Path(core.data_dir) / "media",
        nginx_key=signer.nginx_key(),
        max_upload_bytes=core.max_upload_bytes,
    )
