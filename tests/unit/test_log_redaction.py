"""The secret filter on real log records: arguments, %-formatting, exceptions, and loggers
that keep their own handlers (as uvicorn's do)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr

from bot import log_redaction
from bot.config import Settings

TOKEN = "987654:unit-TEST_token-for-redaction"
SLACK_SECRET = "8f2c9d1e0a7b6c5d4e3f2a1b0c9d8e7f"
DB_PASSWORD = "kata-sandi-rahasia"


class Capture(logging.Handler):
    """Keeps each record and its formatted text (message, exception, stack)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token=SecretStr(TOKEN),
        slack_signing_secret=SecretStr(SLACK_SECRET),
        database_url=f"postgresql+psycopg://helpdesk:{DB_PASSWORD}@db.example.go.id/helpdesk",
    )


@pytest.fixture
def captured(settings: Settings) -> Iterator[tuple[logging.Logger, Capture]]:
    """A logger that does not propagate and has its own handler, like uvicorn's."""
    log_redaction.install(settings)
    logger = logging.getLogger("tests.redaction.own")
    handler = Capture()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, handler
    logger.removeHandler(handler)


def assert_clean(handler: Capture) -> None:
    secrets = [TOKEN, quote(TOKEN, safe=""), SLACK_SECRET, DB_PASSWORD]
    for record, line in zip(handler.records, handler.lines, strict=True):
        for secret in secrets:
            assert secret not in record.getMessage() and secret not in line, line


def test_every_secret_field_is_found_from_the_model(settings: Settings) -> None:
    found = log_redaction.secrets_of(
        settings.model_copy(update={"alertmanager_token": SecretStr("am-token-xyz")})
    )
    assert set(found) == {TOKEN, SLACK_SECRET, DB_PASSWORD, "am-token-xyz"}


def test_arguments_are_redacted_in_place(captured: tuple[logging.Logger, Capture]) -> None:
    logger, handler = captured
    url = httpx.URL(f"http://127.0.0.1:8081/bot{TOKEN}/sendMessage")
    logger.info('HTTP Request: %s %s "%s %d %s"', "POST", url, "HTTP/1.1", 200, "OK")
    logger.debug("parameters %(params)s", {"params": {"secret_token": SLACK_SECRET}})
    assert_clean(handler)
    assert handler.records[0].getMessage() == (
        'HTTP Request: POST http://127.0.0.1:8081/bot[redacted]/sendMessage "HTTP/1.1 200 OK"'
    )
    # text arguments are redacted where they stand: uvicorn's access log unpacks `args`
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", f"/x?t={TOKEN}", "1.1", 200)
    assert handler.records[-1].args == ("127.0.0.1:5", "GET", "/x?t=[redacted]", "1.1", 200)
    assert_clean(handler)


def test_percent_formatting_cannot_smuggle_a_secret(
    captured: tuple[logging.Logger, Capture],
) -> None:
    logger, handler = captured
    logger.warning("split: %s%s", TOKEN[:6], TOKEN[6:])
    logger.warning("repr: %r", [TOKEN.encode()])
    logger.warning("quoted: %s", quote(TOKEN, safe=""))
    logger.warning(f"already formatted {DB_PASSWORD}")
    logger.warning("bad format %d", [TOKEN])
    assert_clean(handler)
    assert [r.getMessage() for r in handler.records] == [
        "split: [redacted]",
        "repr: [b'[redacted]']",
        "quoted: [redacted]",
        "already formatted [redacted]",
        "bad format %d (arguments: (['[redacted]'],))",
    ]


def test_exception_text_is_redacted(captured: tuple[logging.Logger, Capture]) -> None:
    logger, handler = captured
    try:
        raise RuntimeError(f"Client error '404' for url 'http://127.0.0.1:8081/bot{TOKEN}/getMe'")
    except RuntimeError:
        logger.exception("Bot API call failed")
    logger.info("with stack", stack_info=True)
    assert_clean(handler)
    assert (
        "RuntimeError: Client error '404' for url 'http://127.0.0.1:8081/bot[redacted]/getMe'"
        in handler.lines[0]
    )
    assert "Traceback (most recent call last)" in handler.lines[0]


def test_records_without_secrets_are_left_alone(
    captured: tuple[logging.Logger, Capture],
) -> None:
    logger, handler = captured
    url = httpx.URL("http://127.0.0.1:8081/health")
    logger.info("%s %d", url, 7)
    assert handler.records[0].args == (url, 7)  # the same objects, for formatters that read them
    try:
        raise ValueError("no secret here")
    except ValueError:
        logger.exception("failed")
    assert handler.records[1].exc_info is not None


def test_root_handlers_added_after_install_are_covered(settings: Settings) -> None:
    log_redaction.install(settings)
    handler = Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    library = logging.getLogger("httpx")
    level = library.level
    library.setLevel(logging.INFO)
    try:
        library.info("HTTP Request: POST %s", f"http://127.0.0.1:8081/bot{TOKEN}/getMe")
    finally:
        root.removeHandler(handler)
        library.setLevel(level)
    assert handler.records and "bot[redacted]/getMe" in handler.lines[0]
    assert_clean(handler)
