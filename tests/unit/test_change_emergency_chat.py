"""An emergency change already under way, raised in chat (until now only the CLI could):
the typed /perubahan flow with kind darurat and "Sudah berjalan", through the real
conversation engine on SQLite and PostgreSQL. It is approved at once, its maintenance
window is open now, and its review is due N working days after the window, as for the
CLI (the same core function). `NOW` is Monday 7 Dec 2026, 09:00 WIB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.core import change_policy
from bot.core.change_reviews import change_tick
from bot.i18n import fmt_dt, t
from bot.runtime import Helpdesk
from storage.models import ChangeEvent, ChangeRequest, MaintenanceWindow
from tests.helpers import Chat

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
TECH = "budi.santoso@kementerian.go.id"
MANAGER = "bambang.susilo@kementerian.go.id"
NUMBER = "CHG-2026-000001"


def until_when(chat: Chat, kind: str = "darurat") -> None:
    chat.say("/perubahan baru", now=NOW)
    chat.press("chg:svc:vpn", now=NOW)
    chat.press(f"chg:kind:{kind}", now=NOW)
    chat.say("Tambal darurat celah keamanan gateway VPN", now=NOW)
    chat.press("chg:risk:tinggi", now=NOW)
    for answer in (
        "VPN putus beberapa kali selama pemasangan",
        "Pasang tambalan vendor, mulai ulang node satu per satu",
        "Login diuji di node cadangan: lulus",
        "Celah CVE tertutup menurut pemindaian ulang",
        "Beban 300 sesi di node cadangan: stabil",
        "Kembalikan image node dari snapshot sebelum tambalan",
    ):
        chat.say(answer, now=NOW)


def only_change(helpdesk: Helpdesk) -> ChangeRequest:
    with Session(helpdesk.engine) as s:
        return s.exec(select(ChangeRequest)).one()


def test_an_emergency_change_under_way_is_raised_in_chat(helpdesk: Helpdesk) -> None:
    tech = Chat.as_person(helpdesk, "console", TECH)
    manager = Chat.as_person(helpdesk, "console", MANAGER)
    until_when(tech)
    assert tech.text == t("changes.ask_when_emergency")
    assert tech.actions[0] == "chg:started"
    tech.press("chg:started", now=NOW)
    assert tech.text == t("changes.ask_started")
    tech.say("hari ini 10.00-12.00", now=NOW)  # not begun yet: refused, nothing lost
    assert tech.text == t("changes.started_future")
    tech.say("hari ini 08.00-12.00", now=NOW)
    start, end = datetime(2026, 12, 7, 1, 0, tzinfo=UTC), datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
    due = change_policy.DEFAULT.review_due(end)
    assert due == datetime(2026, 12, 9, 5, 0, tzinfo=UTC)  # two working days after the end
    assert t("changes.confirm_started", start=fmt_dt(start), due=fmt_dt(due)) in tech.text
    assert t("changes.rule.none") in tech.text
    tech.press("chg:send", now=NOW)
    assert t("changes.review_due", number=NUMBER, due=fmt_dt(due)) in tech.text
    change = only_change(helpdesk)
    assert (change.kind, change.state, change.requested_channel) == (
        "darurat",
        "disetujui",
        "console",
    )
    assert (change.planned_start, change.planned_end, change.review_due_at) == (start, end, due)
    with Session(helpdesk.engine) as s:
        window = s.get(MaintenanceWindow, change.maintenance_id)
        assert window is not None and window.starts_at == start  # open now, not announced ahead
        moves = [
            (e.old, e.new, e.channel) for e in s.exec(select(ChangeEvent)) if e.kind == "state"
        ]
        assert moves == [("diajukan", "disetujui", "console")]
    # after the window: the requester and the service manager are reminded of the review
    assert change_tick(helpdesk.engine, end + timedelta(minutes=1))["reminder"] == 1
    assert any(NUMBER in r.text for r in manager.notices())
    manager.say(f"/perubahan hasil {NUMBER} berhasil", now=end)
    manager.say(f"/perubahan tinjau {NUMBER} Tambalan terpasang, tanpa insiden lanjutan", now=end)
    assert manager.text == t("changes.reviewed", number=NUMBER)


def test_typed_started_a_past_start_and_a_date_before_today(helpdesk: Helpdesk) -> None:
    tech = Chat.as_person(helpdesk, "console", TECH)
    until_when(tech)
    tech.say("sudah berjalan", now=NOW)  # typed, where a platform shows no buttons
    assert tech.text == t("changes.ask_started")
    tech.say("6/12 22.00 - 7/12 12.00", now=NOW)  # began last night
    assert t("changes.confirm_started", start="6 Des 2026 22.00 WIB",
             due="9 Des 2026 12.00 WIB") in tech.text  # fmt: skip
    tech.press("cancel", now=NOW)
    # without the button: a start that has passed says it is under way
    until_when(tech)
    tech.say("hari ini 07.30-11.00", now=NOW)
    assert t("changes.confirm_started", start="7 Des 2026 07.30 WIB",
             due="9 Des 2026 11.00 WIB") in tech.text  # fmt: skip
    tech.press("chg:send", now=NOW)
    assert only_change(helpdesk).planned_start == datetime(2026, 12, 7, 0, 30, tzinfo=UTC)


def test_a_planned_emergency_and_normal_changes_still_need_a_future_start(
    helpdesk: Helpdesk,
) -> None:
    tech = Chat.as_person(helpdesk, "console", TECH)
    until_when(tech)
    tech.say("hari ini 20.00-22.00", now=NOW)
    assert t("changes.confirm_emergency", start="7 Des 2026 20.00 WIB",
             due="9 Des 2026 22.00 WIB") in tech.text  # fmt: skip
    tech.press("cancel", now=NOW)
    until_when(tech, kind="normal")
    assert tech.text == t("changes.ask_when") and "chg:started" not in tech.actions
    tech.act("chg:started", now=NOW)  # forged: not for a normal change
    assert tech.text == t("input.stale_choice")
    tech.say("sudah berjalan", now=NOW)
    assert tech.text == t("maintenance.when.unreadable", text="sudah berjalan")
    tech.say("hari ini 08.00-12.00", now=NOW)
    assert tech.text == t("maintenance.when.in_past")
