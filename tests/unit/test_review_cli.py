"""`helpdesk review …`: the whole cycle at a terminal, with refusals as exit status 1.

The CLI works at the real time: the reviewed period (January 2026) is long over and the
due date is set from today's date, so no assertion depends on the clock."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings
from bot.i18n import t
from storage.db import make_engine
from storage.models import Person, Review, ReviewAction, ReviewEvent
from tests.unit.test_cli import env
from tests.unit.test_reviews import COORDINATOR, EMPLOYEE, OWNER

runner = CliRunner()


def cli(settings: Settings, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["review", *args], env=env(settings))
    return result.exit_code, result.output.strip()


def test_the_whole_cycle_through_the_cli(settings: Settings) -> None:
    due = (date.today() + timedelta(days=30)).isoformat()
    period = "2026-01-01 – 2026-01-31"
    assert cli(settings, "open", "2026-01", "--by", COORDINATOR) == (
        0,
        t("review.opened", id=1, period=period),
    )
    code, out = cli(settings, "close", "1")
    assert code == 1 and t("review.missing.attendees") in out
    assert cli(settings, "attend", "1", f"{COORDINATOR}, Bambang")[1] == t(
        "review.attendees_added", names="Nur Hidayati, Bambang Susilo"
    )
    assert cli(settings, "finding", "1", "SLA tanggap VPN 50%", "--service", "vpn")[0] == 0
    code, out = cli(
        settings,
        "decide",
        "1",
        "Perbarui prosedur tanggap VPN",
        "--owner",
        OWNER,
        "--due",
        due,
        "--target",
        "vpn",
        "--by",
        COORDINATOR,
    )
    assert (code, out) == (0, t("review.decision_added", id=1, owner="Budi Santoso"))
    assert cli(settings, "close", "1", "--by", COORDINATOR) == (0, t("review.closed_done", id=1))
    code, out = cli(settings, "show", "1")
    assert code == 0 and "Nur Hidayati" in out and "Perbarui prosedur tanggap VPN" in out
    assert cli(settings, "action", "1", "selesai", "--by", OWNER, "--note", "SOP terbit") == (
        0,
        t("review.action_moved", id=1, state="selesai"),
    )
    assert cli(settings, "list") == (0, f"#   1  {period}  ditutup")

    engine = make_engine(settings.resolved_database_url)
    try:
        with Session(engine) as s:
            review = s.exec(select(Review)).one()
            action = s.exec(select(ReviewAction)).one()
            events = s.exec(
                select(ReviewEvent)
                .where(ReviewEvent.kind != "invited")
                .order_by(col(ReviewEvent.id))
            ).all()
            ids = {p.email: p.id for p in s.exec(select(Person))}
    finally:
        engine.dispose()
    assert (review.state, review.opened_by, review.closed_by) == (
        "ditutup",
        ids[COORDINATOR],
        ids[COORDINATOR],
    )
    assert (action.state, action.service_id, action.due_on.isoformat()) == ("selesai", "vpn", due)
    assert {e.channel for e in events} == {"cli"}
    assert [(e.kind, e.actor_id) for e in events] == [
        ("opened", ids[COORDINATOR]),
        ("attendee", None),  # no --by: the record says the CLI did it
        ("attendee", None),
        ("finding", None),
        ("decision", ids[COORDINATOR]),
        ("state", ids[COORDINATOR]),
        ("state", ids[OWNER]),
    ]
    assert events[-1].note == "SOP terbit"


def test_the_cli_refuses_bad_input_with_the_reason(settings: Settings) -> None:
    assert cli(settings, "open", "2026-13") == (1, t("review.bad_period"))
    assert cli(settings, "open", "2026-01", "--by", EMPLOYEE) == (1, t("review.not_allowed"))
    assert cli(settings, "open", "2026-01", "--by", "nobody@example.org") == (
        1,
        t("review.unknown_person", who="nobody@example.org"),
    )
    assert cli(settings, "show", "7") == (1, t("review.not_found", id="7"))
    assert cli(settings, "open", "2026-01")[0] == 0
    assert cli(settings, "open", "2026-01") == (
        1,
        t("review.exists", id=1, period="2026-01-01 – 2026-01-31"),
    )
    code, out = cli(
        settings, "decide", "1", "Perbaiki sesuatu", "--owner", OWNER, "--due", "kemarin"
    )
    assert (code, out) == (1, t("review.bad_due"))
    assert cli(settings, "action", "5", "selesai") == (1, t("review.action.not_found", id="5"))
    assert cli(settings, "action", "5", "hapus") == (
        1,
        t("review.action.bad_state", states="terbuka, dikerjakan, selesai, dibatalkan"),
    )
