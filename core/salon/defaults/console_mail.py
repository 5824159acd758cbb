"""Built-in mail sender ``console``: writes each message to the log instead of sending it.

Embedded mode has no mail server, so a password reset link is logged (logger
``salon.mail.console``, level WARNING so it shows with the default settings) for the operator
to pass on. Messages never contain a password, only links. Select a real sender from a plugin
with ``SALON_MAIL``.
"""

from __future__ import annotations

import logging
from typing import Any

from salon import hookimpl
from salon.providers import MailMessage, ProviderContext

__all__ = ["ConsoleMail"]

log = logging.getLogger("salon.mail.console")


class ConsoleMail:
    """The ``console`` :class:`~salon.providers.MailSender`; keeps the last messages for tests."""

    def __init__(self, *, keep: int = 20) -> None:
        self.sent: list[MailMessage] = []
        self._keep = keep

    @classmethod
    def from_context(cls, _ctx: ProviderContext) -> ConsoleMail:
        return cls()

    async def send(self, message: MailMessage) -> None:
        log.warning(
            "mail not sent (SALON_MAIL=console) to %s: %s\n%s",
            message.to,
            message.subject,
            message.text,
        )
        self.sent = [*self.sent[-(self._keep - 1) :], message]

    async def check(self) -> None:
        """Always ready."""


@hookimpl
def register_mail_senders(register: Any) -> None:
    """Offer the log-only sender as ``console`` (the default ``SALON_MAIL``)."""
    register("console", ConsoleMail.from_context)
