"""Trends against figures computed by hand: the periods (calendar months, weeks, this
week against last week), the figures per period and service with their changes, a
period without tickets, the evaluation report's trend table and chart, and the
`/ringkasan` "vs minggu lalu" line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.core import availability, review_figures, summary, tickets, trends
from bot.core.tickets import Actor
from bot.reports import build_report
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Person, ServiceState, ServiceTechnician, Ticket
from tests.helpers import Chat

TZ = "Asia/Jakarta"
WIB = ZoneInfo(TZ)


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)  # type: ignore[misc]


def _people(s: Session) -> tuple[Person, Actor]:
    user = next(p for p in s.exec(select(Person).order_by(Person.id)) if p.roles == ["pengguna"])
    tech = s.exec(
        select(Person)
        .join(ServiceTechnician, ServiceTechnician.person_id == Person.id)
        .where(ServiceTechnician.service_id == "vpn")
        .order_by(Person.id)
    ).first()
    assert tech is not None
    return user, Actor(tech, "console")


def make(
    s: Session,
    service: str,
    created: datetime,
    *,
    ack_min: int | None,
    resolve_h: float | None,
    response_due_min: int = 60,
    resolution_due_h: int = 8,
) -> Ticket:
    """A ticket with its acknowledgement and resolution after the given times, and due
    times set by hand (so the figures do not depend on business calendars)."""
    user, tech = _people(s)
    t = tickets.open_ticket(
        s,
        type_="permintaan",
        title=f"{service} {created:%d %H}",
        service_id=service,
        reporter=user,
        auto_assign=False,
        alert=False,
        now=created,
    )
    if ack_min is not None:
        tickets.acknowledge(s, t, tech, now=created + timedelta(minutes=ack_min))
    if resolve_h is not None:
        tickets.resolve(s, t, tech, resolution="sudah", now=created + timedelta(hours=resolve_h))
    t.response_due_at = created + timedelta(minutes=response_due_min)
    t.resolution_due_at = created + timedelta(hours=resolution_due_h)
    s.add(t)
    return t


# --- periods --------------------------------------------------------------------------------


def test_report_periods_follow_the_report() -> None:
    # a calendar month: the 12 months up to it, each whole
    months = trends.report_periods(date(2025, 12, 1), date(2025, 12, 31), TZ)
    assert [(p.first, p.last) for p in months][:2] == [
        (date(2025, 1, 1), date(2025, 1, 31)),
        (date(2025, 2, 1), date(2025, 2, 28)),
    ]
    assert (months[-1].first, months[-1].last) == (date(2025, 12, 1), date(2025, 12, 31))
    assert len(months) == 12
    # half-open in WIB: 1 Dec 00:00 WIB = 30 Nov 17:00 UTC, to 1 Jan 00:00 WIB
    assert months[-1].start == datetime(2025, 11, 30, 17, 0, tzinfo=UTC)
    assert months[-1].end == datetime(2025, 12, 31, 17, 0, tzinfo=UTC)
    assert all(a.end == b.start for a, b in zip(months, months[1:], strict=False))
    # a quarter: quarters, three months each; the first of 12 starts 33 months earlier
    quarters = trends.report_periods(date(2026, 4, 1), date(2026, 6, 30), TZ)
    assert (quarters[0].first, quarters[0].last) == (date(2023, 7, 1), date(2023, 9, 30))
    # a week (Sunday to Saturday): weeks, 7 days each
    weeks = trends.report_periods(date(2026, 3, 1), date(2026, 3, 7), TZ, n=3)
    assert [(p.first, p.last) for p in weeks] == [
        (date(2026, 2, 15), date(2026, 2, 21)),
        (date(2026, 2, 22), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 7)),
    ]


def test_week_to_date_is_like_for_like() -> None:
    now = wib(2026, 3, 4, 10, 0)  # Wednesday 10:00 WIB
    last, this = trends.week_to_date(now, TZ)
    assert (this.start, this.end) == (wib(2026, 3, 2), now)  # Monday 00:00 → now
    assert (last.start, last.end) == (wib(2026, 2, 23), wib(2026, 2, 25, 10, 0))
    assert (last.first, last.last, this.first, this.last) == (
        date(2026, 2, 23),
        date(2026, 2, 25),
        date(2026, 3, 2),
        date(2026, 3, 4),
    )


# --- figures --------------------------------------------------------------------------------

#: Tuesday 3 March 2026 12:00 WIB
NOW = wib(2026, 3, 3, 12, 0)
PERIODS = (date(2026, 3, 1), date(2026, 3, 7))


@pytest.fixture
def history(helpdesk: Helpdesk) -> Helpdesk:
    """Four weeks (Sunday to Saturday) up to 1–7 March 2026:
    P0 8–14 Feb:  VPN A ack 30 min (due 60) resolved 4 h (due 8 h) → both met
                  VPN B ack 2 h, resolved 10 h                      → both late
    P1 15–21 Feb: nothing
    P2 22–28 Feb: VPN C ack 60 min (= due: met), resolved 6 h     → both met
                  e-mail D never acked, open, both due long past    → both late
    P3 1–7 Mar:   VPN E ack 15 min, open, resolution due after NOW → response met only
    outside:      VPN F on 8 Mar (after the last period)
    VPN is monitored from 15 Feb 00:00 WIB and was down 60 min on 25 Feb."""
    with session_scope(helpdesk.engine) as s:
        make(s, "vpn", wib(2026, 2, 9, 9), ack_min=30, resolve_h=4)
        make(s, "vpn", wib(2026, 2, 10, 9), ack_min=120, resolve_h=10)
        make(s, "vpn", wib(2026, 2, 23, 9), ack_min=60, resolve_h=6)
        make(s, "email", wib(2026, 2, 24, 9), ack_min=None, resolve_h=None)
        make(s, "vpn", wib(2026, 3, 2, 9), ack_min=15, resolve_h=None, resolution_due_h=48)
        make(s, "vpn", wib(2026, 3, 8, 9), ack_min=5, resolve_h=1)
        s.add(ServiceState(service_id="vpn", state="up", monitored_since=wib(2026, 2, 15)))
        s.flush()
        availability.add_interval(
            s, "vpn", wib(2026, 2, 25, 13), wib(2026, 2, 25, 14), "down_s", TZ
        )
    return helpdesk


def test_figures_per_period_and_service_by_hand(history: Helpdesk) -> None:
    periods = trends.report_periods(*PERIODS, TZ, n=4)
    with Session(history.engine) as s:
        trend = trends.compute(s, periods, NOW, TZ)
    vpn, mail = trend.services["vpn"], trend.services["email"]
    assert set(trend.services) == {"vpn", "email"}
    assert [f.tickets for f in vpn] == [2, 0, 1, 1]  # F (8 Mar) is outside
    # P0: 1 of 2 met = 50 %; P1 nothing known; P2 1 of 1; P3 E acked in time: 1 of 1
    assert [f.response_sla_pct for f in vpn] == [50.0, None, 100.0, 100.0]
    # P3: E still open and not yet due: no resolution outcome
    assert [f.resolution_sla_pct for f in vpn] == [50.0, None, 100.0, None]
    # P0: (0.5 + 2) / 2 = 1.25 h; P2: 1 h; P3: 15 min = 0.25 h
    assert [f.mean_response_h for f in vpn] == [1.25, None, 1.0, 0.25]
    # P0: (4 + 10) / 2 = 7 h; P2: 6 h
    assert [f.mean_resolution_h for f in vpn] == [7.0, None, 6.0, None]
    # availability: P0 before monitoring; P1 100 %; P2 1 − 3600 / (7 × 86400) = 99.40476…;
    # P3 up to NOW (2.5 days), no downtime: 100 %
    assert vpn[0].availability is None and vpn[1].availability == 100.0
    assert vpn[2].availability == pytest.approx(100 * (1 - 3600 / 604_800))
    assert vpn[3].availability == 100.0
    # e-mail: only D in P2, late on both counts; not monitored
    assert [f.tickets for f in mail] == [0, 0, 1, 0]
    assert (mail[2].response_sla_pct, mail[2].resolution_sla_pct) == (0.0, 0.0)
    assert all(f.availability is None for f in mail)
    # changes against the period before; None where either side has no figure
    assert trend.changes(vpn, "tickets") == [None, -2, 1, 0]
    assert trend.changes(vpn, "response_sla_pct") == [None, None, None, 0.0]
    assert trend.changes(vpn, "mean_response_h") == [None, None, None, -0.75]  # 0.25 − 1
    # 99.40476 − 100 = −0.595 → −0.6; 100 − 99.40476 = +0.6
    assert trend.changes(vpn, "availability") == [None, None, -0.6, 0.6]
    # all services: P2 holds C (met) and D (late): 1 of 2 = 50 %
    assert [f.tickets for f in trend.total] == [2, 0, 2, 1]
    assert [f.response_sla_pct for f in trend.total] == [50.0, None, 50.0, 100.0]


def test_the_same_figures_as_a_review_freezes(history: Helpdesk) -> None:
    """A trend's period and a review's frozen figures of that period agree (the review
    keeps them unrounded; the trend rounds percentages to 1 and hours to 2 decimals)."""
    periods = trends.report_periods(*PERIODS, TZ, n=4)
    with Session(history.engine) as s:
        trend = trends.compute(s, periods, NOW, TZ)
        for i, p in enumerate(periods):
            frozen = review_figures.per_service(s, p.start, p.end, NOW, TZ, ["vpn", "email"])
            for sid in ("vpn", "email"):
                mine, theirs = trend.services[sid][i], frozen[sid]
                assert mine.tickets == theirs.tickets
                for measure, digits in (
                    ("response_sla_pct", 1),
                    ("resolution_sla_pct", 1),
                    ("mean_response_h", 2),
                    ("mean_resolution_h", 2),
                ):
                    got, want = mine.value(measure), getattr(theirs, measure)
                    assert got == (None if want is None else round(want, digits)), (sid, i)
                assert mine.availability == theirs.availability_pct


def test_narrowed_to_one_service(history: Helpdesk) -> None:
    periods = trends.report_periods(*PERIODS, TZ, n=4)
    with Session(history.engine) as s:
        trend = trends.compute(s, periods, NOW, TZ, ["email"])
    assert set(trend.services) == {"email"}
    assert [f.tickets for f in trend.total] == [0, 0, 1, 0]


def test_evaluation_report_trend_table_and_chart(history: Helpdesk) -> None:
    with Session(history.engine) as s:
        report = build_report("evaluation", s, start=PERIODS[0], end=PERIODS[1], tz=TZ, now=NOW)
    (table,) = [tb for tb in report.tables if tb.name == "trends"]
    assert table.title == "Tren per layanan (12 periode)"
    assert table.headers[:4] == ["Layanan", "Periode", "Tiket", "Perubahan"]
    assert len(table.headers) == 14
    vpn = [r for r in table.rows if "VPN" in r[0]]
    mail = [r for r in table.rows if "Surel" in r[0]]
    assert len(vpn) == len(mail) == 12 and len(table.rows) == 24
    assert [r[1] for r in vpn[-2:]] == ["2026-02-22 s.d. 2026-02-28", "2026-03-01 s.d. 2026-03-07"]
    # the last four VPN rows: tickets and change, as computed by hand above
    assert [r[2:4] for r in vpn[-4:]] == [[2, 2], [0, -2], [1, 1], [1, 0]]
    # P3 (the last row): response 100 % (Δ 0.0), resolution none, availability 100 (+0.6),
    # mean response 0.25 h (Δ −0.75), mean resolution none
    assert vpn[-1][4:] == [100.0, 0.0, None, None, 100.0, 0.6, 0.25, -0.75, None, None]
    assert [c.title for c in report.charts][-1] == "Tren kepatuhan SLA"


def test_evaluation_trend_of_a_month_report_in_english(history: Helpdesk) -> None:
    with Session(history.engine) as s:
        report = build_report(
            "evaluation", s, start=date(2026, 2, 1), end=date(2026, 2, 28), tz=TZ, now=NOW,
            lang="en",
        )  # fmt: skip
    (table,) = [tb for tb in report.tables if tb.name == "trends"]
    vpn = [r for r in table.rows if "VPN" in r[0]]
    assert [r[1] for r in vpn[-2:]] == ["2026-01", "2026-02"]
    # February: A, B, C → 3 tickets (January: none, Δ +3); response met A and C: 2 of 3
    assert vpn[-1][2:6] == [3, 3, 66.7, None]


# --- /ringkasan ----------------------------------------------------------------------------

#: Wednesday 4 March 2026 10:00 WIB
SUMMARY_NOW = wib(2026, 3, 4, 10, 0)


def _weeks(helpdesk: Helpdesk) -> None:
    """Last week up to Wednesday 10:00 (23 Feb 00:00 → 25 Feb 10:00 WIB):
      L1 23 Feb, L2 24 Feb: acked after 30 min (due 60), resolved after 2 h and 4 h
      (due 8 h); X on 26 Feb falls after that stretch and does not count.
    This week (2 Mar 00:00 → now):
      T1 2 Mar: ack 30 min, resolved 1 h     → both met
      T2 3 Mar (e-mail): ack 2 h, resolved 10 h → both late
      T3 4 Mar 08:00: ack 10 min, open, resolution due 16:00 → response met only"""
    with session_scope(helpdesk.engine) as s:
        make(s, "vpn", wib(2026, 2, 23, 9), ack_min=30, resolve_h=2)
        make(s, "vpn", wib(2026, 2, 24, 9), ack_min=30, resolve_h=4)
        make(s, "vpn", wib(2026, 2, 26, 9), ack_min=30, resolve_h=30)
        make(s, "vpn", wib(2026, 3, 2, 9), ack_min=30, resolve_h=1)
        make(s, "email", wib(2026, 3, 3, 9), ack_min=120, resolve_h=10)
        make(s, "vpn", wib(2026, 3, 4, 8), ack_min=10, resolve_h=None)


def test_ringkasan_vs_last_week(helpdesk: Helpdesk) -> None:
    _weeks(helpdesk)
    with Session(helpdesk.engine) as s:
        built = summary.build(s, SUMMARY_NOW, TZ)
        vpn_only = summary.build(s, SUMMARY_NOW, TZ, "vpn")
    assert built.week_trend is not None
    before, now = built.week_trend
    assert (before.tickets, now.tickets) == (2, 3)
    # tickets 3 vs 2 → ↑1; response 2 of 3 = 66.7 % vs 2 of 2 = 100 % → ↓33.3;
    # resolution 1 of 2 = 50 % vs 100 % → ↓50.0; mean resolution (1 + 10) / 2 = 5.5 h vs
    # (2 + 4) / 2 = 3 h → ↑2.50
    line = summary.render(built, "id", TZ, SUMMARY_NOW).splitlines()[-1]
    assert line == (
        "Tiket baru 3 (↑1 vs minggu lalu) · SLA tanggap 66,7% (↓33,3) · "
        "SLA penyelesaian 50,0% (↓50,0) · rata-rata penyelesaian 5,50 jam (↑2,50)"
    )
    english = summary.render(built, "en", TZ, SUMMARY_NOW).splitlines()[-1]
    assert english == (
        "New tickets 3 (↑1 vs last week) · response SLA 66.7% (↓33.3) · "
        "resolution SLA 50.0% (↓50.0) · mean resolution 5.50 h (↑2.50)"
    )
    # VPN only: this week T1 and T3 (2) against L1 and L2 (2): "="; response 100 % both;
    # resolution 1 of 1 vs 2 of 2: "="; mean resolution 1 h vs 3 h → ↓2.00
    assert summary.render(vpn_only, "id", TZ, SUMMARY_NOW).splitlines()[-1] == (
        "Tiket baru 2 (= vs minggu lalu) · SLA tanggap 100,0% (=) · "
        "SLA penyelesaian 100,0% (=) · rata-rata penyelesaian 1,00 jam (↓2,00)"
    )


def test_ringkasan_in_chat_shows_the_week_against_last_week(helpdesk: Helpdesk) -> None:
    _weeks(helpdesk)
    with Session(helpdesk.engine) as s:
        email = next(
            p.email for p in s.exec(select(Person).order_by(Person.id))
            if "koordinator_layanan" in p.roles and p.email
        )  # fmt: skip
    coordinator = Chat.as_person(helpdesk, "web", email)
    coordinator.say("/ringkasan", now=SUMMARY_NOW)
    assert "Tiket baru 3 (↑1 vs minggu lalu)" in coordinator.text


def test_ringkasan_without_tickets_has_nothing_to_compare(helpdesk: Helpdesk) -> None:
    with Session(helpdesk.engine) as s:
        built = summary.build(s, SUMMARY_NOW, TZ)
    assert summary.render(built, "id", TZ, SUMMARY_NOW).splitlines()[-1] == (
        "Tiket baru 0 (= vs minggu lalu) · SLA tanggap - (–) · "
        "SLA penyelesaian - (–) · rata-rata penyelesaian - jam (–)"
    )
