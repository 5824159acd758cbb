"""The MailSender contract suite has teeth: a correct in-memory sender passes every test, and
each deliberately broken sender (swallowed failures, a library's own error, a leaked reset
link or password, lost or mixed concurrent sends, a duplicate, a mangled subject, a readiness
check that sends mail) is caught by the test named for it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from contract_support import failures
from salon.errors import ConfigurationError, ProviderError
from salon.providers import MailMessage
from salon.testing import MailSenderContract

PASSWORD = "smtp-pass-Zq81"  # the failing sender's made-up login


class Outbox:
    """A correct sender that "delivers" into ``inbox``; subclasses break one rule each."""

    def __init__(self) -> None:
        self.inbox: list[MailMessage] = []

    async def send(self, message: MailMessage) -> None:
        await asyncio.sleep(0)  # a real sender awaits I/O here
        self.inbox.append(message)

    async def check(self) -> None:
        return None


class Down(Outbox):
    """Correct failure: the server cannot be reached."""

    async def send(self, message: MailMessage) -> None:
        try:
            raise ConnectionRefusedError(f"connect to smtp.example.com as mailer:{PASSWORD}")
        except OSError:
            raise ProviderError("mail server smtp.example.com unreachable") from None

    async def check(self) -> None:
        raise ConfigurationError("mail server smtp.example.com unreachable")


class Swallows(Down):
    async def send(self, message: MailMessage) -> None:
        return None  # "best effort": the user never gets the link, nobody is told


class LibraryError(Down):
    async def send(self, message: MailMessage) -> None:
        raise ConnectionRefusedError("connect to smtp.example.com")


class LeaksLink(Down):
    async def send(self, message: MailMessage) -> None:
        raise ProviderError(f"could not send {message.text!r}")


class LeaksPassword(Down):
    async def send(self, message: MailMessage) -> None:
        try:
            raise ConnectionRefusedError(f"login mailer:{PASSWORD} refused")
        except OSError as exc:
            raise ProviderError("mail server refused the login") from exc


class CheckNotConfiguration(Down):
    async def check(self) -> None:
        raise ProviderError("down")


class SharedDraft(Outbox):
    """One draft shared by every send: concurrent sends overwrite each other's message."""

    draft: MailMessage | None = None

    async def send(self, message: MailMessage) -> None:
        self.draft = message
        await asyncio.sleep(0.01)
        assert self.draft is not None
        self.inbox.append(self.draft)


class DropsWhenBusy(Outbox):
    busy = False

    async def send(self, message: MailMessage) -> None:
        if self.busy:
            return None
        self.busy = True
        await asyncio.sleep(0.01)
        self.inbox.append(message)
        self.busy = False


class SendsTwice(Outbox):
    async def send(self, message: MailMessage) -> None:
        await super().send(message)
        await super().send(message)  # a retry after a success


class AsciiOnly(Outbox):
    async def send(self, message: MailMessage) -> None:
        subject = message.subject.encode("ascii", "replace").decode()
        await super().send(MailMessage(message.to, subject, message.text))


class CheckSendsMail(Outbox):
    async def check(self) -> None:
        await self.send(MailMessage("postmaster@example.com", "readiness", "ok"))


class Kit(MailSenderContract):
    pass


async def run(sender: Outbox, failing: Outbox) -> dict[str, str]:
    return await failures(
        Kit,
        {
            "mail_sender": sender,
            "delivered": lambda: sender.inbox,
            "failing_mail_sender": failing,
            "mail_secrets": [PASSWORD],
        },
    )


async def test_a_correct_sender_passes_every_test() -> None:
    assert await run(Outbox(), Down()) == {}


async def test_an_async_delivered_function_is_awaited() -> None:
    sender = Outbox()

    async def delivered() -> Sequence[MailMessage]:
        return sender.inbox

    assert await failures(Kit, {"mail_sender": sender, "delivered": delivered}) == {}


@pytest.mark.parametrize(
    ("sender", "failing", "caught_by", "says"),
    [
        (Outbox(), Swallows(), "test_failure_is_a_provider_error_without_secrets", "DID NOT"),
        (Outbox(), LibraryError(), "test_failure_is_a_provider_error_without_secrets", "Conn"),
        (Outbox(), LeaksLink(), "test_failure_is_a_provider_error_without_secrets", "code"),
        (Outbox(), LeaksPassword(), "test_failure_is_a_provider_error_without_secrets", "secret"),
        (Outbox(), CheckNotConfiguration(), "test_failure_is_a_provider_error_without_secrets", ""),
        (SharedDraft(), Down(), "test_concurrent_sends_each_arrive_once_unmixed", "concurrent"),
        (DropsWhenBusy(), Down(), "test_concurrent_sends_each_arrive_once_unmixed", "1 of 12"),
        (SendsTwice(), Down(), "test_delivers_one_message_intact", "once, unchanged"),
        (AsciiOnly(), Down(), "test_delivers_one_message_intact", "once, unchanged"),
        (CheckSendsMail(), Down(), "test_is_a_mail_sender", "check() sent"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Outbox) else None,
)
async def test_a_broken_sender_is_caught(
    sender: Outbox, failing: Outbox, caught_by: str, says: str
) -> None:
    failed = await run(sender, failing)
    assert caught_by in failed, f"not caught; failed: {failed}"
    assert says in failed[caught_by]
