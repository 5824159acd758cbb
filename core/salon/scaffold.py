"""``salon new-plugin``: write the skeleton of a third-party plugin distribution.

The skeleton is a complete package: ``pyproject.toml`` with the ``salon`` entry point, a module
with the hook implementations, a settings struct, a provider class whose every method is a stub
raising ``NotImplementedError`` with what it must do, and tests that subclass the contract
suite for the kind. The stub is generated from the Protocol in :mod:`salon.providers`, so it
always has the methods and signatures the core expects.
"""

from __future__ import annotations

import inspect
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

from salon import __version__, hookspecs, providers, roles

__all__ = [
    "KINDS",
    "SKELETONS",
    "Kind",
    "ScaffoldError",
    "Skeleton",
    "names_for",
    "new_plugin",
    "provider_stub",
]


class ScaffoldError(ValueError):
    """The plugin name or destination is not usable; the message says why."""


@dataclass(frozen=True, slots=True)
class Kind:
    """What differs between the kinds of provider a plugin can offer: the role's row of
    :mod:`salon.roles` (Protocol, hook, title, contract suite, setting) and the skeleton's own."""

    protocol: type
    hook: str
    suffix: str
    title: str
    contract: str
    selector: str | None  # the core setting that selects one by name; None: all are used
    runtime_attr: str
    selection: str = "{name}"  # the selector's value that selects it
    use: str = ""  # without a selector: how every provider of the kind is used
    when_built: str = ""
    note: str = ""  # the README's word after "Use", for any kind


@dataclass(frozen=True, slots=True)
class Skeleton:
    """What only the skeleton needs for a kind: the class name's suffix, where its test finds
    the built provider on ``running_app``, and the selector's value that selects it."""

    suffix: str
    runtime_attr: str
    selection: str = "{name}"
    # For a role whose every provider is used (no selector): how the README and the
    # skeleton's start-up test say so.
    use: str = ""
    when_built: str = ""
    note: str = ""  # said after how to use it, in the README


# One per kind of salon.roles.kinds() (a test keeps them in step).
SKELETONS: Final[Mapping[str, Skeleton]] = {
    "storage": Skeleton("Storage", "app.runtime.storage"),
    "auth": Skeleton("Auth", "app.runtime.auth"),
    "media": Skeleton("MediaProcessor", "app.runtime.media"),
    "stacked": Skeleton(
        "Processor",
        'dict(app.salon("{name}").media_processors)["{name}"]',  # public: no stack internals
        "pillow,{name}",  # stacked on the built-in processor
        note="Images uploaded before it was selected lack its renditions and metadata: a job "
        "of yours makes them with `await salon.images.refresh_renditions(image_id)`, or queue "
        'the core\'s job: `await salon.queue.enqueue("image.renditions", {"image_id": ...})` '
        '(docs/plugins.md, "An image\'s bytes and its renditions").',
    ),
    "source": Skeleton(
        "Source",
        'app.runtime.sources.get("{name}")',
        use="Every image source is started with Salon and listed by `GET /api/sources`.",
        when_built="; every image source is built and listed by GET /api/sources",
    ),
    "queue": Skeleton("Queue", "app.runtime.queue"),
    "mail": Skeleton("Mail", "app.runtime.mail"),
    "authenticator": Skeleton(
        "Authenticator",
        'dict(app.runtime.authenticators)["{name}"]',
        use="Every request authenticator is started with Salon and asked, in hook order, "
        "for the user of each request that needs one.",
        when_built="; every request authenticator is built and asked in hook order",
    ),
}


def _kinds() -> dict[str, Kind]:
    out: dict[str, Kind] = {}
    for name, (role, kind) in roles.kinds().items():
        skeleton = SKELETONS[name]
        out[name] = Kind(
            protocol=kind.protocol,
            hook=role.hook,
            suffix=skeleton.suffix,
            title=kind.title,
            contract=kind.contract or "",  # roles.kinds() has only kinds with a suite
            selector=role.variable,
            runtime_attr=skeleton.runtime_attr,
            selection=skeleton.selection,
            use=skeleton.use,
            when_built=skeleton.when_built,
            note=skeleton.note,
        )
    return out


KINDS: Final[Mapping[str, Kind]] = _kinds()

# Names the built-in providers use: a plugin offering one again fails at start-up.
RESERVED: Final = frozenset({"local", "pillow"})
_NAME_RE: Final = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PROVIDER_RE: Final = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# What each stub says it must do (the Protocol's contract, in a sentence).
HINTS: Final[Mapping[str, str]] = {
    "StorageBackend.put": "consume `chunks` as they arrive (never all in memory), replace any "
    "object under `key` atomically, leave nothing behind if the chunks raise, return ObjectInfo",
    "StorageBackend.open": "stream the object in pieces of at most `chunk_size` bytes; raise "
    "ObjectNotFound before the first chunk when `key` is missing",
    "StorageBackend.stat": "return ObjectInfo(key, size, ...) or raise ObjectNotFound",
    "StorageBackend.delete": "remove the object; a missing key is not an error",
    "StorageBackend.list": "yield ObjectInfo for every key that starts with `prefix` (a string "
    "prefix, as on S3)",
    "StorageBackend.check": "readiness: raise ConfigurationError when the backend is unusable",
    "AuthProvider.signup": "create the account; AuthError('user_exists'|'weak_password', ...) "
    "when refused; return SignupResult",
    "AuthProvider.confirm": "confirm a sign-up code, or raise AuthError('unsupported', ...)",
    "AuthProvider.login": "return a TokenPair; AuthError('invalid_credentials', ...) for a wrong "
    "password and an unknown user alike",
    "AuthProvider.refresh": "exchange a refresh token for a new TokenPair; InvalidToken if not "
    "accepted",
    "AuthProvider.logout": "revoke the session of this access token",
    "AuthProvider.authenticate": "return the Identity of a valid access token; InvalidToken for "
    "any token you do not accept (expired, forged, revoked, malformed)",
    "AuthProvider.forgot_password": "start a password reset, or raise AuthError('unsupported')",
    "AuthProvider.confirm_forgot_password": "finish a password reset, or raise "
    "AuthError('unsupported')",
    "MediaProcessor.process": "decode `source` once, apply EXIF orientation, write each spec's "
    "rendition into `out_dir` without GPS or private metadata, return ProcessedMedia; raise "
    "UnsupportedMedia for anything that is not an intact, supported image",
    "StackedMediaProcessor.add": "write one file per spec in `renditions` into `out_dir` "
    "(from a rendition in `previous.renditions`, not from `source`) and return them with any "
    "new metadata keys in MediaAdditions",
    "ImageSource.entries": "validate `query` first (SourceQueryError, before any request), then "
    "return SourceEntry values; upstream failures raise SourceError",
    "ImageSource.download": "stream the entry's image bytes (an async generator); SourceError "
    "when the entry has no image_url or the upstream fails",
    "JobQueue.enqueue": "store the job id for delivery; QueueUnavailable if it cannot be stored",
    "JobQueue.receive": "wait up to `wait_seconds` for a message; hide it for "
    "visibility_timeout seconds and return a Delivery, or None",
    "JobQueue.ack": "delete the delivered message; a stale receipt must not raise",
    "JobQueue.extend": "keep the message hidden `seconds` longer (a heartbeat)",
    "JobQueue.release": "make the message visible again at once",
    "JobQueue.check": "readiness: raise ConfigurationError when the queue is unusable",
    "MailSender.send": "deliver `message` (to, subject, text: plain text, UTF-8) exactly once; "
    "raise ProviderError when it cannot, never with the text or a password in the message",
    "MailSender.check": "readiness: raise ConfigurationError when mail cannot be sent; send "
    "nothing",
    "RequestAuthenticator.authenticate_request": "return the Identity the headers prove; None "
    "when they carry no credentials of your kind (the chain goes on); raise InvalidToken for "
    "wrong ones of your kind, no secret in its message; compare secrets with "
    "hmac.compare_digest or a hasher's verify; never read the cookie header",
}

# Methods whose right first version is not a stub: these bodies are already correct.
WORKING_BODIES: Final[Mapping[str, str]] = {
    "StorageBackend.presign_get": "# Correct while capabilities.presigned_get is False.\n"
    'raise StorageError("presigned downloads are not supported")',
    "StorageBackend.presign_post": "# Correct while capabilities.presigned_post is False.\n"
    'raise StorageError("direct uploads are not supported")',
    "StorageBackend.local_path": "return None  # correct while capabilities.local_paths is False",
    "JobQueue.close": "return None  # nothing to release yet",
}

ATTRIBUTES: Final[Mapping[str, str]] = {
    "capabilities": "capabilities = StorageCapabilities()  # presign_* and local_path: off",
    "challenge": "challenge: str | None = None  # added to WWW-Authenticate on 401s, e.g. "
    "'Basic realm=\"salon\"'",
    "content_types": 'content_types = frozenset({{"image/jpeg", "image/png"}})',
    "name": 'name = "{name}"',
    "provider": 'provider = "{name}"  # your users are ("{name}", subject)',
    "renditions": "renditions: tuple[RenditionSpec, ...] = ()  # the renditions it adds, if any",
    "title": 'title = "{title}"',
    "visibility_timeout": "visibility_timeout = 30  # seconds a received message stays hidden",
}

_ABC = ("AsyncIterable", "AsyncIterator", "Awaitable", "Callable", "Mapping", "Sequence")

CONTRACT_BODIES: Final[Mapping[str, str]] = {
    "storage": """
    @pytest.fixture
    def storage(self, tmp_path: Path) -> {cls}:
        context = ProviderContext(
            core=CoreSettings(data_dir=tmp_path), settings={settings}(), data_dir=tmp_path
        )
        return {cls}.from_context(context)
""",
    "auth": """
    @pytest.fixture
    def auth_provider(self, tmp_path: Path) -> {cls}:
        context = ProviderContext(
            core=CoreSettings(data_dir=tmp_path), settings={settings}(), data_dir=tmp_path
        )
        return {cls}.from_context(context)

    @pytest.fixture
    def make_user(self, auth_provider: {cls}) -> MakeUser:
        async def make() -> tuple[str, str]:
            email, password = unique_email(), "Correct-Horse-9-Battery!"
            await auth_provider.signup(email, password)
            return email, password

        return make

    @pytest.fixture
    async def expired_access_token(self, auth_provider: {cls}, make_user: MakeUser) -> str:
        raise NotImplementedError(
            "return a genuine access token of yours whose expiry has passed "
            "(e.g. make the provider with a 1-second token lifetime and wait)"
        )
""",
    "stacked": """
    @pytest.fixture
    def stacked_processor(self, tmp_path: Path) -> {cls}:
        context = ProviderContext(
            core=CoreSettings(data_dir=tmp_path), settings={settings}(), data_dir=tmp_path
        )
        return {cls}.from_context(context)
""",
    "media": """
    @pytest.fixture
    def media_processor(self, tmp_path: Path) -> {cls}:
        context = ProviderContext(
            core=CoreSettings(data_dir=tmp_path), settings={settings}(), data_dir=tmp_path
        )
        return {cls}.from_context(context)
""",
    "source": """
    # A query that returns at least one importable entry, and queries you refuse.
    valid_query: ClassVar[Mapping[str, str]] = {{"count": "2"}}
    bad_queries: ClassVar[Sequence[Mapping[str, str]]] = ({{"count": "not-a-number"}},)

    @pytest.fixture
    def image_source(self, tmp_path: Path) -> {cls}:
        context = ProviderContext(
            core=CoreSettings(data_dir=tmp_path), settings={settings}(), data_dir=tmp_path
        )
        return {cls}.from_context(context)
""",
    "queue": """
    @pytest.fixture
    async def job_queue(self, tmp_path: Path) -> AsyncIterator[{cls}]:
        context = ProviderContext(
            core=CoreSettings(data_dir=tmp_path), settings={settings}(), data_dir=tmp_path
        )
        queue = {cls}.from_context(context)
        queue.visibility_timeout = 2  # short, so redelivery tests run fast
        yield queue
        await queue.close()
""",
    "mail": """
    @pytest.fixture
    def mail_sender(self, tmp_path: Path) -> {cls}:
        context = ProviderContext(
            core=CoreSettings(data_dir=tmp_path), settings={settings}(), data_dir=tmp_path
        )
        return {cls}.from_context(context)

    @pytest.fixture
    def delivered(self, mail_sender: {cls}) -> Delivered:
        raise NotImplementedError(
            "return a function listing the messages delivered so far as MailMessage values "
            "(e.g. what a local test SMTP server received)"
        )
""",
    "authenticator": """
    # The requests of salon.testing's FOREIGN_REQUESTS that are your kind, e.g. ("basic",).
    claims: ClassVar[Collection[str]] = ()

    @pytest.fixture
    def authenticator(self, tmp_path: Path) -> {cls}:
        context = ProviderContext(
            core=CoreSettings(data_dir=tmp_path), settings={settings}(), data_dir=tmp_path
        )
        return {cls}.from_context(context)

    @pytest.fixture
    def make_credentials(self, authenticator: {cls}) -> MakeCredentials:
        async def make() -> Credentials:
            raise NotImplementedError(
                "make a new principal of yours (a user, a key) and return "
                "Credentials(headers, the Identity they prove, (its secret,))"
            )

        return make

    @pytest.fixture
    def bad_credentials(self, authenticator: {cls}) -> BadCredentials:
        async def bad(good: Credentials) -> Sequence[Credentials]:
            raise NotImplementedError(
                "return credentials of your kind that must be refused: good's principal "
                "with a wrong secret, an unknown principal, malformed values"
            )

        return bad
""",
}


@dataclass(frozen=True, slots=True)
class Names:
    """Every name derived from the plugin's NAME."""

    dist: str
    package: str
    entry_point: str
    provider_name: str
    prefix: str
    class_name: str
    settings_class: str


def names_for(name: str, kind: str, provider: str | None = None) -> Names:
    """``photo-vault`` -> distribution ``salon-photo-vault``, package ``salon_photo_vault``,
    entry point and provider ``photo_vault``, settings ``SALON_PHOTO_VAULT_*``. ``provider``
    names the provider otherwise (``--provider mirrored``: ``SALON_STORAGE=mirrored``)."""
    if kind not in KINDS:
        raise ScaffoldError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    if not _NAME_RE.match(name) or len(name) > 40:
        raise ScaffoldError(
            f"plugin name {name!r} must be lower-case letters, digits and single hyphens, "
            "start with a letter, and be at most 40 characters (e.g. photo-vault)"
        )
    slug = name.removeprefix("salon-")
    if slug in ("", "salon"):
        raise ScaffoldError("the plugin name needs more than 'salon'")
    plugin = slug.replace("-", "_")
    if provider is not None and not _PROVIDER_RE.match(provider):
        raise ScaffoldError(
            f"provider name {provider!r} must be lower-case letters, digits and underscores, "
            "starting with a letter (e.g. mirrored)"
        )
    provider = provider or plugin
    if provider in RESERVED:
        raise ScaffoldError(f"{provider!r} is a built-in provider's name; choose another")
    words = "".join(part.capitalize() for part in slug.split("-"))
    suffix = KINDS[kind].suffix
    return Names(
        dist=f"salon-{slug}",
        package=f"salon_{plugin}",
        entry_point=plugin,
        provider_name=provider,
        prefix=plugin.upper(),
        class_name=words if words.endswith(suffix) else words + suffix,
        settings_class=words + "Settings",
    )


def new_plugin(name: str, kind: str, dest: Path, provider: str | None = None) -> Path:
    """Write the skeleton into ``dest/<distribution>`` and return that folder.

    Refuses (ScaffoldError) a bad name, provider name or kind, or a target folder that exists
    and is not empty.
    """
    names = names_for(name, kind, provider)
    spec = KINDS[kind]
    root = Path(dest) / names.dist
    if root.exists() and any(root.iterdir()):
        raise ScaffoldError(f"{root} exists and is not empty; choose another --dest")
    values = _values(names, kind, spec)
    files = {
        "pyproject.toml": _render("pyproject.toml.tmpl", values),
        "README.md": _render("README.md.tmpl", values),
        f"{names.package}/__init__.py": _render("__init__.py.tmpl", values),
        f"{names.package}/settings.py": _render("settings.py.tmpl", values),
        f"{names.package}/provider.py": provider_stub(kind, names),
        f"{names.package}/py.typed": "",
        f"tests/test_{names.provider_name}_contract.py": _contract_test(kind, names),
        f"tests/test_{names.provider_name}_plugin.py": _render("test_plugin.py.tmpl", values),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _values(names: Names, kind: str, spec: Kind) -> dict[str, str]:
    selector = spec.selector
    if selector:
        selection = spec.selection.format(name=names.provider_name)
        use = f"Select it with `{selector}={selection}`, then `salon serve`."
        env_arg = f', env={{"{selector}": "{selection}"}}'
        when_built = f", only when {selector}={selection} selects it"
    else:
        use, env_arg, when_built = spec.use, "", spec.when_built
    if spec.note:
        use = f"{use}\n\n{spec.note}"
    return {
        "dist": names.dist,
        "package": names.package,
        "entry_point": names.entry_point,
        "provider_name": names.provider_name,
        "prefix": names.prefix,
        "prefix_lower": names.prefix.lower(),
        "class_name": names.class_name,
        "settings_class": names.settings_class,
        "kind": kind,
        "kind_title": spec.title,
        "protocol": spec.protocol.__name__,
        # The callback types the guide prescribes (salon.providers' Register* aliases).
        "providers_import": ", ".join(sorted({"RegisterSettings", _register_alias(spec.hook)})),
        "register_alias": _register_alias(spec.hook),
        "hook": spec.hook,
        "contract": spec.contract,
        "salon_version": __version__.rsplit(".", 1)[0],
        "use": use,
        "env_arg": env_arg,
        "when_built": when_built,
        "runtime_attr": spec.runtime_attr.format(name=names.provider_name),
    }


def _register_alias(hook: str) -> str:
    """The ``register`` callback's type of ``hook``, as hookspecs.py annotates it (the name
    of a ``salon.providers`` alias, e.g. ``RegisterStorageBackend``)."""
    annotation = inspect.signature(getattr(hookspecs, hook)).parameters["register"].annotation
    return str(annotation)


def _render(template: str, values: Mapping[str, str]) -> str:
    text = resources.files("salon").joinpath("scaffold_templates", template).read_text()
    return string.Template(text).substitute(values)


def _contract_test(kind: str, names: Names) -> str:
    spec = KINDS[kind]
    body = CONTRACT_BODIES[kind].format(cls=names.class_name, settings=names.settings_class)
    testing = [spec.contract]
    if kind == "auth":
        testing += ["MakeUser", "unique_email"]
    if kind == "mail":
        testing.append("Delivered")
    if kind == "authenticator":
        testing += ["BadCredentials", "Credentials", "MakeCredentials"]
    lines = ["", "from pathlib import Path"]
    if kind == "queue":
        lines.insert(1, "from collections.abc import AsyncIterator")
    if kind == "source":
        lines[1:1] = ["from collections.abc import Mapping, Sequence"]
        lines.append("from typing import ClassVar")
    if kind == "authenticator":
        lines[1:1] = ["from collections.abc import Collection, Sequence"]
        lines.append("from typing import ClassVar")
    lines += [
        "",
        "import pytest",
        "from salon.providers import ProviderContext",
        "from salon.settings import CoreSettings",
        _import("salon.testing", sorted(testing)),
        "",
        f"from {names.package} import {names.class_name}",
        f"from {names.package}.settings import {names.settings_class}",
        "",
    ]
    return string.Template(
        resources.files("salon").joinpath("scaffold_templates", "test_contract.py.tmpl").read_text()
    ).substitute(
        class_name=names.class_name,
        protocol=spec.protocol.__name__,
        contract=spec.contract,
        imports="\n".join(lines),
        body=body.strip("\n"),
    )


def _import(module: str, names: list[str]) -> str:
    """``from module import names``, one name a line when it would pass 99 characters."""
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= 99:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")"


# ---------------------------------------------------------------------- the provider stub


def provider_stub(kind: str, names: Names) -> str:
    """The provider module: one class with every method of the kind's Protocol, each a stub."""
    spec = KINDS[kind]
    protocol = spec.protocol
    proto = protocol.__name__
    methods = [
        (attr, value)
        for attr, value in vars(protocol).items()
        if inspect.isfunction(value) and not attr.startswith("_")
    ]
    attributes = [a for a in getattr(protocol, "__annotations__", {}) if not a.startswith("_")]
    attributes += [a for a, v in vars(protocol).items() if isinstance(v, property)]
    members: list[str] = []
    title = names.provider_name.replace("_", " ").title()
    values = {"name": names.provider_name, "title": title}
    if attributes:
        members.append("".join(f"    {ATTRIBUTES[a].format_map(values)}\n" for a in attributes))
    members.append(_init_and_factory(names))
    used: set[str] = {"ProviderContext"}
    for attr, function in methods:
        text, words = _method(proto, names.class_name, attr, function)
        members.append(text)
        used |= words
    if "capabilities" in attributes:
        used.add("StorageCapabilities")
    if "renditions" in attributes:
        used.add("RenditionSpec")
    if any("StorageError" in WORKING_BODIES.get(f"{proto}.{a}", "") for a, _ in methods):
        used.add("StorageError")
    return _module_head(kind, names, used) + "\n\n".join(m.rstrip("\n") for m in members) + "\n"


def _init_and_factory(names: Names) -> str:
    return (
        f"    def __init__(self, settings: {names.settings_class}, data_dir: Path) -> None:\n"
        "        self.settings = settings\n"
        "        self.data_dir = data_dir\n"
        "\n"
        "    @classmethod\n"
        f"    def from_context(cls, context: ProviderContext) -> {names.class_name}:\n"
        '        """The factory the plugin registers; Salon calls it once at start-up.\n\n'
        "        Raise ConfigurationError for settings that cannot work: Salon prints it, naming\n"
        '        the provider and the plugin, and does not start."""\n'
        f"        settings = context.settings_as({names.settings_class})\n"
        "        return cls(settings, Path(context.data_dir))\n"
    )


def _method(
    proto: str, class_name: str, attr: str, function: Callable[..., object]
) -> tuple[str, set[str]]:
    signature = inspect.signature(function)
    params, words = _parameters(signature)
    returns = signature.return_annotation
    returns_text = returns if isinstance(returns, str) else "None"
    words |= _identifiers(returns_text)
    is_async = inspect.iscoroutinefunction(function)
    generator = not is_async and returns_text.startswith("AsyncIterator")
    prefix = "async def" if (is_async or generator) else "def"
    key = f"{proto}.{attr}"
    doc = inspect.getdoc(function)
    lines = [f"    {prefix} {attr}({params}) -> {returns_text}:"]
    if len(lines[0]) > 99:  # one parameter per line, as ruff format would write it
        split = ",\n".join(f"        {p}" for p in params.split(", "))
        lines = [f"    {prefix} {attr}(\n{split},\n    ) -> {returns_text}:"]
    if doc:
        lines.append(f'        """{doc}"""')
    if key in WORKING_BODIES:
        lines.extend(f"        {line}" for line in WORKING_BODIES[key].split("\n"))
    else:
        hint = HINTS.get(key, "see docs/plugins.md")
        lines.append("        raise NotImplementedError(")
        lines.append(f'            "{class_name}.{attr} is not written yet: "')
        message = f"{hint}. See {proto} in docs/plugins.md"
        lines.extend(f'            "{chunk}"' for chunk in _wrap(message))
        lines.append("        )")
        if generator:
            lines.append("        yield  # unreachable; makes this an async generator, as required")
    return "\n".join(lines) + "\n", words


def _wrap(text: str, width: int = 70) -> list[str]:
    chunks: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and len(line) + len(word) + 1 > width:
            chunks.append(line + " ")
            line = word
        else:
            line = f"{line} {word}" if line else word
    chunks.append(line)
    return chunks


def _parameters(signature: inspect.Signature) -> tuple[str, set[str]]:
    parts: list[str] = []
    words: set[str] = set()
    star_done = False
    for param in signature.parameters.values():
        if param.kind is inspect.Parameter.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        text = param.name
        if isinstance(param.annotation, str):
            text += f": {param.annotation}"
            words |= _identifiers(param.annotation)
        if param.default is not inspect.Parameter.empty:
            default = param.default
            text += f" = {_default_text(default)}"
        parts.append(text)
    return ", ".join(parts), words


def _default_text(value: object) -> str:
    # 1 << 16 reads better than 65536 for chunk sizes, which is what the Protocol wrote.
    if isinstance(value, int) and value > 1024 and value & (value - 1) == 0:
        return f"1 << {value.bit_length() - 1}"
    return repr(value)


def _identifiers(annotation: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", annotation))


def _module_head(kind: str, names: Names, used: set[str]) -> str:
    spec = KINDS[kind]
    abc = sorted(w for w in used if w in _ABC)
    salon_names = sorted(w for w in used if w in providers.__all__ and w != "StorageError")
    imports = ["from __future__ import annotations", ""]
    if "dt" in used:
        imports.append("import datetime as dt")
    if abc:
        imports.append(f"from collections.abc import {', '.join(abc)}")
    imports.append("from pathlib import Path")
    if "Any" in used:
        imports.append("from typing import Any")
    imports.append("")
    if "StorageError" in used:
        imports.append("from salon.errors import StorageError")
    imports += [
        f"from salon.providers import {', '.join(salon_names)}",
        "",
        f"from {names.package}.settings import {names.settings_class}",
        "",
        f'__all__ = ["{names.class_name}"]',
        "",
        "",
        "",
    ]
    doc = (
        f'"""{names.class_name}: the {spec.title} ``{names.provider_name}``.\n\n'
        f"Every method is a stub that says what it must do; write them until the contract suite\n"
        f"(``salon.testing.{spec.contract}``) passes. Salon talks to this class only through\n"
        f"the ``{spec.protocol.__name__}`` Protocol in :mod:`salon.providers`.\n"
        '"""\n\n'
    )
    head = "\n".join(imports)
    return (
        doc
        + head
        + f"class {names.class_name}:\n"
        + f'    """A :class:`salon.providers.{spec.protocol.__name__}`."""\n\n'
    )
