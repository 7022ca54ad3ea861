"""/perubahan and /rilis through the real conversation engine (tests.helpers.Chat), on
SQLite and PostgreSQL: the guided request, approval buttons, refusals, forged and
doubled presses, clashes, results, review and release. `NOW` is Monday 7 Dec 2026,
09:00 WIB, so "besok 22.00-23.00" is Tuesday 8 Dec 22:00–23:00 WIB."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from bot.core import maintenance
from bot.dialogue.messages import Incoming
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import ChangeRequest, Conversation, Notice
from tests.helpers import Chat

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
START, END = datetime(2026, 12, 8, 15, 0, tzinfo=UTC), datetime(2026, 12, 8, 16, 0, tzinfo=UTC)
COORDINATOR = "nur.hidayati@kementerian.go.id"
MANAGER = "bambang.susilo@kementerian.go.id"
TECH = "budi.santoso@kementerian.go.id"
EMPLOYEE = "lina.marlina@kementerian.go.id"
NUMBER = "CHG-2026-000001"


def state_of(helpdesk: Helpdesk, chat: Chat) -> str:
    with Session(helpdesk.engine) as s:
        conv = s.exec(
            select(Conversation).where(
                Conversation.channel == chat.channel, Conversation.chat_id == chat.chat_id
            )
        ).one()
        return conv.state


def only_change(helpdesk: Helpdesk) -> ChangeRequest:
    with Session(helpdesk.engine) as s:
        return s.exec(select(ChangeRequest)).one()


def guided_until_when(tech: Chat) -> None:
    tech.say("/perubahan baru", now=NOW)
    assert "chg:svc:vpn" in tech.actions
    assert "chg:svc:eoffice" not in tech.actions  # not one of Budi's services
    tech.press("chg:svc:vpn", now=NOW)
    assert tech.actions[:3] == ["chg:kind:standar", "chg:kind:normal", "chg:kind:darurat"]
    tech.press("chg:kind:normal", now=NOW)
    tech.say("Pembaruan firmware gateway VPN ke versi 9.2", now=NOW)
    assert tech.actions[:3] == ["chg:risk:rendah", "chg:risk:sedang", "chg:risk:tinggi"]
    tech.press("chg:risk:tinggi", now=NOW)
    assert tech.text == t("changes.ask.impact")
    tech.say("pendek", now=NOW)  # too short: asked again, nothing lost
    assert tech.text == t("changes.too_short", n=10)
    for answer, next_key in [
        ("VPN tidak dapat diakses selama satu jam", "changes.ask.plan"),
        ("Cadangkan konfigurasi, pasang firmware, mulai ulang", "changes.ask.test_functional"),
        ("Login dan akses aplikasi diuji di lab: lulus", "changes.ask.test_security"),
        ("Pemindaian kerentanan: tidak ada temuan tinggi", "changes.ask.test_performance"),
        ("Uji beban 500 sesi serentak: latensi < 40 ms", "changes.ask.rollback_plan"),
        ("Pasang kembali firmware 9.1 dari cadangan", "changes.ask_when"),
    ]:
        tech.say(answer, now=NOW)
        assert tech.text == t(next_key), answer


def test_guided_request_approved_by_both_and_released(helpdesk: Helpdesk) -> None:
    tech = Chat.as_person(helpdesk, "console", TECH)
    coordinator = Chat.as_person(helpdesk, "console", COORDINATOR)
    manager = Chat.as_person(helpdesk, "console", MANAGER)
    guided_until_when(tech)
    tech.say("besok 22.00-23.00", now=NOW)
    assert "8 Des 2026 22.00 WIB s.d. 8 Des 2026 23.00 WIB" in tech.text
    assert t("changes.rule.all") in tech.text
    tech.press("chg:send", now=NOW)
    assert tech.text == t("changes.created", number=NUMBER, state=t("changes.state.diajukan"))
    tech.act("chg:send", now=NOW)  # a double press sends nothing twice
    assert tech.text == t("input.stale_choice")
    change = only_change(helpdesk)
    assert (change.risk, change.planned_start, change.planned_end) == ("tinggi", START, END)
    assert change.test_performance == "Uji beban 500 sesi serentak: latensi < 40 ms"
    # the approvers' chats got the request (a pull channel: as a notice)
    assert NUMBER in coordinator.notices()[0].text
    assert NUMBER in manager.notices()[0].text
    coordinator.act(f"chg:ok:{change.id}", now=NOW)
    assert coordinator.text == t(
        "changes.decided", number=NUMBER, state=t("changes.state.diajukan")
    )
    coordinator.act(f"chg:ok:{change.id}", now=NOW)  # double press
    assert coordinator.text == t("changes.already_approved", number=NUMBER)
    manager.act(f"chg:ok:{change.id}", now=NOW)
    assert manager.text == t("changes.decided", number=NUMBER, state=t("changes.state.disetujui"))
    assert t("changes.notice.approved", number=NUMBER, title=change.title) in [
        r.text for r in tech.notices()
    ]
    # carried out: the result from the buttons of /perubahan NUMBER, then the release
    tech.say(f"/perubahan {NUMBER}", now=END)
    assert f"chg:res:{change.id}:berhasil" in tech.actions
    tech.press(f"chg:res:{change.id}:berhasil", now=END)
    assert tech.actions == [f"rel:new:{change.id}"]
    tech.press(f"rel:new:{change.id}", now=END)
    assert tech.text == t("releases.ask_notes", number=NUMBER)
    tech.say("Firmware VPN diperbarui; sambungan lebih stabil", now=END)
    tech.press("rel:skip", now=END)
    assert tech.text == t("releases.ask_sop")
    tech.say("sop vpn", now=END)
    assert tech.text == t("releases.bad_sop")
    tech.say("https://intranet.kementerian.go.id/sop/vpn", now=END)
    tech.press("rel:send", now=END)
    assert tech.text.startswith("🚀")
    assert any("Firmware VPN diperbarui" in r.text for r in manager.notices())
    # the review by an approver closes it
    manager.say(f"/perubahan tinjau {NUMBER} Berjalan lancar tanpa gangguan berarti", now=END)
    assert manager.text == t("changes.reviewed", number=NUMBER)
    assert only_change(helpdesk).state == "ditinjau"


def test_clash_is_refused_in_the_when_step_with_the_clash_named(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        window_id = maintenance.schedule(s, None, ["vpn"], START, END, "VPN putus", now=NOW).id
    tech = Chat.as_person(helpdesk, "console", TECH)
    guided_until_when(tech)
    tech.say("besok 22.30-23.30", now=NOW)
    assert tech.text == t(
        "changes.clash_maintenance",
        id=window_id,
        start="8 Des 2026 22.00 WIB",
        end="8 Des 2026 23.00 WIB",
    )
    assert state_of(helpdesk, tech) == "chg_when"  # still asked for a time
    tech.say("besok 23.00-23.30", now=NOW)
    tech.press("chg:send", now=NOW)
    assert NUMBER in tech.text


def test_employees_are_refused_everywhere(helpdesk: Helpdesk) -> None:
    tech = Chat.as_person(helpdesk, "console", TECH)
    guided_until_when(tech)
    tech.say("besok 22.00-23.00", now=NOW)
    tech.press("chg:send", now=NOW)
    change_id = only_change(helpdesk).id
    employee = Chat.as_person(helpdesk, "console", EMPLOYEE)
    employee.say("/perubahan baru", now=NOW)
    assert employee.text == t("changes.not_allowed")
    employee.say("/perubahan", now=NOW)
    assert employee.text == t("changes.not_allowed_view")
    employee.act("chg:new", now=NOW)
    assert employee.text == t("changes.not_allowed")
    for action in (f"chg:ok:{change_id}", f"chg:no:{change_id}", f"chg:info:{change_id}"):
        employee.act(action, now=NOW)
        assert employee.text == t("changes.not_approver"), action
    employee.say(f"/perubahan setujui {NUMBER}", now=NOW)
    assert employee.text == t("changes.not_approver")
    employee.act("chg:svc:vpn", now=NOW)  # a step of the guided flow, forged
    assert employee.text == t("changes.not_allowed")
    assert only_change(helpdesk).state == "diajukan"
    # the requester cannot approve it either, nor record a result before approval
    tech.act(f"chg:ok:{change_id}", now=NOW)
    assert tech.text == t("changes.not_approver")
    tech.say(f"/perubahan hasil {NUMBER} berhasil", now=NOW)
    assert tech.text == t("changes.not_approved", number=NUMBER)


def test_forged_and_stale_buttons(helpdesk: Helpdesk) -> None:
    coordinator = Chat.as_person(helpdesk, "console", COORDINATOR)
    stale = t("input.stale_choice")
    for action in ("chg:ok:abc", "chg:ok:", "chg:res:1:meledak", "chg:show:x", "rel:new:7"):
        coordinator.act(action, now=NOW)
        assert coordinator.text == stale, action
    coordinator.act("chg:ok:999", now=NOW)  # a well-formed id nobody has
    assert coordinator.text == t("changes.not_found", ref="999")
    coordinator.say("/perubahan baru", now=NOW)
    coordinator.press("chg:svc:vpn", now=NOW)
    coordinator.act("chg:kind:besar", now=NOW)
    assert coordinator.text == stale
    coordinator.act("chg:risk:sedang", now=NOW)  # not the step it is in
    assert coordinator.text == stale
    coordinator.say("/perubahan CHG-2026-999999", now=NOW)
    assert coordinator.text == t("changes.not_found", ref="CHG-2026-999999")


def test_reject_in_private_and_in_a_group_and_info_answered(helpdesk: Helpdesk) -> None:
    tech = Chat.as_person(helpdesk, "console", TECH)
    coordinator = Chat.as_person(helpdesk, "console", COORDINATOR)
    guided_until_when(tech)
    tech.say("besok 22.00-23.00", now=NOW)
    tech.press("chg:send", now=NOW)
    change_id = only_change(helpdesk).id
    # Minta info, then the question typed
    coordinator.act(f"chg:info:{change_id}", now=NOW)
    assert coordinator.text == t("changes.ask_note.info", number=NUMBER)
    coordinator.say("Berapa lama VPN benar-benar putus?", now=NOW)
    assert coordinator.text == t(
        "changes.decided", number=NUMBER, state=t("changes.state.perlu_info")
    )
    assert any("Berapa lama VPN benar-benar putus?" in r.text for r in tech.notices())
    tech.say(f"/perubahan jawab {NUMBER} Sekitar dua puluh menit saja", now=NOW)
    assert tech.text == t("changes.answered", number=NUMBER)
    # in an operator group, Tolak shows the command to type (free text is no answer there)
    group = Incoming(
        channel="console", chat_id="ops-group", user_id=coordinator.user_id,
        action=f"chg:no:{change_id}", group=True,
    )  # fmt: skip
    replies = helpdesk.conversations.handle(group, now=NOW)
    assert replies[0].text == t("changes.note_in_group", verb="tolak", number=NUMBER)
    typed = Incoming(
        channel="console", chat_id="ops-group", user_id=coordinator.user_id,
        text=f"/perubahan tolak {NUMBER} Belum ada uji di jam sibuk", group=True,
    )  # fmt: skip
    replies = helpdesk.conversations.handle(typed, now=NOW)
    assert replies[0].text == t("changes.decided", number=NUMBER, state=t("changes.state.ditolak"))
    with Session(helpdesk.engine) as s:
        rejected = [
            n for n in s.exec(select(Notice)) if "Belum ada uji di jam sibuk" in str(n.payload)
        ]
    assert len(rejected) == 1  # the requester is told once
    # a private Tolak after the decision: refused at once, before any reason is typed
    coordinator.act(f"chg:no:{change_id}", now=NOW)
    assert coordinator.text == t("changes.not_pending", number=NUMBER)
    assert state_of(helpdesk, coordinator) != "chg_note"


def test_listing_for_operators(helpdesk: Helpdesk) -> None:
    tech = Chat.as_person(helpdesk, "console", TECH)
    tech.say("/perubahan", now=NOW)
    assert tech.text.startswith(t("changes.list_none"))
    assert "chg:new" in tech.actions
    guided_until_when(tech)
    tech.say("besok 22.00-23.00", now=NOW)
    tech.press("chg:send", now=NOW)
    tech.say("/perubahan", now=NOW)
    assert NUMBER in tech.text and t("changes.state.diajukan") in tech.text
    assert tech.actions[0] == f"chg:show:{only_change(helpdesk).id}"
