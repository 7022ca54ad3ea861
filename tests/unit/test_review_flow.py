"""`/reviu` through the real conversation engine: a coordinator runs the whole cycle with
buttons (and a typed number where a channel has none), the owner finishes the action
from the reminder, and employees and forged buttons are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.core import review_actions
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.models import Person, Review, ReviewAction, ReviewAttendee, ReviewEvent, ReviewFinding
from tests.helpers import Chat
from tests.unit.test_reviews import COORDINATOR, EMPLOYEE, MANAGER, OPENED, OWNER, TZ, november

OTHER_TECH = "fajar.nugroho@kementerian.go.id"


def _review(helpdesk: Helpdesk) -> Review:
    with Session(helpdesk.engine) as s:
        return s.exec(select(Review)).one()


def _action(helpdesk: Helpdesk) -> ReviewAction:
    with Session(helpdesk.engine) as s:
        return s.exec(select(ReviewAction)).one()


def run_cycle(helpdesk: Helpdesk, coordinator: Chat) -> int:
    """November's tickets, then its review opened, recorded through the buttons and closed."""
    november(helpdesk)
    at = OPENED
    coordinator.say("/reviu", now=at)
    assert t("review.overview", n=0) in coordinator.text
    coordinator.press("rv:new", now=at)
    assert coordinator.actions == ["rv:period:2026-11", "rv:period:2026-Q3"]
    coordinator.say("1", now=at)  # typed, as on a channel without buttons
    rid = _review(helpdesk).id
    assert t("review.opened", id=rid, period="2026-11-01 – 2026-11-30") in coordinator.text
    assert "Akses Jarak Jauh (VPN): 2 tiket, SLA tanggap 50,0%" in coordinator.text
    coordinator.press(f"rv:att:{rid}", now=at)
    coordinator.say(f"{COORDINATOR}, Bambang", now=at)
    assert t("review.attendees_added", names="Nur Hidayati, Bambang Susilo") in coordinator.text
    coordinator.press(f"rv:find:{rid}", now=at)
    coordinator.say("SLA tanggap VPN hanya 50%", now=at)
    coordinator.press(f"rv:dec:{rid}", now=at)
    coordinator.say("Perbarui prosedur tanggap gangguan VPN", now=at)
    coordinator.say(OWNER, now=at)
    coordinator.say("2026-12-20", now=at)
    assert coordinator.actions == ["rv:notarget", "rv:stop"]
    coordinator.say("vpn", now=at)
    action = _action(helpdesk)
    assert t("review.decision_added", id=action.id, owner="Budi Santoso") in coordinator.text
    assert (action.service_id, action.due_on.isoformat()) == ("vpn", "2026-12-20")
    coordinator.press(f"rv:close:{rid}", now=at + timedelta(hours=1))
    assert t("review.closed_done", id=rid) in coordinator.text
    assert rid is not None
    return rid


def test_the_whole_cycle_in_chat(helpdesk: Helpdesk) -> None:
    coordinator = Chat.as_person(helpdesk, "console", COORDINATOR)
    owner = Chat.as_person(helpdesk, "console", OWNER)
    manager = Chat.as_person(helpdesk, "console", MANAGER)
    rid = run_cycle(helpdesk, coordinator)
    assert _review(helpdesk).state == "ditutup"
    with Session(helpdesk.engine) as s:
        assert len(s.exec(select(ReviewAttendee)).all()) == 2
        assert len(s.exec(select(ReviewFinding)).all()) == 1
        channels = {e.channel for e in s.exec(select(ReviewEvent))}
    assert channels == {"console"}
    invite = t("review.notice.invite", id=rid, period="2026-11-01 – 2026-11-30")
    assert invite in [n.text for n in manager.notices()]
    aid = _action(helpdesk).id
    assigned = [n.text for n in owner.notices()]
    assert any(f"#{aid}" in text for text in assigned)

    # two days before the end of 20 December (WIB) the owner is reminded, with buttons
    due_end = datetime(2026, 12, 20, 17, 0, tzinfo=UTC)
    review_actions.review_tick(helpdesk.engine, due_end - timedelta(days=2), TZ)
    [reminder] = owner.notices()
    assert f"#{aid}" in reminder.text
    # the reminder's button, pressed from the notice (not offered in this chat's turn)
    owner.act(f"rv:act:{aid}:selesai", now=due_end - timedelta(days=1))
    assert t("review.action_moved", id=aid, state="selesai") in owner.text
    assert _action(helpdesk).state == "selesai"
    # nothing left to escalate
    assert review_actions.review_tick(helpdesk.engine, due_end + timedelta(days=1), TZ) == {}


def test_owner_lists_and_moves_actions_by_typed_command(helpdesk: Helpdesk) -> None:
    coordinator = Chat.as_person(helpdesk, "console", COORDINATOR)
    run_cycle(helpdesk, coordinator)
    aid = _action(helpdesk).id
    owner = Chat.as_person(helpdesk, "console", OWNER)  # a technician: no review role
    owner.say("/reviu", now=OPENED)
    assert t("review.my_actions") in owner.text and owner.actions == [f"rv:act:{aid}:selesai"]
    owner.say(f"/reviu tindak {aid} dikerjakan", now=OPENED)
    assert t("review.action_moved", id=aid, state="dikerjakan") in owner.text
    owner.say(f"/reviu tindak {aid} dibatalkan", now=OPENED)  # only coordinators cancel
    assert owner.text == t("review.action.not_allowed")
    owner.say(f"/reviu tindak {aid} terbuka", now=OPENED)  # no way back
    assert owner.text == t("review.action.bad_transition", id=aid, old="dikerjakan", new="terbuka")


def test_employees_are_refused_every_command_and_button(helpdesk: Helpdesk) -> None:
    coordinator = Chat.as_person(helpdesk, "console", COORDINATOR)
    rid = run_cycle(helpdesk, coordinator)
    aid = _action(helpdesk).id
    employee = Chat.as_person(helpdesk, "console", EMPLOYEE)
    refused = t("review.not_allowed")
    for text in ("/reviu", f"/reviu {rid}", "/reviu buka 2026-10", f"/reviu tutup {rid}"):
        employee.say(text, now=OPENED)
        assert employee.text == refused, text
    for action in (f"rv:show:{rid}", f"rv:att:{rid}", f"rv:close:{rid}", "rv:new", "rv:show:999"):
        employee.act(action, now=OPENED)
        assert employee.text == refused, action
    employee.act(f"rv:act:{aid}:selesai", now=OPENED)
    assert employee.text == t("review.action.not_allowed")
    anonymous = Chat(helpdesk, "web", "visitor-9")
    anonymous.say("/reviu", now=OPENED)
    assert anonymous.text == refused
    assert _action(helpdesk).state == "terbuka"


def test_forged_and_stale_buttons_are_refused(helpdesk: Helpdesk) -> None:
    coordinator = Chat.as_person(helpdesk, "console", COORDINATOR)
    manager = Chat.as_person(helpdesk, "console", MANAGER)
    other = Chat.as_person(helpdesk, "console", OTHER_TECH)
    rid = run_cycle(helpdesk, coordinator)
    aid = _action(helpdesk).id
    stale = t("input.stale_choice")
    coordinator.act("rv:show:abc", now=OPENED)
    assert coordinator.text == t("review.not_found", id="abc")
    coordinator.act(f"rv:act:{aid}:hapus", now=OPENED)  # no such state
    assert stale in coordinator.text
    coordinator.act("rv:period:2026-10", now=OPENED)  # not asked for a period now
    assert stale in coordinator.text
    coordinator.say("/reviu buka", now=OPENED)  # now asked for a period
    coordinator.act("rv:period:2026-13", now=OPENED)
    assert coordinator.text == t("review.bad_period")
    coordinator.act(f"rv:find:{rid}", now=OPENED)  # the review is closed
    assert coordinator.text == t("review.closed", id=rid)
    other.act(f"rv:act:{aid}:selesai", now=OPENED)  # a technician, not the owner (English)
    assert other.text == t("review.action.not_allowed", "en")
    other.act("rv:act:99999:selesai", now=OPENED)  # nor can numbers be probed
    assert other.text == t("review.action.not_allowed", "en")
    manager.act(f"rv:close:{rid}", now=OPENED)
    assert manager.text == t("review.not_allowed")
    assert _action(helpdesk).state == "terbuka"


def test_incomplete_review_is_not_closed_and_steps_can_be_stopped(helpdesk: Helpdesk) -> None:
    coordinator = Chat.as_person(helpdesk, "console", COORDINATOR)
    coordinator.say("/reviu buka 2026-10-01 2026-10-31", now=OPENED)
    rid = _review(helpdesk).id
    coordinator.press(f"rv:close:{rid}", now=OPENED)
    missing = "daftar hadir, temuan, keputusan / tindak lanjut"
    assert coordinator.text == t("review.incomplete", id=rid, missing=missing)
    coordinator.say(f"/reviu {rid}", now=OPENED)
    coordinator.press(f"rv:dec:{rid}", now=OPENED)
    coordinator.say("Perbaiki", now=OPENED)
    coordinator.say("siapa saja", now=OPENED)  # nobody by that name: asked again
    assert coordinator.text == t("review.unknown_person", who="siapa saja")
    coordinator.say(OWNER, now=OPENED)
    coordinator.say("besok pagi", now=OPENED)
    assert coordinator.text == t("review.bad_due")
    coordinator.act("rv:stop", now=OPENED)
    assert coordinator.text == t("review.stopped")
    with Session(helpdesk.engine) as s:
        assert s.exec(select(ReviewAction)).all() == []
    coordinator.say("/reviu buka 2026-10-01 2026-10-31", now=OPENED)
    assert coordinator.text == t("review.exists", id=rid, period="2026-10-01 – 2026-10-31")
    coordinator.say("/reviu buka kemarin", now=OPENED)
    assert coordinator.text == t("review.bad_period")
    coordinator.say("/reviu apa", now=OPENED)
    assert coordinator.text == t("review.usage")


def test_the_flow_speaks_english(helpdesk: Helpdesk) -> None:
    nur = Chat.as_person(helpdesk, "console", COORDINATOR)
    with Session(helpdesk.engine) as s:
        p = s.exec(select(Person).where(Person.email == COORDINATOR)).one()
        p.lang = "en"
        s.add(p)
        s.commit()
    nur.say("/review open 2026-11", now=OPENED)
    rid = _review(helpdesk).id
    assert t("review.opened", "en", id=rid, period="2026-11-01 – 2026-11-30") in nur.text
    assert [c.label for r in nur.replies for c in r.choices][:3] == [
        "Attendance",
        "Record a finding",
        "Record a decision",
    ]
