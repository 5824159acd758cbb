"""The built-in ``console`` mail sender against the MailSender contract: what it "delivers" is
the WARNING line it logs, read back from the log records (the operator's copy)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from salon.defaults.console_mail import ConsoleMail
from salon.providers import MailMessage
from salon.testing import Delivered, MailSenderContract


class TestConsoleMail(MailSenderContract):
    @pytest.fixture
    def mail_sender(self) -> ConsoleMail:
        return ConsoleMail()

    @pytest.fixture
    def delivered(self, caplog: pytest.LogCaptureFixture) -> Delivered:
        def logged() -> Sequence[MailMessage]:
            records = [r for r in caplog.records if r.name == "salon.mail.console"]
            return [MailMessage(*map(str, r.args or ())) for r in records]

        return logged

    @pytest.fixture
    def failing_mail_sender(self) -> ConsoleMail:
        pytest.skip("the console sender only logs: it has no delivery that can fail")
