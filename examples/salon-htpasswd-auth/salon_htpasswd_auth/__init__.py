"""salon-htpasswd-auth: HTTP Basic sign-in for scripts and proxies, as one link of Salon's
request-authentication chain (hook ``register_request_authenticators``).

The file named by ``SALON_HTPASSWD_FILE`` holds one ``user:hash`` line per user, the hash an
argon2id PHC string (``$argon2id$v=19$...``); make one with
``python -m salon_htpasswd_auth USER < password-file``. Apache's MD5/SHA/crypt formats are not
accepted: they are too cheap to guess. Requests without ``Authorization: Basic`` pass on to the
next link (API keys, then the configured provider's Bearer tokens and session cookie), so local
accounts keep working; a wrong Basic password is a 401 with ``WWW-Authenticate: Basic``.
"""

from __future__ import annotations

import msgspec
from salon import hookimpl
from salon.providers import (
    ProviderContext,
    RegisterRequestAuthenticator,
    RegisterSettings,
    RequestAuthenticator,
)

from salon_htpasswd_auth.authenticator import HtpasswdAuthenticator, hash_password

__all__ = ["HtpasswdAuthenticator", "HtpasswdSettings", "hash_password"]
__version__ = "0.1.0"


class HtpasswdSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``SALON_HTPASSWD_FILE``, ``SALON_HTPASSWD_REALM``."""

    file: str = ""
    """The ``user:argon2-hash`` file; empty: ``<SALON_DATA_DIR>/htpasswd``."""

    realm: str = "salon"
    """Shown by browsers in the sign-in prompt (``WWW-Authenticate: Basic realm=...``)."""

    def __post_init__(self) -> None:
        if '"' in self.realm or "\\" in self.realm:
            raise ValueError("realm may not contain quotes or backslashes")


@hookimpl
def register_settings(register: RegisterSettings) -> None:
    register("HTPASSWD", HtpasswdSettings)


def _factory(context: ProviderContext) -> RequestAuthenticator:
    settings = context.settings if isinstance(context.settings, HtpasswdSettings) else None
    settings = settings or HtpasswdSettings()
    path = context.data_dir / "htpasswd" if not settings.file else settings.file
    return HtpasswdAuthenticator(path, realm=settings.realm)


@hookimpl
def register_request_authenticators(register: RegisterRequestAuthenticator) -> None:
    register("htpasswd", _factory)
