"""The provider roles, in one table: what each is called, the Protocol its providers implement
(:mod:`salon.providers`), the hook that offers them (:mod:`salon.hookspecs`), the core setting
that selects them and the contract suite that checks them (:mod:`salon.testing`).

``salon plugins``, ``salon new-plugin``, plugin loading (:mod:`salon.plugins`) and
``build_runtime`` all read this table, so a new role is added here once. A test fails when a
registration hook offering provider factories is missing here, or this table names a hook,
Protocol, setting or contract suite that does not exist.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Generic, TypeVar, cast

from salon import providers

if TYPE_CHECKING:
    from collections.abc import Mapping

    from salon.settings import CoreSettings

__all__ = [
    "AUTH",
    "AUTHENTICATOR",
    "MAIL",
    "MEDIA",
    "QUEUE",
    "ROLES",
    "SOURCE",
    "STORAGE",
    "Kind",
    "Role",
    "Selection",
    "by_name",
    "kinds",
]


# What a role's factories build: its Protocol (or, with variants, any of its Protocols).
Built = TypeVar("Built", covariant=True)


class Selection(enum.Enum):
    """How the settings choose among what the plugins offer for a role."""

    ONE = "one"  # the setting names one offer (SALON_STORAGE=local)
    STACK = "stack"  # the setting names several, in order (SALON_MEDIA=pillow,avif_phash)
    EVERY = "every"  # every offer is started; one whose factory raises is left out and logged
    CHAIN = "chain"  # every offer is started, in hook order; one that raises stops start-up


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of provider a plugin can be written for (``salon new-plugin --kind``): a role's
    main Protocol, or a variant offered through the same hook (stacked media processors)."""

    name: str
    title: str  # "storage backend": how docs and messages call one provider
    protocol: type
    contract: str | None  # the contract suite's class name in salon.testing; None: none yet


@dataclass(frozen=True, slots=True)
class Role(Generic[Built]):
    """A role providers play. ``name`` keys the registry and starts messages ("storage").

    ``Role[StorageBackend]`` builds storage backends: each table entry below is declared with
    the Protocol(s) its factories return, which :meth:`accepts` checks at run time.
    """

    name: str
    title: str
    # ``type``, not ``type[Built]``: mypy refuses a Protocol class where type[X] is expected.
    protocol: type
    hook: str
    selection: Selection
    setting: str | None = None  # the CoreSettings field that selects (ONE, STACK)
    contract: str | None = None
    traced: tuple[str, ...] = ()  # methods timed when SALON_TRACE_PLUGINS is on
    variants: tuple[Kind, ...] = ()  # other Protocols the same hook's factories may return

    @property
    def variable(self) -> str | None:
        """The environment variable of ``setting`` (``SALON_STORAGE``)."""
        return f"SALON_{self.setting.upper()}" if self.setting else None

    @property
    def label(self) -> str:
        """What one provider is called in start-up errors ("storage provider")."""
        return self.name if self.selection is Selection.CHAIN else f"{self.name} provider"

    @property
    def protocols(self) -> tuple[type, ...]:
        return (self.protocol, *(variant.protocol for variant in self.variants))

    def accepts(self, provider: object) -> Built | None:
        """``provider`` as this role's type when it implements one of :attr:`protocols`
        (isinstance on the runtime-checkable Protocols: its methods and attributes are
        there), else None."""
        if isinstance(provider, self.protocols):
            return cast("Built", provider)
        return None

    def selected(self, core: CoreSettings) -> tuple[str, ...] | None:
        """The names the settings select, in order; None when every offer is used."""
        if self.setting is None:
            return None
        value: str = getattr(core, self.setting)
        if self.selection is Selection.STACK:
            return tuple(name.strip() for name in value.split(","))
        return (value,)

    def kind(self) -> Kind:
        return Kind(self.name, self.title, self.protocol, self.contract)


STORAGE: Final[Role[providers.StorageBackend]] = Role(
    "storage",
    "storage backend",
    providers.StorageBackend,
    "register_storage_backends",
    Selection.ONE,
    setting="storage",
    contract="StorageContract",
    traced=("put",),
)
AUTH: Final[Role[providers.AuthProvider]] = Role(
    "auth",
    "auth provider",
    providers.AuthProvider,
    "register_auth_providers",
    Selection.ONE,
    setting="auth",
    contract="AuthProviderContract",
)
MEDIA: Final[Role[providers.MediaProcessor | providers.StackedMediaProcessor]] = Role(
    "media",
    "media processor",
    providers.MediaProcessor,
    "register_media_processors",
    Selection.STACK,
    setting="media",
    contract="MediaProcessorContract",
    traced=("process", "add"),
    variants=(
        Kind(
            "stacked",
            "stacked media processor",
            providers.StackedMediaProcessor,
            "StackedMediaProcessorContract",
        ),
    ),
)
SOURCE: Final[Role[providers.ImageSource]] = Role(
    "source",
    "image source",
    providers.ImageSource,
    "register_image_sources",
    Selection.EVERY,
    contract="ImageSourceContract",
    traced=("entries",),
)
QUEUE: Final[Role[providers.JobQueue]] = Role(
    "queue",
    "job queue",
    providers.JobQueue,
    "register_job_queues",
    Selection.ONE,
    setting="queue",
    contract="JobQueueContract",
)
MAIL: Final[Role[providers.MailSender]] = Role(
    "mail",
    "mail sender",
    providers.MailSender,
    "register_mail_senders",
    Selection.ONE,
    setting="mail",
    contract="MailSenderContract",
)
AUTHENTICATOR: Final[Role[providers.RequestAuthenticator]] = Role(
    "authenticator",
    "request authenticator",
    providers.RequestAuthenticator,
    "register_request_authenticators",
    Selection.CHAIN,
    contract="RequestAuthenticatorContract",
)

ROLES: Final[tuple[Role[object], ...]] = (STORAGE, AUTH, MEDIA, SOURCE, QUEUE, MAIL, AUTHENTICATOR)


def by_name(name: str) -> Role[object]:
    for role in ROLES:
        if role.name == name:
            return role
    raise KeyError(name)


def kinds() -> Mapping[str, tuple[Role[object], Kind]]:
    """Every kind ``salon new-plugin`` can write: each role and variant with a contract suite
    (a skeleton is finished when its suite passes), in table order."""
    out: dict[str, tuple[Role[object], Kind]] = {}
    for role in ROLES:
        for kind in (role.kind(), *role.variants):
            if kind.contract is not None:
                out[kind.name] = (role, kind)
    return out
