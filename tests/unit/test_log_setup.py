"""Log lines carry their zone, and APScheduler's per-run lines show only at DEBUG."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from bot.cli._boot import LOG_DATEFMT, LOG_FORMAT, configure_logging

EXECUTOR = "apscheduler.executors.default"


@pytest.fixture
def executor_level() -> Iterator[None]:
    before = logging.getLogger(EXECUTOR).level
    yield
    logging.getLogger(EXECUTOR).setLevel(before)


def test_the_time_of_a_line_carries_its_zone() -> None:
    record = logging.LogRecord("bot.delivery", logging.INFO, __file__, 1, "sent", None, None)
    line = logging.Formatter(LOG_FORMAT, LOG_DATEFMT).format(record)
    # e.g. "2026-12-03T10:45:00+0000 INFO bot.delivery: sent"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} INFO bot\.delivery: sent$", line)


def test_per_run_lines_only_at_debug(executor_level: None) -> None:
    configure_logging("info")
    executor = logging.getLogger(EXECUTOR)
    assert not executor.isEnabledFor(logging.INFO)  # "Running job …" is an INFO line
    assert executor.isEnabledFor(logging.WARNING)  # a job that failed or was missed still shows
    configure_logging("debug")
    assert executor.level == logging.NOTSET  # follows the root, which is at DEBUG then
