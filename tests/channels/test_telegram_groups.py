"""Operator groups over real HTTP: alerts posted by the outbox with Ambil / Akui /
Selesai, pressed in the group, the post edited in place; refusals as alerts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.core import people, tickets
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import AlertPost, OperatorChannel, Problem, Ticket, TicketEvent
from tests.channels.fake_telegram import Call, FakeBotApi, Updates, buttons
from tests.channels.telegram_harness import BotUnderTest

GROUP_ID = -1001500
GROUP = Updates.group_chat(GROUP_ID)
REPORTER = Updates.user(1001, "Lina", "Marlina")
OPERATOR = Updates.user(2001, "Fajar", "N.")
STRANGER = Updates.user(3001, "Tamu")
#: Fajar Nugroho's language in the sample people file: the core answers him in English
OP = "en"


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    fake = FakeBotApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def ups() -> Updates:
    return Updates()


@pytest.fixture
def bot(helpdesk: Helpdesk, api: FakeBotApi) -> Iterator[BotUnderTest]:
    with BotUnderTest(helpdesk, api, operator_chats=(GROUP_ID,)) as running:
        yield running
        assert running.errors == []


def link(bot: BotUnderTest, ups: Updates, user: dict[str, Any], email: str) -> None:
    """The person sends /tautkan CODE to the bot in a private chat."""
    with session_scope(bot.helpdesk.engine) as s:
        person = people.find_person(s, email)
        assert person is not None
        code = people.issue_link_code(s, person, ttl=timedelta(minutes=5))
    bot.send(ups.text(user, f"/tautkan {code}"))
    assert person.name in bot.api.sent(user["id"])[-1].params["text"]


def open_p1(bot: BotUnderTest) -> str:
    with session_scope(bot.helpdesk.engine) as s:
        reporter = people.ensure_person(s, "telegram", "1001", "Lina Marlina")
        ticket = tickets.open_ticket(
            s,
            type_="gangguan",
            title="VPN mati untuk semua pegawai",
            service_id="vpn",
            impact=1,
            urgency=1,
            reporter=reporter,
            channel="telegram",
            chat_id="1001",
        )
        return ticket.number


def ticket(helpdesk: Helpdesk, number: str) -> Ticket:
    with Session(helpdesk.engine) as s:
        return s.exec(select(Ticket).where(Ticket.number == number)).one()


def events(helpdesk: Helpdesk, number: str) -> int:
    with Session(helpdesk.engine) as s:
        return len(s.exec(select(TicketEvent).join(Ticket).where(Ticket.number == number)).all())


def posted_alert(bot: BotUnderTest, number: str) -> Call:
    bot.deliver()
    (post,) = [c for c in bot.api.sent(GROUP_ID) if number in c.params["text"]]
    return post


def test_take_and_resolve_from_the_group_edit_the_alert_in_place(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    link(bot, ups, OPERATOR, "fajar.nugroho@kementerian.go.id")
    number = open_p1(bot)
    post = posted_alert(bot, number)
    assert post.params["text"].startswith(f"🚨 P1 · {number} · Akses Jarak Jauh (VPN)")
    assert buttons(post) == [
        ("Ambil", f"t:take:{number}"),
        ("Akui", f"t:ack:{number}"),
        ("Selesai", f"t:resolve:{number}"),
        ("Jadikan masalah", f"pb:new:{number}"),  # an incident's cause may be a problem
    ]
    with Session(helpdesk.engine) as s:
        ref = s.exec(select(AlertPost.message_ref).where(AlertPost.target == str(GROUP_ID))).one()
    assert ref == str(post.result["message_id"])

    # Ambil: a toast for the operator, no chat message; the post is edited by the outbox
    start = api.mark()
    take = ups.press(OPERATOR, post.result, f"t:take:{number}")
    bot.send(take)
    (toast,) = api.since(start)
    assert toast.method == "answerCallbackQuery"
    assert toast.params == {
        "callback_query_id": take["callback_query"]["id"],
        "text": t("ticket.taken", OP, number=number),
    }
    assert ticket(helpdesk, number).state == "dikerjakan"
    bot.deliver()
    (edit,) = api.since(start, "editMessageText")
    assert (edit.params["chat_id"], edit.params["message_id"]) == (str(GROUP_ID), ref)
    assert "🔧 Dikerjakan oleh Fajar Nugroho" in edit.params["text"]
    assert "✔ Diakui oleh Fajar Nugroho" in edit.params["text"]
    assert buttons(edit) == [
        ("Ambil", f"t:take:{number}"),
        ("Selesai", f"t:resolve:{number}"),
        ("Jadikan masalah", f"pb:new:{number}"),
    ]
    # the reporter hears of it in their private chat
    assert any(
        number in c.params["text"]
        for c in api.since(start, "sendMessage")
        if c.params["chat_id"] == "1001"
    )

    # Ambil pressed again: nothing changes, nothing is edited
    before = events(helpdesk, number)
    start = api.mark()
    again = ups.press(OPERATOR, edit.result, f"t:take:{number}")
    bot.send(again)
    bot.deliver()
    assert [c.method for c in api.since(start)] == ["answerCallbackQuery"]
    assert events(helpdesk, number) == before

    # Selesai: the note is asked with ForceReply, mentioning the operator
    start = api.mark()
    bot.send(ups.press(OPERATOR, edit.result, f"t:resolve:{number}"))
    answered, ask = api.since(start)
    assert answered.method == "answerCallbackQuery" and "text" not in answered.params
    prompt = f"{t('resolve.ask_note', OP, number=number)}\n{t('telegram.reply_hint', OP)}"
    assert ask.params["text"] == f"Fajar N.: {prompt}"
    assert ask.params["reply_markup"] == {"force_reply": True, "selective": True}
    assert ask.params["entities"] == [
        {
            "type": "text_mention",
            "offset": 0,
            "length": 8,
            "user": {
                "id": 2001,
                "is_bot": False,
                "first_name": "Fajar",
                "last_name": "N.",
                "language_code": "id",
            },
        }
    ]
    note = ups.text(OPERATOR, "Konsentrator VPN dinyalakan ulang", GROUP, reply_to=ask.result)
    bot.send(note)
    cause_ask = api.sent(GROUP_ID)[-1]
    assert (
        cause_ask.params["text"] == f"{t('resolve.ask_cause', OP)}\n{t('telegram.reply_hint', OP)}"
    )
    assert cause_ask.params["reply_parameters"] == {
        "message_id": note["message"]["message_id"],
        "allow_sending_without_reply": True,
    }
    assert cause_ask.params["reply_markup"] == {"force_reply": True, "selective": True}
    bot.send(ups.text(OPERATOR, "Sertifikat server kedaluwarsa", GROUP, reply_to=cause_ask.result))
    assert api.sent(GROUP_ID)[-1].params["text"] == t("ticket.resolved", OP, number=number)
    done = ticket(helpdesk, number)
    assert (done.state, done.resolution, done.root_cause) == (
        "selesai",
        "Konsentrator VPN dinyalakan ulang",
        "Sertifikat server kedaluwarsa",
    )

    start = api.mark()
    bot.deliver()
    (final,) = api.since(start, "editMessageText")
    assert (
        final.params["message_id"] == ref
        and "✅ Diselesaikan oleh Fajar Nugroho" in final.params["text"]
    )
    assert "reply_markup" not in final.params  # nothing left to press


def test_acknowledge_from_the_group(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    link(bot, ups, OPERATOR, "fajar.nugroho@kementerian.go.id")
    number = open_p1(bot)
    post = posted_alert(bot, number)
    start = api.mark()
    bot.send(ups.press(OPERATOR, post.result, f"t:ack:{number}"))
    (toast,) = api.since(start)
    acked = ticket(helpdesk, number)
    assert acked.acknowledged_at is not None and acked.state == "ditugaskan"
    head = t("ticket.acknowledged", OP, number=number, at="@").split("@")[0]
    assert toast.params["text"].startswith(head) and len(toast.params["text"]) > len(head)
    assert number in toast.params["text"] and "show_alert" not in toast.params
    bot.deliver()
    (edit,) = api.since(start, "editMessageText")
    assert edit.params["message_id"] == str(post.result["message_id"])
    assert "✔ Diakui oleh Fajar Nugroho" in edit.params["text"]
    assert ("Akui", f"t:ack:{number}") not in buttons(edit)


def test_a_button_pressed_without_the_role_is_refused_with_an_alert(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    number = open_p1(bot)
    post = posted_alert(bot, number)
    before, state = events(helpdesk, number), ticket(helpdesk, number).state
    start = api.mark()
    press = ups.press(STRANGER, post.result, f"t:take:{number}")
    bot.send(press)
    (refusal,) = api.since(start)
    assert refusal.method == "answerCallbackQuery"
    assert refusal.params == {
        "callback_query_id": press["callback_query"]["id"],
        "text": t("auth.operator_only", "id"),
        "show_alert": "true",
    }
    bot.deliver()
    assert api.since(start, "sendMessage", "editMessageText") == []
    assert (events(helpdesk, number), ticket(helpdesk, number).state) == (before, state)


def test_only_an_admin_registers_a_group(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    other_group = Updates.group_chat(-1001777, "Petugas Jaringan")
    bot.send(ups.text(OPERATOR, "/daftarkan_grup", other_group))
    assert api.sent(-1001777)[-1].params["text"] == t("auth.admin_only", "id")
    admin = Updates.user(4001, "Wahyu")
    link(bot, ups, admin, "wahyu.ramadhan@kementerian.go.id")
    register = ups.text(admin, f"/daftarkan_grup@{'helpdesk_test_bot'}", other_group)
    bot.send(register)
    reply = api.sent(-1001777)[-1]
    assert reply.params["text"] == t("telegram.group_registered", "id")
    assert reply.params["reply_parameters"]["message_id"] == register["message"]["message_id"]
    bot.send(ups.text(admin, "/daftarkan_grup"))  # in a private chat
    assert api.sent(4001)[-1].params["text"] == t("telegram.group_only", "id")
    bot.send(ups.text(admin, "/daftarkan_grup@another_bot", other_group))  # not for us
    with Session(helpdesk.engine) as s:
        groups = {(g.target, g.name) for g in s.exec(select(OperatorChannel))}
    assert groups == {(str(GROUP_ID), f"telegram {GROUP_ID}"), ("-1001777", "Petugas Jaringan")}
    assert len(api.sent(-1001777)) == 2


def test_a_problem_is_made_and_diagnosed_in_the_group(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    """The alert's "Jadikan masalah" is pressed in the operators' group: the diagnosis it
    then asks for is typed there too (as a reply, which reaches the bot in privacy mode)."""
    link(bot, ups, OPERATOR, "fajar.nugroho@kementerian.go.id")
    number = open_p1(bot)
    post = posted_alert(bot, number)

    start = api.mark()
    bot.send(ups.press(OPERATOR, post.result, f"pb:new:{number}"))
    (shown,) = api.since(start, "sendMessage")
    with Session(helpdesk.engine) as s:
        problem = s.exec(select(Problem)).one()
    assert t("problem.created", OP, number=problem.number) in shown.params["text"]
    assert (t("problem.button.diagnose", OP), f"pb:diag:{problem.number}") in buttons(shown)

    start = api.mark()
    bot.send(ups.press(OPERATOR, shown.result, f"pb:diag:{problem.number}"))
    (ask,) = api.since(start, "sendMessage")
    assert t("problem.ask_diagnosis", OP, number=problem.number) in ask.params["text"]
    assert ask.params["reply_markup"] == {"force_reply": True, "selective": True}

    diagnosis = "Konsentrator VPN menolak sertifikat klien sejak pembaruan"
    bot.send(ups.text(OPERATOR, diagnosis, GROUP, reply_to=ask.result))
    with Session(helpdesk.engine) as s:
        diagnosed = s.exec(select(Problem)).one()
    assert (diagnosed.state, diagnosed.diagnosis) == ("didiagnosis", diagnosis)
    assert diagnosis in api.sent(GROUP_ID)[-1].params["text"]
