"""The MailSender contract suite.

Subclass :class:`MailSenderContract` in a test module (the class name must start with ``Test``)
and supply a ``mail_sender`` fixture and a ``delivered`` fixture that lists what it delivered::

    from salon.testing import MailSenderContract

    class TestSmtpMail(MailSenderContract):
        @pytest.fixture
        def mail_sender(self, smtp_server):
            return SmtpMail(host="127.0.0.1", port=smtp_server.port)

        @pytest.fixture
        def delivered(self, smtp_server):
            # what reached the mailbox, as MailMessage(to, subject, text)
            inbox = smtp_server.inbox
            return lambda: [MailMessage(m["To"], m["Subject"], m.get_content()) for m in inbox]

        @pytest.fixture
        def failing_mail_sender(self):
            return SmtpMail(host="127.0.0.1", port=1, password="s3cret-pass")  # optional

        @pytest.fixture
        def mail_secrets(self):
            return ["s3cret-pass"]  # optional: never in an error message

``delivered`` may be a plain or an ``async`` function. What is checked (the core relies on each):

- ``send`` delivers one message exactly once, with ``to``, ``subject`` and ``text`` intact
  (non-ASCII, several lines, a long link; line endings may become CRLF and a final newline may
  be added);
- several messages, and many sent at once (``asyncio.gather``), each arrive exactly once and
  unmixed: a sender sharing one connection or buffer between sends fails here;
- ``check()`` of a working sender returns and sends nothing (readiness probes run every few
  seconds);
- with ``failing_mail_sender``, a sender of yours that cannot deliver (server down, refused
  login): ``send`` raises :class:`~salon.errors.ProviderError`, never a library's own exception
  and never ``None`` (a swallowed failure leaves a user waiting for a reset link nobody logs),
  and ``check()`` raises :class:`~salon.errors.ConfigurationError`. Neither error's message
  nor any exception it was raised ``from`` contains the message text (a reset link is a
  credential) or any of ``mail_secrets``. Without that fixture the test skips and says so.

The tests are ``async`` and expect pytest-asyncio in auto mode (``asyncio_mode = "auto"``).
"""

from __future__ import annotations

import asyncio
import inspect
import secrets
from collections.abc import Awaitable, Callable, Sequence

import pytest

from salon.errors import ConfigurationError, ProviderError
from salon.providers import MailMessage, MailSender

__all__ = ["Delivered", "MailSenderContract", "error_texts"]

Delivered = Callable[[], Sequence[MailMessage] | Awaitable[Sequence[MailMessage]]]
"""The ``delivered`` fixture's type: every message the sender has delivered so far."""

CONCURRENT_SENDS = 12


def _message(tag: str | None = None) -> MailMessage:
    """A message like the reset mail, with a secret-looking link and text that breaks naive
    encoders: non-ASCII, several lines, a line longer than 76 characters."""
    tag = tag or secrets.token_hex(6)
    token = secrets.token_urlsafe(48)
    text = (
        f"Bonjour Zoë ({tag}),\n\nOpen this link to choose a new password:\n\n"
        f"https://photos.example.com/reset#email=z%40example.com&code={token}\n\n"
        "It works once. — Salon ✓"
    )
    return MailMessage(to=f"zoe-{tag}@example.com", subject=f"Réinitialiser ({tag})", text=text)


def _normal(message: MailMessage) -> tuple[str, str, str]:
    """What must arrive unchanged: transports may write CRLF and add a final newline."""
    text = message.text.replace("\r\n", "\n").rstrip("\n")
    return (message.to.strip(), message.subject.strip(), text)


def error_texts(error: BaseException) -> str:
    """The messages of an error and of every exception a traceback of it shows (raised
    ``from`` or during; ``from None`` hides the one before, as in a traceback)."""
    seen: list[str] = []
    current: BaseException | None = error
    while current is not None and len(seen) < 10:
        seen.append(f"{type(current).__name__}: {current} {current!r}")
        hidden = current.__suppress_context__
        current = current.__cause__ or (None if hidden else current.__context__)
    return "\n".join(seen)


class MailSenderContract:
    """Mix into a test class and provide ``mail_sender`` and ``delivered`` (see the module
    docstring)."""

    pytestmark = pytest.mark.asyncio

    # -------------------------------------------------------------- fixtures to supply

    @pytest.fixture
    def mail_sender(self) -> MailSender:
        raise NotImplementedError("supply a `mail_sender` fixture in your subclass")

    @pytest.fixture
    def delivered(self) -> Delivered:
        raise NotImplementedError(
            "supply a `delivered` fixture: a function listing the messages delivered so far"
        )

    @pytest.fixture
    def failing_mail_sender(self) -> MailSender:
        """Override to check failures: a sender of yours that cannot deliver."""
        pytest.skip("no failing_mail_sender fixture given: failure errors not checked")

    @pytest.fixture
    def mail_secrets(self) -> Sequence[str]:
        """Override with the sender's secrets (an SMTP password, an API token)."""
        return ()

    # ------------------------------------------------------------------ helpers

    @staticmethod
    async def _delivered(delivered: Delivered) -> list[tuple[str, str, str]]:
        got = delivered()
        if inspect.isawaitable(got):
            got = await got
        assert not isinstance(got, (str, bytes)), "delivered() must return a list of messages"
        return [_normal(message) for message in got]

    # ------------------------------------------------------------------ tests

    async def test_is_a_mail_sender(self, mail_sender: MailSender, delivered: Delivered) -> None:
        assert isinstance(mail_sender, MailSender)
        before = await self._delivered(delivered)
        await mail_sender.check()
        assert await self._delivered(delivered) == before, "check() sent a message"

    async def test_delivers_one_message_intact(
        self, mail_sender: MailSender, delivered: Delivered
    ) -> None:
        before = await self._delivered(delivered)
        message = _message()
        await mail_sender.send(message)
        new = (await self._delivered(delivered))[len(before) :]
        assert new == [_normal(message)], "the message did not arrive once, unchanged"

    async def test_each_message_delivered_once(
        self, mail_sender: MailSender, delivered: Delivered
    ) -> None:
        before = await self._delivered(delivered)
        messages = [_message(f"seq{i}") for i in range(3)]
        for message in messages:
            await mail_sender.send(message)
        new = (await self._delivered(delivered))[len(before) :]
        assert sorted(new) == sorted(_normal(m) for m in messages)

    async def test_concurrent_sends_each_arrive_once_unmixed(
        self, mail_sender: MailSender, delivered: Delivered
    ) -> None:
        before = await self._delivered(delivered)
        messages = [_message(f"par{i}") for i in range(CONCURRENT_SENDS)]
        await asyncio.gather(*(mail_sender.send(message) for message in messages))
        new = (await self._delivered(delivered))[len(before) :]
        assert sorted(new) == sorted(_normal(m) for m in messages), (
            f"{len(new)} of {CONCURRENT_SENDS} concurrent messages arrived as sent"
        )

    async def test_failure_is_a_provider_error_without_secrets(
        self, failing_mail_sender: MailSender, mail_secrets: Sequence[str]
    ) -> None:
        message = _message()
        with pytest.raises(ProviderError) as sent:
            await failing_mail_sender.send(message)
        with pytest.raises(ConfigurationError) as checked:
            await failing_mail_sender.check()
        code = message.text.rsplit("code=", 1)[1].split()[0]
        for info in (sent, checked):
            texts = error_texts(info.value)
            assert code not in texts, f"the message's reset code leaked into: {texts}"
            for secret in mail_secrets:
                assert secret not in texts, f"a secret leaked into: {texts}"
