"""Today's readings of maintenance times, pinned so that restructuring the parser cannot
change which texts are accepted, what they mean, or why one is refused.

tests/data/pinned/when.json was written by running the parser before it was split into
steps: ~500 texts (every variant of one part of "besok 20.00 - 22.00", a fixed random
sample of combinations, and hand-picked odd ones) read at two moments, plus what the
one-point reader returns from the first tokens of each. A change here is a behaviour
change, not a refactor: update the file only on purpose.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.when import WhenError, _parse_point, _tokens, parse_span

PINNED = json.loads(
    (Path(__file__).parents[1] / "data" / "pinned" / "when.json").read_text(encoding="utf-8")
)
NOWS = [dt.datetime.fromisoformat(n) for n in PINNED["nows"]]
WIB = ZoneInfo("Asia/Jakarta")


def _refusal(err: WhenError) -> list[Any]:
    return ["error", err.key, [list(kv) for kv in sorted(err.params.items())]]


def _span(text: str, now: dt.datetime) -> list[Any]:
    try:
        span = parse_span(text, now)
    except WhenError as err:
        return _refusal(err)
    return [
        span.start.astimezone(WIB).strftime("%Y-%m-%d %H:%M"),
        span.end.astimezone(WIB).strftime("%Y-%m-%d %H:%M"),
        span.rest,
    ]


def _point(text: str, i: int, need_clock: bool) -> list[Any]:
    try:
        p, j = _parse_point(_tokens(text), i, need_clock=need_clock)
    except WhenError as err:
        return _refusal(err)
    return [
        p.day.isoformat() if p.day else None,
        p.rel,
        p.weekday,
        p.next_week,
        p.clock.strftime("%H:%M") if p.clock else None,
        p.zone,
        j,
    ]


@pytest.mark.parametrize(("text", "now", "expected"), PINNED["spans"])
def test_span_reading_is_pinned(text: str, now: int, expected: list[Any]) -> None:
    assert _span(text, NOWS[now]) == expected


@pytest.mark.parametrize(("text", "i", "need_clock", "expected"), PINNED["points"])
def test_point_reading_is_pinned(text: str, i: int, need_clock: bool, expected: list[Any]) -> None:
    assert _point(text, i, need_clock) == expected


def test_the_table_covers_every_outcome() -> None:
    """The pin is only worth something if it exercises every refusal and many readings."""
    keys = {e[1] for _, _, e in PINNED["spans"] if e[0] == "error"}
    assert keys == {
        f"maintenance.when.{k}"
        for k in (
            "bad_date",
            "bad_time",
            "empty",
            "end_before_start",
            "in_past",
            "no_end",
            "no_time",
            "too_long",
            "unreadable",
            "weekday_mismatch",
        )
    }
    assert sum(1 for _, _, e in PINNED["spans"] if e[0] != "error") > 300
