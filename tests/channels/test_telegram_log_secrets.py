"""No configured secret reaches a log: real Telegram traffic (webhook set-up, replies, a
refused send, an outbox pass) with httpx, httpcore and telegram logging at DEBUG,
captured on the root logger and on every logger that keeps its own handlers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.core import people, tickets
from bot.core.tickets import Actor
from bot.runtime import Helpdesk, build, load_samples
from storage.db import session_scope
from tests.channels.fake_telegram import FakeBotApi, Updates
from tests.channels.telegram_harness import BotUnderTest

BUDI = Updates.user(1001, "Budi", "Santoso")
CHATTY = ("httpx", "httpcore", "telegram", "aiohttp", "uvicorn", "uvicorn.error", "uvicorn.access")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    fake = FakeBotApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def secret_settings(settings: Settings, api: FakeBotApi) -> Settings:
    """Every secret the product knows, set (the Telegram ones are what the harness uses)."""
    return settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(api.token),
            "telegram_webhook_secret": SecretStr(BotUnderTest.SECRET),
            "slack_bot_token": SecretStr("xoxb-1111-2222-aBcDeFgHiJkLmNoP"),
            "slack_signing_secret": SecretStr("0123456789abcdef0123456789abcdef"),
            "slack_app_token": SecretStr("xapp-1-A111-2222-qrstuvwxyz"),
            "alertmanager_token": SecretStr("am-bearer-Zx9-secret"),
        }
    )


@pytest.fixture
def secret_helpdesk(secret_settings: Settings, engine: Engine) -> Helpdesk:
    load_samples(secret_settings, engine)
    return build(secret_settings, upgrade=False, engine=engine)


@pytest.fixture
def capture() -> Iterator[Capture]:
    """The library loggers at DEBUG for the test, put back after it."""
    levels = {name: logging.getLogger(name).level for name in CHATTY}
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield Capture()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def attach(handler: Capture) -> None:
    """On the root logger and on each logger that does not propagate (uvicorn's), once
    the app is configured: uvicorn sets its own loggers' handlers and levels then."""
    logging.getLogger().addHandler(handler)
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger) and not logger.propagate:
            logger.addHandler(handler)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.DEBUG)


def detach(handler: Capture) -> None:
    for logger in [logging.getLogger(), *logging.root.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger):
            logger.removeHandler(handler)


def test_no_secret_in_any_log_record(
    secret_helpdesk: Helpdesk, secret_settings: Settings, api: FakeBotApi, capture: Capture
) -> None:
    bot = BotUnderTest(secret_helpdesk, api)
    attach(capture)
    try:
        with bot:
            bot.send(Updates().text(BUDI, "/mulai"))
            bot.send(Updates(start=50).text(BUDI, "/bantuan"))
            # a refused send and an outbox pass: the error paths log too
            with session_scope(secret_helpdesk.engine) as s:
                reporter = people.ensure_person(s, "telegram", "1001", "Budi")
                ticket = tickets.open_ticket(
                    s,
                    type_="permintaan",
                    title="Minta akun VPN",
                    service_id="vpn",
                    reporter=reporter,
                    channel="telegram",
                    chat_id="1001",
                )
                operator = people.find_person(s, "fajar.nugroho@kementerian.go.id")
                tickets.take(s, ticket, Actor(operator, "console"))
            api.fail("sendMessage", 403, count=100, chat_id=1001)
            bot.deliver()
            assert bot.errors == []
    finally:
        detach(capture)

    assert api.sent(1001), "no traffic: the test would prove nothing"
    secrets = [
        getattr(secret_settings, name).get_secret_value()
        for name in type(secret_settings).model_fields
        if isinstance(getattr(secret_settings, name), SecretStr)
    ]
    assert api.token in secrets and len(secrets) == 6
    forms = {f for s in secrets for f in (s, quote(s, safe=""), f"bot{s}")}
    leaks = [
        (form, line)
        for record, line in zip(capture.records, capture.lines, strict=True)
        for form in forms
        if form in record.getMessage() or form in line
    ]
    assert leaks == []
    # the Bot API calls were logged (httpx at INFO), with the token hidden
    calls = [line for line in capture.lines if "/sendMessage" in line and " httpx: " in line]
    assert calls and all("/bot[redacted]/sendMessage" in line for line in calls)
    assert any(
        "Set Bot API URL: " in line and line.endswith("/bot[redacted]") for line in capture.lines
    )
    # uvicorn's access log (its own handler, no propagation) was captured and stays readable
    assert any(
        " uvicorn.access: " in line and "POST /telegram/webhook" in line for line in capture.lines
    )


def test_load_settings_installs_the_filter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`helpdesk run` and every other command: logging is configured with the filter."""
    from bot.cli._boot import load_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "555666:cli-TOKEN_only-in-env")
    load_settings()
    handler = Capture()
    logging.getLogger().addHandler(handler)
    try:
        logging.getLogger("httpx").warning(
            "POST %s", "https://x/bot555666:cli-TOKEN_only-in-env/getMe"
        )
    finally:
        logging.getLogger().removeHandler(handler)
    assert handler.lines and "555666:cli-TOKEN_only-in-env" not in handler.lines[0]
