"""The review cycle in the core and in the reports, against records whose figures are
computed by hand: November 2026 is reviewed, December's evaluation shows the follow-up.

November (VPN monitored the whole month, 90 min down; dues fixed by hand):
  A vpn   acked 30 min (due 60), resolved 4 h (due 8 h)      → response met,  resolution met
  B vpn   acked 2 h (due 60 min), resolved 10 h (due 8 h)    → response late, resolution late
  C email acked 1 h (due 2 h), resolved 3 h (due 24 h)       → met, met
  F email acked 3 h (due 2 h), resolved 5 h (due 24 h)       → response late, resolution met
December (after the review):
  D vpn   acked 15 min (due 60), resolved 2 h (due 8 h)      → met, met
  E vpn   acked 45 min (due 60), resolved 6 h (due 8 h)      → met, met
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.core import availability, review_actions, review_figures, reviews, tickets
from bot.core.errors import HelpdeskError, InvalidTransition, NotAllowed, NotFound
from bot.core.tickets import Actor
from bot.reports import build_report
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import (
    Identity,
    Notice,
    Person,
    Review,
    ReviewEvent,
    ServiceState,
    Ticket,
)

TZ = "Asia/Jakarta"
NOV_START, NOV_END = date(2026, 11, 1), date(2026, 11, 30)
DEC_START, DEC_END = date(2026, 12, 1), date(2026, 12, 31)
#: Wednesday 2 December 2026, 10:00 WIB: the review meeting
OPENED = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
#: the December evaluation is made on 5 January 2027
JAN = datetime(2027, 1, 5, 3, 0, tzinfo=UTC)

COORDINATOR = "nur.hidayati@kementerian.go.id"
MANAGER = "bambang.susilo@kementerian.go.id"  # service manager of VPN and e-mail
OWNER = "budi.santoso@kementerian.go.id"  # a technical manager of VPN
EMPLOYEE = "lina.marlina@kementerian.go.id"
VPN = "Akses Jarak Jauh (VPN)"
EMAIL = "Surat Elektronik Dinas (Surel)"


def person(s: Session, email: str) -> Person:
    return s.exec(select(Person).where(Person.email == email)).one()


def _ticket(
    s: Session,
    title: str,
    service: str,
    created: datetime,
    dues: tuple[int, int],
    ack_min: int,
    fix_min: int,
) -> Ticket:
    user = person(s, EMPLOYEE)
    tech = Actor(
        person(s, OWNER if service == "vpn" else "andi.wijaya@kementerian.go.id"), "console"
    )
    kind = "gangguan" if service == "vpn" else "permintaan"
    t = tickets.open_ticket(
        s, type_=kind, title=title, service_id=service, reporter=user, now=created
    )
    tickets.take(s, t, tech, now=created + timedelta(minutes=ack_min))
    tickets.resolve(
        s,
        t,
        tech,
        resolution="sudah diperbaiki oleh petugas",
        root_cause="konfigurasi" if kind == "gangguan" else None,
        now=created + timedelta(minutes=fix_min),
    )
    # the SLA hooks may have moved them: fix the due times by hand
    t.response_due_at = created + timedelta(minutes=dues[0])
    t.resolution_due_at = created + timedelta(minutes=dues[1])
    s.add(t)
    return t


def november(helpdesk: Helpdesk) -> None:
    """The November tickets and VPN's monitoring (from 1 November 00:00 WIB)."""
    since = datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    day = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 2 Nov, 09:00 WIB
    with session_scope(helpdesk.engine) as s:
        s.add(ServiceState(service_id="vpn", state="up", since=since, monitored_since=since))
        s.flush()
        availability.add_interval(s, "vpn", day, day + timedelta(minutes=90), "down_s", TZ)
        _ticket(s, "A", "vpn", day + timedelta(days=1), (60, 480), 30, 240)
        _ticket(s, "B", "vpn", day + timedelta(days=2), (60, 480), 120, 600)
        _ticket(s, "C", "email", day + timedelta(days=3), (120, 1440), 60, 180)
        _ticket(s, "F", "email", day + timedelta(days=4), (120, 1440), 180, 300)


def december(helpdesk: Helpdesk) -> None:
    day = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    with session_scope(helpdesk.engine) as s:
        _ticket(s, "D", "vpn", day, (60, 480), 15, 120)
        _ticket(s, "E", "vpn", day + timedelta(days=1), (60, 480), 45, 360)


def link(helpdesk: Helpdesk, email: str, chat: str) -> None:
    """A console chat for the person, so notices have somewhere to go."""
    with session_scope(helpdesk.engine) as s:
        s.add(Identity(person_id=person(s, email).id, channel="console", external_id=chat))


def open_november(helpdesk: Helpdesk) -> int:
    with session_scope(helpdesk.engine) as s:
        review = reviews.open_review(
            s, person(s, COORDINATOR), NOV_START, NOV_END, now=OPENED, tz=TZ, channel="console"
        )
        return review.id or 0


def decide_vpn(helpdesk: Helpdesk, review_id: int, due: date = date(2026, 12, 20)) -> int:
    with session_scope(helpdesk.engine) as s:
        review = reviews.find(s, person(s, COORDINATOR), review_id)
        action = reviews.add_decision(
            s,
            person(s, MANAGER),
            review,
            "Perbarui prosedur tanggap gangguan VPN",
            person(s, OWNER),
            due,
            target=reviews.parse_target(s, "vpn"),
            now=OPENED,
            tz=TZ,
            channel="console",
        )
        return action.id or 0


# -- periods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11", (date(2026, 11, 1), date(2026, 11, 30))),
        ("2026-02", (date(2026, 2, 1), date(2026, 2, 28))),
        ("2026-12", (date(2026, 12, 1), date(2026, 12, 31))),
        ("2026-Q4", (date(2026, 10, 1), date(2026, 12, 31))),
        ("TW1 2027", (date(2027, 1, 1), date(2027, 3, 31))),
        ("q2-2026", (date(2026, 4, 1), date(2026, 6, 30))),
        ("2026-10-05 2026-10-20", (date(2026, 10, 5), date(2026, 10, 20))),
    ],
)
def test_periods_as_written(text: str, expected: tuple[date, date]) -> None:
    assert reviews.parse_period(text) == expected


@pytest.mark.parametrize(
    "text", ["", "kemarin", "2026-13", "2026-Q5", "2026-10-20 2026-10-05", "2020-01-01 2022-01-01"]
)
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(HelpdeskError) as exc:
        reviews.parse_period(text)
    assert exc.value.key == "review.bad_period"


def test_last_month_and_quarter_are_offered() -> None:
    # 2 December 2026: last month November, last quarter Q3; in January: December and Q4
    assert reviews.previous_periods(OPENED, TZ) == [("2026-11", "2026-11"), ("2026-Q3", "2026-Q3")]
    assert reviews.previous_periods(JAN, TZ) == [("2026-12", "2026-12"), ("2026-Q4", "2026-Q4")]


# -- opening freezes the figures -----------------------------------------------------------


def test_opening_freezes_the_figures_and_later_edits_do_not_change_them(
    helpdesk: Helpdesk,
) -> None:
    november(helpdesk)
    link(helpdesk, MANAGER, "chat-manager")
    link(helpdesk, EMPLOYEE, "chat-employee")
    rid = open_november(helpdesk)
    with Session(helpdesk.engine) as s:
        frozen = reviews.frozen(s, rid)
    vpn, mail = frozen["vpn"], frozen["email"]
    assert (vpn.tickets, vpn.resolved) == (2, 2)
    assert vpn.response_sla_pct == 50.0  # A met, B late: 1 of 2
    assert vpn.resolution_sla_pct == 50.0  # A met, B late
    assert vpn.mean_response_h == pytest.approx(1.25)  # (0.5 h + 2 h) / 2
    assert vpn.mean_resolution_h == pytest.approx(7.0)  # (4 h + 10 h) / 2
    # 90 min down in 30 days: 100 × (1 − 5400 / 2 592 000)
    assert vpn.availability_pct == pytest.approx(100 * (1 - 5400 / (30 * 86400)))
    assert (mail.tickets, mail.response_sla_pct, mail.resolution_sla_pct) == (2, 50.0, 100.0)
    assert mail.mean_response_h == pytest.approx(2.0)  # (1 h + 3 h) / 2
    assert mail.availability_pct is None  # not monitored
    assert frozen["simpeg"].tickets == 0  # every active service has its row

    # B is corrected afterwards (acknowledged and resolved in time, on paper)
    with session_scope(helpdesk.engine) as s:
        b = s.exec(select(Ticket).where(Ticket.title == "B")).one()
        b.acknowledged_at = b.created_at + timedelta(minutes=10)
        b.resolved_at = b.created_at + timedelta(hours=1)
        s.add(b)
    with Session(helpdesk.engine) as s:
        again = reviews.frozen(s, rid)["vpn"]
        lo, hi = reviews.bounds(NOV_START, NOV_END, TZ)
        live = review_figures.per_service(s, lo, hi, OPENED, TZ, ["vpn"])["vpn"]
    assert (again.response_sla_pct, again.mean_response_h) == (50.0, pytest.approx(1.25))
    # the live figures did change: both met now; (0.5 h + 10 min) / 2 = 0.3333 h
    assert (live.response_sla_pct, live.resolution_sla_pct) == (100.0, 100.0)
    assert live.mean_response_h == pytest.approx((0.5 + 10 / 60) / 2)

    with Session(helpdesk.engine) as s:
        invited = {n.target for n in s.exec(select(Notice).where(Notice.kind == "review.invite"))}
        events = s.exec(select(ReviewEvent).where(ReviewEvent.review_id == rid)).all()
    assert invited == {"chat-manager"}  # the service manager; the employee is not invited
    assert [(e.kind, e.new, e.channel) for e in events][:2] == [
        ("opened", "dibuka", "console"),
        ("invited", "Nur Hidayati", "console"),
    ]
    # recorded as evidence: the coordinator and the six service managers of the samples
    assert sorted(e.new or "" for e in events if e.kind == "invited") == [
        "Bambang Susilo",
        "Dewi Lestari",
        "Maya Sari",
        "Nur Hidayati",
        "Ratna Kusuma",
        "Rudi Hartono",
        "Siti Rahma",
    ]
    assert events[0].actor_id is not None


def test_a_period_is_reviewed_once_and_only_when_over(helpdesk: Helpdesk) -> None:
    rid = open_november(helpdesk)
    with session_scope(helpdesk.engine) as s:
        coordinator = person(s, COORDINATOR)
        with pytest.raises(HelpdeskError) as exists:
            reviews.open_review(s, coordinator, NOV_START, NOV_END, now=OPENED, tz=TZ)
        with pytest.raises(HelpdeskError) as running:
            reviews.open_review(s, coordinator, DEC_START, DEC_END, now=OPENED, tz=TZ)
    assert (exists.value.key, exists.value.params["id"]) == ("review.exists", rid)
    assert running.value.key == "review.period_not_over"


# -- roles ----------------------------------------------------------------------------------


def test_employees_and_service_managers_are_refused_what_is_not_theirs(
    helpdesk: Helpdesk,
) -> None:
    rid = open_november(helpdesk)
    aid = decide_vpn(helpdesk, rid)
    with session_scope(helpdesk.engine) as s:
        employee, manager = person(s, EMPLOYEE), person(s, MANAGER)
        owner = person(s, OWNER)
        review = s.get(Review, rid)
        assert review is not None
        for attempt in (
            lambda: reviews.open_review(
                s, employee, date(2026, 10, 1), date(2026, 10, 31), now=OPENED, tz=TZ
            ),
            lambda: reviews.find(s, employee, rid),
            lambda: reviews.find(s, employee, 999),  # the same refusal: numbers cannot be probed
            lambda: reviews.add_finding(s, employee, review, "temuan karyawan", now=OPENED),
            lambda: reviews.open_review(
                s, manager, date(2026, 10, 1), date(2026, 10, 31), now=OPENED, tz=TZ
            ),
            lambda: reviews.close(s, manager, review, now=OPENED),
            lambda: review_actions.change_state(s, employee, aid, "selesai", now=OPENED),
            lambda: review_actions.change_state(s, employee, 999, "selesai", now=OPENED),
            lambda: review_actions.change_state(s, owner, aid, "dibatalkan", now=OPENED),
        ):
            with pytest.raises(NotAllowed):
                attempt()
        # a service manager takes part: a finding is theirs to record
        reviews.add_finding(s, manager, review, "Respons VPN lambat", service_id="vpn", now=OPENED)
        with pytest.raises(NotFound):
            reviews.find(s, manager, "abc")


# -- the record, closing, and the actions' life cycle -------------------------------------------


def test_the_cycle_closes_only_when_complete_and_every_change_is_recorded(
    helpdesk: Helpdesk,
) -> None:
    rid = open_november(helpdesk)
    link(helpdesk, OWNER, "chat-owner")
    with session_scope(helpdesk.engine) as s:
        coordinator = person(s, COORDINATOR)
        review = reviews.find(s, coordinator, rid)
        with pytest.raises(HelpdeskError) as incomplete:
            reviews.close(s, coordinator, review, now=OPENED)
        assert incomplete.value.key == "review.incomplete"
        assert (
            incomplete.value.params["missing"] == "daftar hadir, temuan, keputusan / tindak lanjut"
        )
        for who in reviews.find_people(s, f"{COORDINATOR}, Bambang"):
            assert reviews.add_attendee(s, coordinator, review, who, now=OPENED)
        assert not reviews.add_attendee(s, coordinator, review, coordinator, now=OPENED)
        reviews.add_finding(
            s, coordinator, review, "SLA tanggap VPN 50%", service_id="vpn", now=OPENED
        )
        with pytest.raises(HelpdeskError) as still:
            reviews.close(s, coordinator, review, now=OPENED)
        assert still.value.params["missing"] == "keputusan / tindak lanjut"
    aid = decide_vpn(helpdesk, rid)
    with session_scope(helpdesk.engine) as s:
        coordinator = person(s, COORDINATOR)
        review = reviews.find(s, coordinator, rid)
        reviews.close(s, coordinator, review, now=OPENED + timedelta(hours=1))
        assert review.state == "ditutup"
        with pytest.raises(HelpdeskError) as closed:
            reviews.add_finding(s, coordinator, review, "terlambat dicatat", now=OPENED)
        assert closed.value.key == "review.closed"
    # the follow-up goes on after the review closed: the owner works it
    owner_steps = [
        ("dikerjakan", datetime(2026, 12, 10, 2, tzinfo=UTC)),
        ("selesai", datetime(2026, 12, 15, 2, tzinfo=UTC)),
    ]
    for state, at in owner_steps:
        with session_scope(helpdesk.engine) as s:
            review_actions.change_state(s, person(s, OWNER), aid, state, now=at, channel="console")
    with session_scope(helpdesk.engine) as s, pytest.raises(InvalidTransition):
        review_actions.change_state(s, person(s, COORDINATOR), aid, "dikerjakan", now=JAN)
    with Session(helpdesk.engine) as s:
        events = s.exec(
            select(ReviewEvent).where(ReviewEvent.review_id == rid).order_by(col(ReviewEvent.id))
        ).all()
        owner_id = person(s, OWNER).id
        assigned = s.exec(select(Notice).where(Notice.kind == "review.action")).all()
    events = [e for e in events if e.kind != "invited"]
    assert [(e.kind, e.old, e.new) for e in events] == [
        ("opened", None, "dibuka"),
        ("attendee", None, "Nur Hidayati"),
        ("attendee", None, "Bambang Susilo"),
        ("finding", None, None),
        ("decision", None, "terbuka"),
        ("state", "dibuka", "ditutup"),
        ("state", "terbuka", "dikerjakan"),
        ("state", "dikerjakan", "selesai"),
    ]
    assert [e.actor_id for e in events[-2:]] == [owner_id, owner_id]
    assert [e.at for e in events[-2:]] == [at for _, at in owner_steps]
    assert [n.target for n in assigned] == ["chat-owner"]  # the owner was told of the action


def test_a_decision_needs_a_sensible_due_date_and_target(helpdesk: Helpdesk) -> None:
    rid = open_november(helpdesk)
    with session_scope(helpdesk.engine) as s:
        coordinator = person(s, COORDINATOR)
        review = reviews.find(s, coordinator, rid)
        owner = person(s, OWNER)
        for due in (date(2026, 12, 1), date(2028, 1, 1)):  # yesterday; beyond a year
            with pytest.raises(HelpdeskError) as bad:
                reviews.add_decision(
                    s, coordinator, review, "Perbaiki", owner, due, now=OPENED, tz=TZ
                )
            assert bad.value.key == "review.bad_due"
        with pytest.raises(NotFound):
            reviews.parse_target(s, "INC-2026-99999")
        assert reviews.parse_target(s, "-") == (None, None, None)
        assert reviews.parse_target(s, "vpn") == ("vpn", None, None)
        assert reviews.parse_target(s, "Catatan masalah PRB-7") == (
            None,
            None,
            "Catatan masalah PRB-7",
        )


# -- reminders and escalation ------------------------------------------------------------------


def test_reminder_once_before_the_due_date_and_escalation_once_when_overdue(
    helpdesk: Helpdesk,
) -> None:
    link(helpdesk, OWNER, "chat-owner")
    link(helpdesk, COORDINATOR, "chat-coordinator")
    rid = open_november(helpdesk)
    aid = decide_vpn(helpdesk, rid)  # due Sunday 20 December: overdue from 21 Dec 00:00 WIB
    deadline = datetime(2026, 12, 20, 17, 0, tzinfo=UTC)
    lead = timedelta(days=2)

    def tick(now: datetime) -> dict[str, int]:
        return dict(review_actions.review_tick(helpdesk.engine, now, TZ, lead))

    assert tick(deadline - lead - timedelta(minutes=1)) == {}  # too early
    assert tick(deadline - lead) == {"reminded": 1}
    assert tick(deadline - lead + timedelta(hours=1)) == {}  # once
    assert tick(deadline - timedelta(minutes=1)) == {}
    assert tick(deadline) == {"escalated": 1}
    assert tick(deadline + timedelta(days=1)) == {}  # once
    with Session(helpdesk.engine) as s:
        sent = s.exec(
            select(Notice).where(col(Notice.kind).in_(["review.reminder", "review.overdue"]))
        ).all()
        kinds = s.exec(
            select(ReviewEvent.kind)
            .where(ReviewEvent.action_id == aid)
            .order_by(col(ReviewEvent.id))
        ).all()
    assert sorted((n.kind, n.target) for n in sent) == [
        ("review.overdue", "chat-coordinator"),
        ("review.reminder", "chat-owner"),
    ]
    reminder = next(n for n in sent if n.kind == "review.reminder")
    assert [c["action"] for c in reminder.payload["choices"]] == [
        f"rv:act:{aid}:selesai",
        f"rv:act:{aid}:dikerjakan",
    ]
    assert "#" + str(aid) in reminder.payload["text"]
    assert list(kinds) == ["decision", "reminded", "escalated"]


def test_a_finished_action_is_neither_reminded_nor_escalated(helpdesk: Helpdesk) -> None:
    link(helpdesk, OWNER, "chat-owner")
    rid = open_november(helpdesk)
    aid = decide_vpn(helpdesk, rid)
    with session_scope(helpdesk.engine) as s:
        review_actions.change_state(s, person(s, OWNER), aid, "selesai", now=OPENED)
    late = datetime(2026, 12, 30, tzinfo=UTC)
    assert review_actions.review_tick(helpdesk.engine, late, TZ) == {}


# -- reports -------------------------------------------------------------------------------------


def _rows(report, name: str) -> list[list]:  # type: ignore[no-untyped-def]
    return next(t for t in report.tables if t.name == name).rows


def test_next_period_evaluation_shows_the_follow_up_before_and_after(helpdesk: Helpdesk) -> None:
    november(helpdesk)
    rid = open_november(helpdesk)
    aid = decide_vpn(helpdesk, rid)
    for state, at in (
        ("dikerjakan", datetime(2026, 12, 10, 2, tzinfo=UTC)),
        ("selesai", datetime(2026, 12, 15, 2, tzinfo=UTC)),
    ):
        with session_scope(helpdesk.engine) as s:
            review_actions.change_state(s, person(s, OWNER), aid, state, now=at)
    december(helpdesk)
    with Session(helpdesk.engine) as s:
        report = build_report("evaluation", s, start=DEC_START, end=DEC_END, tz=TZ, now=JAN)
        november_report = build_report(
            "evaluation", s, start=NOV_START, end=NOV_END, tz=TZ, now=JAN
        )
    follow = _rows(report, "follow_up")
    assert follow == [
        [
            aid,
            "2026-11-01 – 2026-11-30",
            "Perbarui prosedur tanggap gangguan VPN",
            "Budi Santoso",
            "2026-12-20",
            VPN,
            "selesai",
        ]
    ]
    effect = {r[2]: (r[3], r[4]) for r in _rows(report, "follow_up_effect")}
    assert effect == {
        "Tiket masuk": (2, 2),
        "Tiket selesai": (2, 2),
        "Kepatuhan SLA tanggap (%)": (50.0, 100.0),  # November A met, B late; December both met
        "Kepatuhan SLA penyelesaian (%)": (50.0, 100.0),
        # November 90 min down in 30 days; December none
        "Ketersediaan (%)": (round(100 * (1 - 5400 / (30 * 86400)), 3), 100.0),
        "Rata-rata waktu tanggap (jam)": (1.25, 0.5),  # (0.5 + 2) / 2; (0.25 + 0.75) / 2
        "Rata-rata waktu penyelesaian (jam)": (7.0, 4.0),  # (4 + 10) / 2; (2 + 6) / 2
    }
    # the reviewed period itself has no earlier review: no follow-up section
    assert not [t for t in november_report.tables if t.name.startswith("follow_up")]


def test_the_evaluation_shows_the_state_at_the_end_of_its_period(helpdesk: Helpdesk) -> None:
    """Done in January: December's evaluation still shows it in progress; a later
    period, after it was finished before it began, no longer lists it."""
    rid = open_november(helpdesk)
    aid = decide_vpn(helpdesk, rid, due=date(2026, 12, 31))
    for state, at in (
        ("dikerjakan", datetime(2026, 12, 10, 2, tzinfo=UTC)),
        ("selesai", datetime(2027, 1, 4, 2, tzinfo=UTC)),
    ):
        with session_scope(helpdesk.engine) as s:
            review_actions.change_state(s, person(s, OWNER), aid, state, now=at)
    later = datetime(2027, 3, 2, tzinfo=UTC)
    with Session(helpdesk.engine) as s:
        dec = build_report("evaluation", s, start=DEC_START, end=DEC_END, tz=TZ, now=later)
        jan = build_report(
            "evaluation", s, start=date(2027, 1, 1), end=date(2027, 1, 31), tz=TZ, now=later
        )
        feb = build_report(
            "evaluation", s, start=date(2027, 2, 1), end=date(2027, 2, 28), tz=TZ, now=later
        )
    assert [r[-1] for r in _rows(dec, "follow_up")] == ["dikerjakan"]
    assert [r[-1] for r in _rows(jan, "follow_up")] == ["selesai"]
    assert not [t for t in feb.tables if t.name == "follow_up"]


def test_exception_report_summary_and_follow_up_column(helpdesk: Helpdesk) -> None:
    november(helpdesk)
    rid = open_november(helpdesk)
    aid = decide_vpn(helpdesk, rid)
    with session_scope(helpdesk.engine) as s:
        f = s.exec(select(Ticket).where(Ticket.title == "F")).one()
        review = reviews.find(s, person(s, COORDINATOR), rid)
        second = reviews.add_decision(
            s,
            None,
            review,
            "Tambah petugas layanan surel",
            person(s, "andi.wijaya@kementerian.go.id"),
            date(2026, 12, 18),
            target=reviews.parse_target(s, f.number),
            now=OPENED,
            tz=TZ,
        )
        f_number, second_id = f.number, second.id
    with Session(helpdesk.engine) as s:
        report = build_report("exception", s, start=NOV_START, end=NOV_END, tz=TZ, now=JAN)
    assert report.tables[0].name == "summary"
    # B breached both SLAs (vpn), F the response SLA (e-mail); no alert unacknowledged
    # (all were taken), VPN's 99.79 % meets its 99 % target
    assert _rows(report, "unacknowledged") == [] and _rows(report, "below_target") == []
    assert _rows(report, "summary") == [
        [VPN, "SLA penyelesaian", 1],
        [VPN, "SLA tanggap", 1],
        [EMAIL, "SLA tanggap", 1],
    ]
    breaches = {(r[1], r[0]): r[-1] for r in _rows(report, "breaches")}
    b_number = next(k[0] for k in breaches if k[0] != f_number)
    assert breaches[(b_number, "SLA tanggap")] == f"#{aid} (terbuka)"
    assert breaches[(b_number, "SLA penyelesaian")] == f"#{aid} (terbuka)"
    # linked to the ticket and, through it, to its service: named once
    assert breaches[(f_number, "SLA tanggap")] == f"#{second_id} (terbuka)"


def test_review_report_lists_the_record(helpdesk: Helpdesk) -> None:
    november(helpdesk)
    rid = open_november(helpdesk)
    aid = decide_vpn(helpdesk, rid)
    with session_scope(helpdesk.engine) as s:
        coordinator = person(s, COORDINATOR)
        review = reviews.find(s, coordinator, rid)
        reviews.add_attendee(s, coordinator, review, coordinator, now=OPENED)
        reviews.add_finding(
            s, coordinator, review, "SLA tanggap VPN 50%", service_id="vpn", now=OPENED
        )
        reviews.close(s, coordinator, review, now=OPENED + timedelta(hours=2))
    with Session(helpdesk.engine) as s:
        report = build_report("review", s, start=NOV_START, end=NOV_END, tz=TZ, now=JAN)
        english = build_report("review", s, start=NOV_START, end=NOV_END, tz=TZ, now=JAN, lang="en")
        empty = build_report(
            "review", s, start=date(2026, 6, 1), end=date(2026, 6, 30), tz=TZ, now=JAN
        )
    assert _rows(report, "reviews") == [
        [
            rid,
            "2026-11-01 – 2026-11-30",
            "ditutup",
            "2026-12-02 10:00",
            "Nur Hidayati",
            "2026-12-02 12:00",
            "Nur Hidayati",
        ]
    ]
    assert _rows(report, "attendees") == [[rid, "Nur Hidayati", "Pusat Data dan Informasi"]]
    assert _rows(report, "findings") == [[rid, VPN, "SLA tanggap VPN 50%", "Nur Hidayati"]]
    assert [r[:7] for r in _rows(report, "actions")] == [
        [
            aid,
            rid,
            "Perbarui prosedur tanggap gangguan VPN",
            "Budi Santoso",
            "2026-12-20",
            VPN,
            "terbuka",
        ]
    ]
    figures = {r[1]: r[2:] for r in _rows(report, "figures")}
    assert set(figures) == {VPN, EMAIL}  # the services with tickets or monitoring
    assert figures[VPN] == [2, 2, 50.0, 50.0, round(100 * (1 - 5400 / (30 * 86400)), 3), 1.25, 7.0]
    events = [r[4] for r in _rows(report, "events")]
    assert events.count("diundang") == 7  # the coordinator and six service managers
    assert [e for e in events if e != "diundang"] == [
        "reviu dibuka",
        "keputusan",
        "hadir",
        "temuan",
        "status",
    ]
    assert [r[4] for r in _rows(english, "events")][0] == "review opened"
    assert all(not t.rows for t in empty.tables) and empty.notes


async def test_the_scheduler_runs_the_review_tick(helpdesk: Helpdesk) -> None:
    from bot.delivery import Deliverer
    from bot.jobs import Jobs

    jobs = Jobs(helpdesk, Deliverer(helpdesk.engine))
    jobs.start()
    try:
        job = jobs.scheduler.get_job("review-follow-up")
        assert job is not None and str(job.trigger) == "interval[0:15:00]"  # 900 s by default
        await job.func()  # nothing due: runs and records nothing
    finally:
        jobs.shutdown()


def test_the_evidence_pack_holds_the_review_record(helpdesk: Helpdesk) -> None:
    import io
    import zipfile

    from bot.reports.evidence import FORM_KINDS, build_pack

    open_november(helpdesk)
    with Session(helpdesk.engine) as s:
        data = build_pack(s, start=NOV_START, end=NOV_END, tz=TZ, now=JAN)
    n = FORM_KINDS.index("review") + 1
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        page = zf.read(f"{n:02d}-review.html").decode()
    assert "Dokumen Reviu Manajemen Layanan SPBE" in page and "2026-11-01 – 2026-11-30" in page
