"""Availability over half-open periods [start, stop) in the agency's zone (WIB): outages
on the edges of a month, across midnight, and the 7 days of /ringkasan; the figure is
the same in the availability report, the exception report and the summary.

The fixture is SSO (target 99.9 %), monitored from 1 Oct 2026 00:00 WIB, with these
unplanned outages (WIB):

    D  31 Oct 23:50 – 1 Nov 00:10   20 min: 10 in October, 10 in November
    C  15 Nov 23:40 – 16 Nov 00:32  52 min, across midnight inside November
    A  30 Nov 23:59 – 1 Dec 00:00    1 min, the last minute of November
    B   1 Dec 00:00 – 1 Dec 00:01    1 min, the first minute of December
    E   1 Dec 08:00 – 1 Dec 11:46  226 min
    H   1 Dec 11:50 – 1 Dec 12:10   20 min: 10 before noon, 10 after
    G   8 Dec 11:00 – 8 Dec 11:30   30 min
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.core import availability, outages, summary
from bot.reports import build_report, to_csv, to_html
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import ServiceState

TZ = "Asia/Jakarta"
WIB = ZoneInfo(TZ)
NOW = datetime(2026, 12, 8, 12, 0, tzinfo=WIB)


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


OUTAGES = [
    (wib(10, 31, 23, 50), wib(11, 1, 0, 10)),  # D
    (wib(11, 15, 23, 40), wib(11, 16, 0, 32)),  # C
    (wib(11, 30, 23, 59), wib(12, 1, 0, 0)),  # A
    (wib(12, 1, 0, 0), wib(12, 1, 0, 1)),  # B
    (wib(12, 1, 8, 0), wib(12, 1, 11, 46)),  # E
    (wib(12, 1, 11, 50), wib(12, 1, 12, 10)),  # H
    (wib(12, 8, 11, 0), wib(12, 8, 11, 30)),  # G
]


@pytest.fixture
def sso(helpdesk: Helpdesk) -> Helpdesk:
    since = wib(10, 1, 0)
    with session_scope(helpdesk.engine) as s:
        st = ServiceState(service_id="sso", state="up", since=since, monitored_since=since)
        s.add(st)
        s.flush()
        for down, up in OUTAGES:
            outages.change(s, st, "down", down, source="probe", reason="x", planned=False, tz=TZ)
            outages.change(s, st, "up", up, source="probe", reason=None, planned=False, tz=TZ)
    return helpdesk


def _row(report, service: str = "Single Sign-On") -> list:  # type: ignore[no-untyped-def]
    rows = next(t for t in report.tables if t.name == "availability").rows
    return next(r for r in rows if service.lower() in r[0].lower())


def test_month_edges(sso: Helpdesk) -> None:
    with Session(sso.engine) as s:
        nov = availability.figures(s, wib(11, 1, 0), wib(12, 1, 0), NOW, TZ)["sso"]
        oct_ = availability.figures(s, wib(10, 1, 0), wib(11, 1, 0), NOW, TZ)["sso"]
        dec = availability.figures(s, wib(12, 1, 0), wib(1, 1, 0) + timedelta(days=365), NOW, TZ)
    # November: D 10 + C 52 + A 1 = 63 min, of 30 × 1440 = 43,200 min
    # (the day after used to count: + B 1 + E 226 + H 20 = 310 min)
    assert nov.down_s == 63 * 60
    assert nov.period_s == 43_200 * 60
    assert round(nov.without_maintenance or 0, 3) == 99.854  # 100 × (1 − 63/43,200) = 99.8541…
    # October: D's first 10 min of 31 × 1440 = 44,640 min → 100 × (1 − 10/44,640) = 99.9776…
    assert oct_.down_s == 10 * 60 and round(oct_.without_maintenance or 0, 3) == 99.978
    # December so far (cut at NOW, 8 Dec 12:00): B 1 + E 226 + H 20 + G 30 = 277 min
    # of 7.5 days = 10,800 min → 100 × (1 − 277/10,800) = 97.4351…
    assert dec["sso"].down_s == 277 * 60 and dec["sso"].period_s == 10_800 * 60
    assert round(dec["sso"].without_maintenance or 0, 3) == 97.435


def test_periods_inside_a_day_and_across_midnight(sso: Helpdesk) -> None:
    with Session(sso.engine) as s:

        def down_min(start: datetime, stop: datetime) -> float:
            return availability.figures(s, start, stop, NOW, TZ)["sso"].down_s / 60

        # C across midnight, read from either side
        assert down_min(wib(11, 15, 0), wib(11, 16, 0)) == 20  # 23:40–24:00
        assert down_min(wib(11, 16, 0), wib(11, 17, 0)) == 32  # 00:00–00:32
        assert down_min(wib(11, 15, 23, 50), wib(11, 16, 0, 2)) == 12  # 10 + 2
        # the last minute of November and the first of December, as one-minute periods
        assert down_min(wib(11, 30, 23, 59), wib(12, 1, 0)) == 1  # A only
        assert down_min(wib(12, 1, 0), wib(12, 1, 0, 1)) == 1  # B only
        # noon of 1 Dec cuts H in two: 10 min each side; E lies wholly before noon
        assert down_min(wib(12, 1, 0), wib(12, 1, 12)) == 1 + 226 + 10
        assert down_min(wib(12, 1, 12), wib(12, 2, 0)) == 10


def test_availability_report_of_november(sso: Helpdesk) -> None:
    with Session(sso.engine) as s:
        report = build_report(
            "availability", s, start=date(2026, 11, 1), end=date(2026, 11, 30), tz=TZ, now=NOW
        )
        english = build_report(
            "availability",
            s,
            start=date(2026, 11, 1),
            end=date(2026, 11, 30),
            tz=TZ,
            now=NOW,
            lang="en",
        )
    name, target, without, with_m, down_min, maint_min, count, meets = _row(report)
    assert (without, with_m, down_min, maint_min) == (99.854, 99.854, 63.0, 0.0)
    # outages touching November: D (ends 1 Nov), C, A (ends at 1 Dec 00:00) = 3;
    # B starts at 1 Dec 00:00, the period's end, and is December's
    assert count == 3
    assert target == 99.9 and meets == "tidak"  # 99.854 < 99.9
    html = to_html(report)
    assert "<td>99,854</td>" in html and "<td>63,0</td>" in html and "<td>99,9</td>" in html
    assert "<td>99.854</td>" in to_html(english) and "<td>63.0</td>" in to_html(english)
    cells = next(r for r in csv.reader(io.StringIO(to_csv(report))) if r and "Sign" in r[0])
    assert cells[2:6] == ["99.854", "99.854", "63.0", "0.0"]  # raw numbers in the CSV


def test_exception_report_takes_the_same_figure(sso: Helpdesk) -> None:
    with Session(sso.engine) as s:
        report = build_report(
            "exception", s, start=date(2026, 11, 1), end=date(2026, 11, 30), tz=TZ, now=NOW
        )
    below = next(t for t in report.tables if t.name == "below_target").rows
    sso = next(r for r in below if "Sign" in r[0])
    assert sso[1:4] == [99.9, 99.854, 63.0]  # target, availability, minutes down


def test_seven_days_of_the_summary(sso: Helpdesk) -> None:
    with Session(sso.engine) as s:
        result = summary.build(s, NOW, TZ, "sso")
    # [1 Dec 12:00, 8 Dec 12:00): H's last 10 min + G 30 = 40 of 7 × 1440 = 10,080 min
    # → 100 × (1 − 40/10,080) = 99.6031… (the whole of 1 Dec used to count: 277 min, 97.25 %)
    assert result.week_availability["sso"] == pytest.approx(100 * (1 - 40 / 10_080))
    text = summary.render(result, "id", TZ, NOW)
    assert "99,60%" in text
    assert "99.60%" in summary.render(result, "en", TZ, NOW)
