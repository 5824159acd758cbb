"""The interactive API documentation under ``/schema``, served without any CDN.

Litestar's render plugins load ReDoc and Swagger UI from CDNs by default, so ``/schema`` was a
blank page on a machine without internet. The bundles are vendored under
``static/vendor/`` (versions and licences in its README) and the plugins point at them.

- ``/schema`` and ``/schema/redoc``: ReDoc, to read.
- ``/schema/swagger``: Swagger UI, to try calls (Authorize with a Bearer access token).
- ``/schema/openapi.json`` and ``/schema/openapi.yaml``: the document itself.
"""

from __future__ import annotations

from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RedocRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)

DOCS_PATH = "/schema"
VENDOR = "/static/vendor"
REDOC_JS = f"{VENDOR}/redoc/redoc.standalone.js"
SWAGGER_JS = f"{VENDOR}/swagger-ui/swagger-ui-bundle.js"
SWAGGER_PRESET_JS = f"{VENDOR}/swagger-ui/swagger-ui-standalone-preset.js"
SWAGGER_CSS = f"{VENDOR}/swagger-ui/swagger-ui.css"
FAVICON = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'

# The docs pages are Litestar's: their bootstrap script (with the document inline) and the
# viewers' injected styles are inline, and ReDoc's search runs in a blob: worker. Everything
# else stays same-origin, so a page that tried a CDN would fail loudly rather than half work.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """ReDoc at the root, Swagger UI beside it, and the JSON and YAML documents."""
    return [
        RedocRenderPlugin(
            path=["/", "/redoc"], js_url=REDOC_JS, google_fonts=False, favicon=FAVICON
        ),
        SwaggerRenderPlugin(
            path="/swagger",
            js_url=SWAGGER_JS,
            css_url=SWAGGER_CSS,
            standalone_preset_js_url=SWAGGER_PRESET_JS,
            favicon=FAVICON,
        ),
        JsonRenderPlugin(),
        YamlRenderPlugin(),
    ]


__all__ = ["DOCS_CSP", "DOCS_PATH", "render_plugins"]
