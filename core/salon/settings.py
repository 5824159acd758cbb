"""One typed settings object, read once at start-up from ``SALON_*`` variables and salon.toml.

Nothing else in Salon reads the environment: :func:`load_settings` is called by the CLI (or the
ASGI factory) and the result is passed down. Plugins declare their own settings types with the
``register_settings`` hook; they are parsed here too, so every bad value stops start-up at once.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from salon.errors import ConfigurationError
from salon.providers import DEFAULT_RENDITIONS, RenditionSpec
from salon.proxies import parse_networks

ENV_PREFIX = "SALON_"
REQUIRED_RENDITIONS = ("sm", "md", "lg")
"""Rendition names the core's own features use; ``SALON_RENDITIONS`` must keep them."""
# Variables under these prefixes belong to tools around Salon (the test suite), not to Salon.
IGNORED_PREFIXES = ("SALON_TEST_",)


class CoreSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The core's settings; each field ``x`` is read from ``SALON_X``."""

    data_dir: Path = Path("data")
    database_url: str = ""
    storage: str = "local"
    auth: str = "local"
    queue: str = "local"
    # The media processors, in order: the first decodes uploads and makes the renditions;
    # each one after it is stacked on that result, adding renditions or metadata
    # ("pillow,avif_phash"). See docs/plugins.md, "Stacking media processors".
    media: str = "pillow"
    mail: str = "console"
    secret_key: str = ""
    # Only for links that leave the browser session (share links, e-mails); when empty, each
    # request's own origin is used. Upload URLs are always relative (same origin as the page).
    public_url: str = ""
    # Peers whose X-Forwarded-For/-Proto/-Host are honoured (IPs or CIDR ranges).
    trusted_proxies: tuple[str, ...] = ()
    max_upload_bytes: int = 200 * 1024 * 1024
    max_pixels: int = 100_000_000
    # The renditions the first media processor makes, name:long_edge[:format[:quality]]
    # (format webp, avif, jpeg or png; default webp at quality 80). sm, md and lg must stay:
    # the web UI, shares, downloads and videos use them.
    renditions: tuple[str, ...] = tuple(str(spec) for spec in DEFAULT_RENDITIONS)
    # libwebp's effort (0-6) for WebP renditions: 2 takes under half the CPU of libwebp's
    # default 4 for about 4 % more bytes at the same quality (benchmarks/ingest/README.md).
    webp_method: int = 2
    # Above 16 MP, an image declaring more pixels per byte of file is a decompression bomb.
    max_pixels_per_byte: int = 1000
    # A progressive JPEG's decode time grows with its scans (a 187 KB file of 4000 repeated
    # scans took 23 s); cameras and encoders write at most a few dozen.
    max_jpeg_scans: int = 256
    # Full-size decodes at once per process (each up to max_pixels x 4 bytes).
    media_decode_concurrency: int = 2
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    # How long a password reset link works (local accounts); it works once.
    password_reset_ttl: int = 3600
    presign_ttl: int = 300
    upload_intent_ttl: int = 900
    # How often a worker deletes abandoned direct uploads (seconds; 0: only `salon uploads
    # cleanup`), and each user's storage for originals (bytes; 0: unlimited).
    upload_cleanup_interval: int = 300
    # Days a deleted image stays in the trash before a worker purges it (row and objects, on
    # the same schedule as the upload cleanup); 0: deleting removes at once.
    trash_days: int = 30
    # Finite by default (issue 17): sign-up is open, so an unlimited quota lets one account
    # fill the disk. Direct uploads announced and not finished count with their declared size,
    # and one user may have at most max_open_uploads_per_user of them open at once (429).
    storage_quota_bytes: int = 10 * 1024**3
    max_open_uploads_per_user: int = 32
    share_link_ttl: int = 7 * 24 * 3600
    # One video request's ceiling: its length (images x seconds per image) and its frame size.
    video_max_seconds: int = 600
    video_max_pixels: int = 3840 * 2160
    # Slides x frame pixels: ffmpeg keeps a frame per slide in its filter graph, so memory grows
    # with both (200 slides at 4K took 9 GB). 100 slides at 1080p, 25 at 4K.
    video_max_total_pixels: int = 100 * 1920 * 1080
    # Jobs one user may have queued or running at once (videos, imports); more answer 429, so
    # one account cannot fill the queue every user shares (issue 17).
    max_jobs_per_user: int = 4
    # Jobs a worker (`salon worker`, the in-process one) runs at once per lane: short slots
    # take only short jobs (imports, renditions), so they never wait behind a video in a long
    # slot. 0 long slots: this worker leaves videos to another (0 short: the reverse).
    worker_short_slots: int = 1
    worker_long_slots: int = 1
    download_mode: str = "redirect"
    # None (unset): run jobs in the web process only with the ``local`` queue. True: with any
    # queue (SQS on LocalStack, one process for local work). False: never (a `salon worker`).
    inprocess_worker: bool | None = None
    disable_plugins: tuple[str, ...] = ()
    trace_plugins: bool = False
    cors_origins: tuple[str, ...] = ()
    # Requests a minute per client address: login and the other account forms, and refresh.
    auth_rate_limit: int = 30
    # false: only administrators create accounts (`salon user create`, or the Cognito pool's
    # admin-only sign-up); the sign-up page and route say sign-up is closed.
    signup_enabled: bool = True
    # Local accounts: a new account works only after the code mailed to it is entered, so
    # sign-up cannot tell who has an account (needs a real SALON_MAIL to be of use).
    signup_confirm: bool = False
    refresh_rate_limit: int = 60
    # Failed logins per account within the window (seconds) before its logins are refused to
    # clients without a device cookie of the account; one device cookie's own budget; and how
    # long a device cookie (set by a successful browser login) is kept.
    login_failure_limit: int = 10
    login_failure_window: int = 900
    login_device_failure_limit: int = 5
    login_device_ttl: int = 365 * 24 * 3600
    # Wrong passwords on one share link from every address together within the failure
    # window; then password attempts on that link answer 429 until the window slides on.
    share_password_failure_limit: int = 30
    # Albums shared with users: e-mail addresses one user may try an hour (an unknown one is
    # 404, so each try tells whether an address has an account).
    member_add_limit: int = 30
    log_level: str = "INFO"
    # "text" for people, "json" (one object a line, with request/user/job ids) for log services.
    log_format: str = "text"
    # Memory for cached pages of the image list, per process; 0 turns the read caches off.
    read_cache_mb: int = 32
    # Request bodies (issue 17): every route but the two upload routes takes at most this much.
    max_json_body_bytes: int = 64 * 1024
    max_json_depth: int = 32
    max_form_parts: int = 16
    # A body must keep arriving: no gap longer than body_read_timeout seconds, and after that
    # many seconds at least body_min_rate bytes per second on average (slow-loris uploads).
    body_read_timeout: float = 15.0
    body_min_rate: int = 8 * 1024
    # An answer given before the body was read (401, 429, 503) first reads and drops up to
    # this much of it, so the client sees the answer rather than a reset connection.
    drain_body_bytes: int = 8 << 20
    max_concurrent_uploads_per_user: int = 4
    # Uploads being taken in (storing the original, the row) at once per process, 0: no bound
    # (the default: on 2 shared cores a bound of 2 did not shift the web process's CPU toward
    # reads, and under the hostile load its waits ran past ``upload_intake_wait``: 503s).
    # The rest wait their turn (the user who used the least intake time first) up to
    # ``upload_intake_wait`` seconds, then 503 with Retry-After.
    upload_intake_concurrency: int = 0
    upload_intake_wait: float = 10.0
    # Password hashing (argon2, 64 MiB each) runs in its own small pool; beyond the queue: 429.
    password_hash_concurrency: int = 2
    password_hash_queue: int = 16
    # Places (running or waiting) one client address may hold, and places of the queue kept
    # for browsers with a valid device cookie of the account they sign in to.
    password_hash_per_client: int = 2
    password_hash_reserved: int = 4
    # `salon serve` migrates a SQLite database itself; a server database (PostgreSQL) only
    # with this on, else it refuses to start on a schema behind its migrations.
    auto_migrate: bool = False
    # Addresses (CIDR) that may read /metrics and /ready's details.
    internal_allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # Renditions are made in this many low-priority worker processes (0: one per core but
    # one, at least 1), so request handling keeps a core; at most ``media_queue`` more wait
    # for one before uploads answer 503 with Retry-After. One user has at most
    # ``media_queue_per_user`` of those places (their further uploads wait, then 503), so one
    # user's backlog cannot refuse everyone else's uploads.
    media_workers: int = 0
    media_queue: int = 64
    media_queue_per_user: int = 8
    media_nice: int = 10
    # Images of at most this many pixels (0: off) also have one more worker process of their
    # own, so a photo never waits behind another user's large image or pixel bomb being
    # decoded (that worker decodes at most this x 4 bytes at a time).
    media_light_pixels: int = 25_000_000
    # A standalone `salon worker` is its own process, so its job metrics never reach the web
    # service's /metrics: a port here (0: off) serves them in Prometheus form from the worker
    # itself, on this address (loopback unless a scraper elsewhere must reach it).
    worker_metrics_port: int = 0
    worker_metrics_host: str = "127.0.0.1"

    @property
    def media_stack(self) -> tuple[str, ...]:
        """``media`` as the ordered names of the processors: the base first."""
        return tuple(name.strip() for name in self.media.split(","))

    @property
    def rendition_specs(self) -> tuple[RenditionSpec, ...]:
        """``renditions`` parsed (checked at start-up by ``__post_init__``)."""
        return tuple(RenditionSpec.parse(text) for text in self.renditions)

    def _check_media(self) -> None:
        stack = self.media_stack
        if not all(stack) or len(set(stack)) != len(stack):
            raise ValueError(
                f"media {self.media!r}: name each media processor once, comma-separated, "
                "the base first (pillow,avif_phash)"
            )
        names = [spec.name for spec in self.rendition_specs]  # ValueError names a bad one
        if len(set(names)) != len(names):
            raise ValueError(f"renditions: each name once ({', '.join(names)})")
        missing = [name for name in REQUIRED_RENDITIONS if name not in names]
        if missing:
            raise ValueError(
                f"renditions: {', '.join(missing)} missing; sm, md and lg must stay (the web "
                "UI, shares, downloads and videos use them): change their sizes, or add more"
            )

    def __post_init__(self) -> None:
        self._check_media()
        if self.log_format not in ("text", "json"):
            raise ValueError("log_format must be 'text' or 'json'")
        if self.download_mode not in ("redirect", "proxy"):
            raise ValueError("download_mode must be 'redirect' or 'proxy'")
        for name in (
            "max_upload_bytes",
            "max_pixels",
            "access_token_ttl",
            "presign_ttl",
            "password_reset_ttl",
            "video_max_seconds",
            "video_max_pixels",
            "video_max_total_pixels",
            "max_pixels_per_byte",
            "max_jpeg_scans",
            "media_decode_concurrency",
            "media_queue_per_user",
            "drain_body_bytes",
            "max_json_body_bytes",
            "max_json_depth",
            "max_form_parts",
            "body_read_timeout",
            "body_min_rate",
            "max_concurrent_uploads_per_user",
            "max_open_uploads_per_user",
            "max_jobs_per_user",
            "password_hash_concurrency",
            "password_hash_per_client",
            "auth_rate_limit",
            "refresh_rate_limit",
            "login_failure_limit",
            "login_failure_window",
            "login_device_failure_limit",
            "login_device_ttl",
            "share_password_failure_limit",
            "member_add_limit",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.upload_intake_concurrency < 0 or self.upload_intake_wait < 0:
            raise ValueError("upload_intake_concurrency and upload_intake_wait must be 0 or more")
        if self.password_hash_queue < 0 or self.password_hash_reserved < 0:
            raise ValueError("password_hash_queue and password_hash_reserved must be 0 or more")
        if self.upload_cleanup_interval < 0 or self.storage_quota_bytes < 0:
            raise ValueError("upload_cleanup_interval and storage_quota_bytes must be 0 or more")
        if self.trash_days < 0:
            raise ValueError("trash_days must be 0 (no trash) or more")
        if self.read_cache_mb < 0:
            raise ValueError("read_cache_mb must be 0 (off) or more")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ValueError("public_url must start with http:// or https://")
        parse_networks(self.trusted_proxies)
        if "*" in self.cors_origins:
            # Salon answers CORS with credentials (cookie sessions): "*" would let every
            # site read signed-in answers. Name the origins instead.
            raise ValueError(
                "cors_origins cannot be '*' (the API allows credentials): "
                "list the allowed origins, e.g. https://app.example.org"
            )
        for network in self.internal_allow:
            ipaddress.ip_network(network, strict=False)  # ValueError names the bad one
        if self.media_workers < 0 or self.media_queue < 0:
            raise ValueError("media_workers and media_queue must be 0 or more")
        if not 0 <= self.webp_method <= 6:
            raise ValueError("webp_method must be between 0 (fastest) and 6 (smallest files)")
        if self.media_light_pixels < 0:
            raise ValueError("media_light_pixels must be 0 (off) or more")
        if not 0 <= self.media_nice <= 19:
            raise ValueError("media_nice must be between 0 and 19")
        if not (0 <= self.worker_short_slots <= 64 and 0 <= self.worker_long_slots <= 64):
            raise ValueError("worker_short_slots and worker_long_slots must be between 0 and 64")
        if self.worker_short_slots + self.worker_long_slots == 0:
            raise ValueError("worker_short_slots and worker_long_slots cannot both be 0")
        if not 0 <= self.worker_metrics_port <= 65535:
            raise ValueError("worker_metrics_port must be between 0 (off) and 65535")
        ipaddress.ip_address(self.worker_metrics_host)  # ValueError names the bad address


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The core settings plus each plugin's parsed settings, keyed by prefix."""

    core: CoreSettings
    plugins: dict[str, Any] = msgspec.field(default_factory=dict)
    raw: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)

    def plugin(self, prefix: str) -> Any:
        return self.plugins.get(prefix.upper())


def _split_env(environ: Mapping[str, str]) -> dict[str, str]:
    return {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and not key.startswith(IGNORED_PREFIXES)
    }


def _read_toml(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc


def _coerce(raw: Mapping[str, Any], fields: set[str]) -> dict[str, Any]:
    """Environment values are strings; split list fields on commas before msgspec converts."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and key in fields:
            out[key] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            out[key] = value
    return out


_LIST_FIELDS = {
    "disable_plugins",
    "cors_origins",
    "trusted_proxies",
    "internal_allow",
    "renditions",
}


def _decode(type_: type[Any], value: Any) -> Any:
    """Types msgspec does not build from strings itself (Path)."""
    if type_ is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(f"cannot read {type_.__name__} from {value!r}")


def _convert(
    type_: type[Any], values: Mapping[str, Any], where: str, prefix: str | None = None
) -> Any:
    try:
        return msgspec.convert(dict(values), type_, strict=False, dec_hook=_decode)
    except (msgspec.ValidationError, ValueError) as exc:
        names = _variables(type_, str(exc), prefix) if prefix else []
        if names:
            where = f"{', '.join(names)} ({where})"
        raise ConfigurationError(f"invalid setting in {where}: {exc}") from exc


def _variables(type_: type[Any], message: str, prefix: str) -> list[str]:
    """The settings a plugin's validation error is about, as the variables a user sets: the
    field msgspec names (``at `$.shard_width```) or, for a ``__post_init__`` ValueError, the
    fields its message mentions; the prefix alone does not say which one to fix."""
    fields = getattr(type_, "__struct_fields__", ())
    at = re.search(r"at `\$\.(\w+)`", message)
    named = [at.group(1)] if at else [f for f in fields if re.search(rf"\b{f}\b", message)]
    return [f"SALON_{prefix}_{name.upper()}" for name in named if name in fields]


def load_core_settings(
    environ: Mapping[str, str] | None = None,
    toml_path: Path | None = None,
    *,
    ensure_secret: bool = True,
) -> tuple[CoreSettings, dict[str, Any]]:
    """Parse the core settings and return them with the values left over for plugins.

    ``ensure_secret``: make the data folder's secret key when there is none (embedded mode).
    Commands that never sign anything (``--help``, ``plugins``, ``db``) pass False, so they
    write nothing where they are run; the key then stays empty unless it exists already."""
    environ = os.environ if environ is None else environ
    toml_path = toml_path or Path(environ.get("SALON_CONFIG", "salon.toml"))
    file_values = _read_toml(toml_path)
    env_values = _split_env(environ)
    env_values.pop("config", None)
    core_fields = set(CoreSettings.__struct_fields__)
    merged: dict[str, Any] = {k: v for k, v in file_values.items() if not isinstance(v, dict)}
    merged.update(env_values)
    core_values = _coerce({k: v for k, v in merged.items() if k in core_fields}, _LIST_FIELDS)
    core = _convert(CoreSettings, core_values, "SALON_* core settings")
    core = _fill_defaults(core, ensure_secret)
    leftovers = {k: v for k, v in merged.items() if k not in core_fields}
    for section, table in file_values.items():
        if isinstance(table, dict):
            for key, value in table.items():
                leftovers.setdefault(f"{section}_{key}".lower(), value)
    return core, leftovers


def _fill_defaults(core: CoreSettings, ensure_secret: bool) -> CoreSettings:
    try:
        data_dir = core.data_dir.expanduser().resolve()
        database_url = core.database_url or f"sqlite+aiosqlite:///{data_dir / 'salon.db'}"
        secret = core.secret_key or _persistent_secret(data_dir, create=ensure_secret)
        return msgspec.structs.replace(
            core,
            public_url=core.public_url.rstrip("/"),
            data_dir=data_dir,
            database_url=database_url,
            secret_key=secret,
        )
    except (OSError, ValueError, RuntimeError) as exc:
        # A NUL byte, "~unknown-user", a folder that cannot be made: a start-up error.
        raise ConfigurationError(
            f"SALON_DATA_DIR {str(core.data_dir)!r} is unusable: {exc}"
        ) from exc


def _persistent_secret(data_dir: Path, *, create: bool) -> str:
    """Embedded mode needs no set-up: a random key is made once and kept in the data folder."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        if not create:
            return ""
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def parse_plugin_settings(
    leftovers: Mapping[str, Any], declared: Mapping[str, tuple[type[Any], str]]
) -> dict[str, Any]:
    """Parse each declared plugin settings type; reject keys that nobody declared.

    ``declared`` maps an upper-case prefix to ``(settings_type, plugin_name)``.
    """
    by_prefix: dict[str, dict[str, Any]] = {prefix: {} for prefix in declared}
    unknown: list[str] = []
    for key, value in leftovers.items():
        prefix = _match_prefix(key, declared)
        if prefix is None:
            unknown.append(ENV_PREFIX + key.upper())
        else:
            by_prefix[prefix][key[len(prefix) + 1 :]] = value
    if unknown:
        known = ", ".join(sorted(f"SALON_{p}_*" for p in declared)) or "none"
        core = [f"SALON_{name.upper()}" for name in CoreSettings.__struct_fields__]
        raise ConfigurationError(
            f"unknown settings: {', '.join(sorted(unknown))}.{_did_you_mean(unknown, core)} "
            f"Core settings are SALON_{{{','.join(CoreSettings.__struct_fields__).upper()}}}; "
            f"plugin settings: {known}"
        )
    for prefix, (type_, _plugin) in declared.items():
        fields = set(getattr(type_, "__struct_fields__", ()))
        for key in by_prefix[prefix]:
            if fields and key not in fields:
                unknown.append(f"SALON_{prefix}_{key.upper()}")
    if unknown:
        known_names = [
            f"SALON_{p}_{f.upper()}"
            for p, (t, _) in sorted(declared.items())
            for f in getattr(t, "__struct_fields__", ())
        ]
        raise ConfigurationError(
            f"unknown settings: {', '.join(sorted(unknown))}."
            f"{_did_you_mean(unknown, known_names)} Known: " + ", ".join(known_names)
        )
    parsed: dict[str, Any] = {}
    for prefix, (type_, plugin) in declared.items():
        where = f"SALON_{prefix}_* (plugin {plugin})"
        parsed[prefix] = _convert(type_, by_prefix[prefix], where, prefix)
    return parsed


def _did_you_mean(unknown: list[str], known: list[str]) -> str:
    """`` Did you mean SALON_X?`` for each misspelt name that is close to a known one."""
    close = [difflib.get_close_matches(name, known, n=1, cutoff=0.8) for name in sorted(unknown)]
    found = [match[0] for match in close if match]
    return f" Did you mean {', '.join(found)}?" if found else ""


def _match_prefix(key: str, declared: Mapping[str, Any]) -> str | None:
    for prefix in sorted(declared, key=len, reverse=True):
        if key.upper().startswith(prefix + "_"):
            return prefix
    return None
