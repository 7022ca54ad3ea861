"""Keeps every configured secret out of every log record, whichever logger writes it and
whichever handler prints it.

The leak that made this necessary: the Telegram token is part of every Bot API URL
(`…/bot<token>/sendMessage`), httpx logs each request URL at INFO, PTB logs the
parameters of each call (the webhook secret among them) at DEBUG, and exception texts
such as httpx's HTTPStatusError quote the URL again.

The filter runs inside the log record factory rather than on handlers. Handlers come
and go after start: uvicorn replaces the handlers of its own non-propagating loggers
when a server is configured, `logging.basicConfig(force=True)` replaces the root's,
pytest adds capture handlers for each test. A filter on a logger would not see what
its child loggers write either. Every record is made by the one factory, so a secret
is removed once, before any handler or formatter sees the record.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Settings

REDACTED = "[redacted]"


class SecretFilter(logging.Filter):
    """Replaces the secrets it knows in a record's message, arguments, exception and
    stack text. It never drops a record: a log line without its secret is still useful."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._forms: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secrets: Iterable[str]) -> None:
        """Also redact these (empty ones are ignored). Secrets are only ever added: two
        products built in one process (tests, benchmarks) both keep theirs hidden."""
        with self._lock:
            forms = set(self._forms)
            for secret in secrets:
                if secret:
                    # as typed, and as a URL carries it (a token's ":" becomes %3A)
                    forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
            if forms == self._forms:
                return
            self._forms = frozenset(forms)
            # longest first, so that a secret containing another is replaced whole
            ordered = sorted(forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(f) for f in ordered))

    def filter(self, record: logging.LogRecord) -> bool:
        pattern = self._pattern
        if pattern is None:
            return True
        # Text arguments one by one first, so that formatters that read `args` themselves
        # (uvicorn's access log unpacks them) still find them in place.
        record.msg = self._clean(pattern, record.msg)
        if isinstance(record.args, Mapping):
            record.args = {k: self._clean(pattern, v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(self._clean(pattern, a) for a in record.args)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging would print msg and args as they are
            message = f"{record.msg!s} (arguments: {record.args!r})"
        if pattern.search(message):  # e.g. repr() of an argument, or a secret split in two
            record.msg, record.args = pattern.sub(REDACTED, message), ()
        if record.exc_info and not record.exc_text:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            if pattern.search(text):
                # formatters print exc_text when it is set; the exception itself goes,
                # since a formatter of its own could render it again
                record.exc_text, record.exc_info = pattern.sub(REDACTED, text), None
        elif record.exc_text:
            record.exc_text = pattern.sub(REDACTED, record.exc_text)
        if record.stack_info:
            record.stack_info = pattern.sub(REDACTED, record.stack_info)
        return True

    @staticmethod
    def _clean(pattern: re.Pattern[str], value: Any) -> Any:
        """A text argument, redacted; anything else as it is (an httpx.URL, say): if
        its text holds a secret, the check of the whole message catches it, formatted
        the way the message asks (%s or %r)."""
        return pattern.sub(REDACTED, value) if isinstance(value, str) else value


FILTER = SecretFilter()
_installed = False
_install_lock = threading.Lock()


def secrets_of(settings: Settings) -> list[str]:
    """Every secret the settings hold: each SecretStr field that is set, found from the
    model so that a secret added later is covered without a list kept here, and the
    password inside DATABASE_URL (a plain string, as a URL is)."""
    found = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
    try:
        password = make_url(settings.resolved_database_url).password
    except ArgumentError:
        password = None
    if password:
        found.append(str(password))
    return found


def install(settings: Settings) -> SecretFilter:
    """Redact the secrets of `settings` in every log record from now on. Idempotent."""
    global _installed
    FILTER.add(secrets_of(settings))
    with _install_lock:
        if not _installed:
            logging.setLogRecordFactory(_redacting(logging.getLogRecordFactory()))
            _installed = True
    return FILTER


def _redacting(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        FILTER.filter(record)
        return record

    return factory
