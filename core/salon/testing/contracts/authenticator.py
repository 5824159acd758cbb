"""The RequestAuthenticator contract suite.

Subclass :class:`RequestAuthenticatorContract` in a test module (the class name must start with
``Test``), supply the authenticator, a way to make credentials it accepts and the credentials
of its kind it must refuse, and name the kinds of request in :data:`FOREIGN_REQUESTS` that are
its own (``claims``)::

    from salon.testing import Credentials, RequestAuthenticatorContract

    class TestHtpasswd(RequestAuthenticatorContract):
        claims = ("basic",)  # HTTP Basic is ours: not declined, refused when wrong

        @pytest.fixture
        def authenticator(self, tmp_path):
            return HtpasswdAuthenticator(tmp_path / "htpasswd")

        @pytest.fixture
        def make_credentials(self, tmp_path):
            async def make() -> Credentials:
                name, password = f"u{uuid.uuid4().hex[:8]}", secrets.token_urlsafe()
                ...  # add the user to the file
                return Credentials(basic(name, password), Identity(name), (password,))
            return make

        @pytest.fixture
        def bad_credentials(self):
            async def bad(good: Credentials) -> list[Credentials]:
                # wrong password of good's user, an unknown user, malformed values
                ...
            return bad

What is checked (the core relies on each):

- ``authenticate_request`` takes only ``headers``: a request body is out of reach by design;
  ``provider`` is a non-empty name and ``challenge`` is ``None`` or one header line;
- the credentials ``make_credentials`` returns prove exactly their ``identity`` (subject,
  e-mail, provider, read_only), two principals are never mixed up, and asking again gives the
  same answer;
- every request of :data:`FOREIGN_REQUESTS` not in ``claims`` is declined with ``None`` (the
  chain goes on). The configured auth provider's Bearer tokens, JWT or opaque, and its session
  cookie can never be claimed: the provider reads them after the chain;
- each of ``bad_credentials(good)`` (asked after ``good`` was accepted, so a cache keyed by user
  name alone is caught) raises :class:`~salon.errors.InvalidToken`, never ``None``, an identity
  or a library's exception; no error message, nor an exception a traceback of it shows,
  contains a secret (the ``secrets`` of the credentials, or the credential part of a header);
- the ``cookie`` header is never read, whatever the request;
- concurrent requests of several principals, foreign and bad ones among them, each get their
  own answer (no per-request state kept on the authenticator across an ``await``);
- with ``enumeration_pair`` (an unknown principal's credentials and a known principal's with a
  wrong secret), both are refused in comparable time: a comparison that returns early for an
  unknown name tells an attacker which names exist. Python cannot time the comparison of two
  secrets itself reliably; compare them with ``hmac.compare_digest`` or a password hasher's
  ``verify``, as the guide says. Authenticators of random keys, with no names to guess, leave
  the fixture out and the test skips, saying so.

The tests are ``async`` and expect pytest-asyncio in auto mode (``asyncio_mode = "auto"``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Final

import pytest

from salon.errors import InvalidToken
from salon.providers import Identity, RequestAuthenticator
from salon.testing.contracts.mail import error_texts

__all__ = [
    "CORE_CREDENTIALS",
    "FOREIGN_REQUESTS",
    "BadCredentials",
    "Credentials",
    "MakeCredentials",
    "RecordingHeaders",
    "RequestAuthenticatorContract",
]


@dataclass(frozen=True, slots=True)
class Credentials:
    """Request headers and what they prove: ``identity``, or ``None`` for credentials that must
    be refused. ``secrets`` (a password, a key) must never appear in an error message."""

    headers: Mapping[str, str]
    identity: Identity | None = None
    secrets: tuple[str, ...] = field(default=())


MakeCredentials = Callable[[], Awaitable[Credentials]]
"""The ``make_credentials`` fixture's type: credentials of a new principal (user, key)."""

BadCredentials = Callable[[Credentials], Awaitable[Sequence[Credentials]]]
"""The ``bad_credentials`` fixture's type: given accepted credentials, ones of the same kind
that must be refused (that principal's wrong secret, an unknown principal, malformed values)."""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _jwt() -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    claims = base64.urlsafe_b64encode(b'{"sub":"42","exp":4102444800}').rstrip(b"=").decode()
    return f"{header}.{claims}.{secrets.token_urlsafe(32)}"


FOREIGN_REQUESTS: Final[Mapping[str, Mapping[str, str]]] = {
    "anonymous": {},
    "browser": {
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0",
        "accept": "text/html,application/json",
        "accept-language": "fr-FR,fr;q=0.9",
        "origin": "https://photos.example.com",
        "referer": "https://photos.example.com/albums",
        "content-type": "multipart/form-data; boundary=x",
        "content-length": "1048576",
    },
    "session_cookie": {"cookie": f"salon_access={_jwt()}; salon_refresh=r-{secrets.token_hex()}"},
    "core_bearer": {"authorization": f"Bearer {_jwt()}"},
    "opaque_bearer": {"authorization": f"Bearer {secrets.token_hex(32)}"},
    "salon_key": {"authorization": f"Bearer salon_{secrets.token_urlsafe(32)}"},
    "basic": {"authorization": f"Basic {_b64('someone:not-the-password')}"},
    "digest": {"authorization": 'Digest username="someone", realm="x", nonce="n", response="0"'},
    "api_key_header": {"x-api-key": secrets.token_hex(20)},
}
"""Requests no authenticator should answer, unless it names them in ``claims`` (its kind)."""

CORE_CREDENTIALS: Final = frozenset({"session_cookie", "core_bearer", "opaque_bearer"})
"""What the configured auth provider reads after the chain: never claimable."""

TIMING_RATIO: Final = 4.0  # median unknown vs wrong-secret refusal time, either way round
TIMING_FLOOR: Final = 0.002  # seconds: closer than this is equal whatever the ratio
TIMING_ROUNDS: Final = 7


class RecordingHeaders(Mapping[str, str]):
    """Case-insensitive request headers that remember which ones had their value read."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._items = {name.lower(): value for name, value in headers.items()}
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        key = name.lower()
        self.read.add(key)
        return self._items[key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def _credential_parts(headers: Mapping[str, str]) -> list[str]:
    """The secret-looking part of each header value (after an auth scheme)."""
    parts = [value.partition(" ")[2] or value for value in headers.values()]
    return [part.strip() for part in parts if len(part.strip()) >= 8]


class RequestAuthenticatorContract:
    """Mix into a test class and provide ``authenticator``, ``make_credentials`` and
    ``bad_credentials`` (see the module docstring)."""

    pytestmark = pytest.mark.asyncio

    claims: ClassVar[Collection[str]] = ()
    """Names in FOREIGN_REQUESTS of this authenticator's kind: not declined (for HTTP Basic:
    ``("basic",)``). Give bad ones of that kind in ``bad_credentials``."""

    # -------------------------------------------------------------- fixtures to supply

    @pytest.fixture
    def authenticator(self) -> RequestAuthenticator:
        raise NotImplementedError("supply an `authenticator` fixture in your subclass")

    @pytest.fixture
    def make_credentials(self) -> MakeCredentials:
        raise NotImplementedError("supply a `make_credentials` fixture in your subclass")

    @pytest.fixture
    def bad_credentials(self) -> BadCredentials:
        raise NotImplementedError("supply a `bad_credentials` fixture in your subclass")

    @pytest.fixture
    def enumeration_pair(self) -> tuple[Credentials, Credentials]:
        """Override: (an unknown principal's credentials, a known one's with a wrong secret)."""
        pytest.skip(
            "no enumeration_pair fixture given: unknown-vs-wrong-secret timing not checked "
            "(authenticators of random keys have no names to enumerate)"
        )

    # ------------------------------------------------------------------ helpers

    @staticmethod
    async def _refused(authenticator: RequestAuthenticator, bad: Credentials) -> str:
        """Check that ``bad`` is refused as documented; returns the error's texts."""
        headers = RecordingHeaders(bad.headers)
        try:
            answer = await authenticator.authenticate_request(headers)
        except InvalidToken as exc:
            return error_texts(exc)
        except Exception as exc:
            pytest.fail(f"{dict(bad.headers)} raised {error_texts(exc)}, not InvalidToken")
        pytest.fail(f"{dict(bad.headers)} answered {answer!r}: raise InvalidToken")

    def _foreign(self) -> dict[str, Mapping[str, str]]:
        return {n: h for n, h in FOREIGN_REQUESTS.items() if n not in self.claims}

    # ------------------------------------------------------------------ tests

    async def test_is_a_request_authenticator(self, authenticator: RequestAuthenticator) -> None:
        assert isinstance(authenticator, RequestAuthenticator)
        assert isinstance(authenticator.provider, str) and authenticator.provider.strip()
        challenge = authenticator.challenge
        assert challenge is None or (
            isinstance(challenge, str)
            and challenge.strip()
            and challenge.isprintable()
            and challenge.isascii()
        ), f"challenge {challenge!r} is not one header line"
        parameters = list(inspect.signature(authenticator.authenticate_request).parameters)
        assert parameters == ["headers"], "authenticate_request sees the headers only"
        unknown = set(self.claims) - set(FOREIGN_REQUESTS)
        assert not unknown, f"claims names no request of FOREIGN_REQUESTS: {unknown}"
        core = set(self.claims) & CORE_CREDENTIALS
        assert not core, f"{core}: the auth provider's credentials cannot be claimed"

    async def test_own_credentials_prove_their_identity(
        self, authenticator: RequestAuthenticator, make_credentials: MakeCredentials
    ) -> None:
        first, second = await make_credentials(), await make_credentials()
        assert first.identity is not None and second.identity is not None
        assert first.identity != second.identity, "make_credentials made the same principal"
        for credentials in (first, second, first):  # first again: a cache keyed right
            answer = await authenticator.authenticate_request(RecordingHeaders(credentials.headers))
            assert answer == credentials.identity, f"{answer!r} != {credentials.identity!r}"

    async def test_declines_foreign_requests(self, authenticator: RequestAuthenticator) -> None:
        answers: dict[str, str] = {}
        for name, headers in self._foreign().items():
            try:
                answer = await authenticator.authenticate_request(RecordingHeaders(headers))
            except Exception as exc:
                answers[name] = f"raised {type(exc).__name__}: {exc}"
                continue
            if answer is not None:
                answers[name] = f"answered {answer!r}"
        assert not answers, f"not declined (return None so the chain goes on): {answers}"

    async def test_refuses_bad_credentials_of_its_kind(
        self,
        authenticator: RequestAuthenticator,
        make_credentials: MakeCredentials,
        bad_credentials: BadCredentials,
    ) -> None:
        good = await make_credentials()
        assert await authenticator.authenticate_request(RecordingHeaders(good.headers))
        refused = list(await bad_credentials(good))
        assert refused, "bad_credentials returned none to check"
        for bad in refused:
            assert bad.identity is None, "bad credentials prove no identity"
            texts = await self._refused(authenticator, bad)
            for secret in (*good.secrets, *bad.secrets, *_credential_parts(bad.headers)):
                assert secret not in texts, f"a secret leaked into: {texts}"
        # Still accepted after the refusals (nothing locked or cached wrongly).
        answer = await authenticator.authenticate_request(RecordingHeaders(good.headers))
        assert answer == good.identity

    async def test_never_reads_cookies(
        self,
        authenticator: RequestAuthenticator,
        make_credentials: MakeCredentials,
        bad_credentials: BadCredentials,
    ) -> None:
        cookie = {"cookie": f"salon_access={_jwt()}; theme=dark"}
        good = await make_credentials()
        requests = [{**good.headers, **cookie}]
        requests += [{**bad.headers, **cookie} for bad in await bad_credentials(good)]
        requests += [{**headers, **cookie} for headers in self._foreign().values()]
        for request in requests:
            headers = RecordingHeaders(request)
            with contextlib.suppress(InvalidToken):
                await authenticator.authenticate_request(headers)
            assert "cookie" not in headers.read, f"the cookie was read for {request}"

    async def test_concurrent_requests_get_their_own_answers(
        self,
        authenticator: RequestAuthenticator,
        make_credentials: MakeCredentials,
        bad_credentials: BadCredentials,
    ) -> None:
        principals = [await make_credentials() for _ in range(3)]
        bad = (await bad_credentials(principals[0]))[0]
        cases: list[tuple[Mapping[str, str], Identity | type[InvalidToken] | None]] = []
        for _ in range(3):
            cases += [(p.headers, p.identity) for p in principals]
            cases += [(h, None) for h in self._foreign().values()]
            cases.append((bad.headers, InvalidToken))
        answers = await asyncio.gather(
            *(authenticator.authenticate_request(RecordingHeaders(h)) for h, _ in cases),
            return_exceptions=True,
        )
        for (headers, wanted), answer in zip(cases, answers, strict=True):
            if wanted is InvalidToken:
                assert isinstance(answer, InvalidToken), f"{dict(headers)}: {answer!r}"
            else:
                assert answer == wanted, f"{dict(headers)}: {answer!r} != {wanted!r}"

    async def test_unknown_principal_costs_as_long_as_wrong_secret(
        self,
        authenticator: RequestAuthenticator,
        enumeration_pair: tuple[Credentials, Credentials],
    ) -> None:
        unknown, wrong = enumeration_pair
        timings: dict[str, list[float]] = {"unknown": [], "wrong": []}
        for round_ in range(TIMING_ROUNDS + 1):
            for name, credentials in (("unknown", unknown), ("wrong", wrong)):
                started = time.perf_counter()
                await self._refused(authenticator, credentials)
                if round_:  # the first round warms caches and threads up
                    timings[name].append(time.perf_counter() - started)
        slow, fast = sorted(statistics.median(t) for t in timings.values())[::-1]
        assert slow - fast < TIMING_FLOOR or slow <= fast * TIMING_RATIO, (
            f"an unknown principal is refused in {statistics.median(timings['unknown']):.4f} s, "
            f"a wrong secret in {statistics.median(timings['wrong']):.4f} s: "
            "check a dummy secret for unknown names"
        )
