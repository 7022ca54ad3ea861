"""Telegram private chats over real HTTP: our app (uvicorn, lifespan, python-telegram-bot)
against the fake Bot API; each test asserts the exact Bot API calls the bot made."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.core import people
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Identity, InboundEvent, Person, ServiceState, Ticket, utcnow
from tests.channels.fake_telegram import Call, FakeBotApi, Updates, buttons
from tests.channels.telegram_harness import BotUnderTest

BUDI = Updates.user(1001, "Budi", "Santoso")


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
    with BotUnderTest(helpdesk, api) as running:
        yield running
        assert running.errors == []


def an_article(helpdesk: Helpdesk) -> Any:
    """An Indonesian article whose own question the matcher answers directly."""
    matcher = helpdesk.kb.current
    for article in matcher.articles:
        if article.lang == "id" and article.service and len(article.answer) < 3000:
            decision = matcher.decide(article.question)
            if decision.kind == "answer" and decision.matches[0].article.id == article.id:
                return article
    raise AssertionError("no article answers its own question")


def last_with_buttons(api: FakeBotApi, chat_id: int) -> Call:
    return [c for c in api.sent(chat_id) if buttons(c)][-1]


def press(
    bot: BotUnderTest, ups: Updates, user: dict[str, Any], data: str, chat_id: int | None = None
) -> Call:
    """Press the button `data` on the last keyboard the bot sent to the chat."""
    call = last_with_buttons(bot.api, chat_id or user["id"])
    assert data in [d for _, d in buttons(call)], buttons(call)
    bot.send(ups.press(user, call.result, data))
    return call


def count(helpdesk: Helpdesk, model: Any) -> int:
    with Session(helpdesk.engine) as s:
        return len(s.exec(select(model)).all())


def test_faq_answered_and_feedback(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    article = an_article(helpdesk)
    start = api.mark()
    bot.send(ups.text(BUDI, article.question))

    answer, helpful = api.since(start)
    assert (answer.method, helpful.method) == ("sendMessage", "sendMessage")
    assert answer.params["chat_id"] == "1001"
    # Markdown shown as plain text: no "**" reaches the user (the old text had them)
    plain_answer = article.answer.replace("**", "").strip()
    assert answer.params["text"] == f"{article.question}\n\n{plain_answer}"
    assert "reply_markup" not in answer.params and "parse_mode" not in answer.params
    assert helpful.params["text"] == "Apakah ini membantu?"
    assert buttons(helpful) == [("Ya", f"faq:yes:{article.id}"), ("Tidak", f"faq:no:{article.id}")]
    assert (
        helpful.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        == f"faq:yes:{article.id}"
    )

    start = api.mark()
    update = ups.press(BUDI, helpful.result, f"faq:yes:{article.id}")
    bot.send(update)
    answered, unbuttoned, glad = api.since(start)
    assert answered.method == "answerCallbackQuery"
    assert answered.params == {"callback_query_id": update["callback_query"]["id"]}
    assert unbuttoned.method == "editMessageReplyMarkup"
    assert unbuttoned.params == {"chat_id": "1001", "message_id": str(helpful.result["message_id"])}
    assert glad.method == "sendMessage" and glad.params["text"] == t("faq.glad", "id")
    assert count(helpdesk, Ticket) == 0


def report_flow(bot: BotUnderTest, ups: Updates, user: dict[str, Any], description: str) -> str:
    """Report a VPN incident with buttons only; returns the confirmation text."""
    api = bot.api
    bot.send(ups.text(user, "/lapor"))
    assert ("Akses Jarak Jauh (VPN)", "svc:vpn") in buttons(api.sent(user["id"])[-1])
    press(bot, ups, user, "svc:vpn")
    press(bot, ups, user, "type:gangguan")
    assert api.sent(user["id"])[-1].params["text"] == t("report.ask_description.gangguan", "id")
    bot.send(ups.text(user, description))
    press(bot, ups, user, "imp:1")
    press(bot, ups, user, "urg:2")
    summary = api.sent(user["id"])[-1]
    assert buttons(summary) == [
        (t("report.send", "id"), "rep:send"),
        (t("common.cancel", "id"), "cancel"),
    ]
    press(bot, ups, user, "rep:send")
    return str(api.sent(user["id"])[-1].params["text"])


def test_report_to_a_ticket_number_with_buttons(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    description = 'VPN putus tiap 5 menit <b>*tebal*</b> _miring_ [tautan](http://x) & "kutip"'
    created = report_flow(bot, ups, BUDI, description)

    with Session(helpdesk.engine) as s:
        ticket = s.exec(select(Ticket)).one()
        reporter = s.get(Person, ticket.reporter_id)
    assert created == t("report.created", "id", number=ticket.number, priority=2)
    assert (ticket.service_id, ticket.type, ticket.priority) == ("vpn", "gangguan", 2)
    assert (ticket.reporter_channel, ticket.reporter_chat_id) == ("telegram", "1001")
    assert ticket.description == description
    assert reporter is not None and reporter.name == "Budi Santoso"
    # the summary shows what the user typed, verbatim: plain text, no parse mode
    summary = [c for c in api.sent(1001) if "rep:send" in [d for _, d in buttons(c)]][-1]
    assert description in summary.params["text"]
    assert all("parse_mode" not in c.params for c in api.calls_of("sendMessage"))
    # every button press was answered and its keyboard removed
    assert len(api.calls_of("answerCallbackQuery")) == 5
    assert len(api.calls_of("editMessageReplyMarkup")) == 5


def test_status_command(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    report_flow(bot, ups, BUDI, "VPN tidak bisa tersambung dari rumah")
    with Session(helpdesk.engine) as s:
        number = s.exec(select(Ticket.number)).one()
    start = api.mark()
    bot.send(ups.text(BUDI, f"/status {number}"))
    (status,) = api.since(start)
    assert status.method == "sendMessage" and status.params["chat_id"] == "1001"
    assert number in status.params["text"] and "Akses Jarak Jauh (VPN)" in status.params["text"]
    # a stranger asking for the same number learns nothing
    other = Updates.user(1002, "Sari")
    bot.send(ups.text(other, f"/status {number}"))
    assert api.sent(1002)[-1].params["text"] == t("ticket.not_found", "id", number=number)


def test_redelivered_update_and_double_press_change_nothing_twice(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    article = an_article(helpdesk)
    question = ups.text(BUDI, article.question)
    bot.send(question)
    start = api.mark()
    bot.send(question)  # Telegram redelivers the same update_id
    assert api.since(start) == []

    bot.send(ups.text(BUDI, "/lapor layanan VPN putus terus sejak pagi"))
    press(bot, ups, BUDI, "svc:vpn")
    press(bot, ups, BUDI, "type:gangguan")
    press(bot, ups, BUDI, "imp:3")
    press(bot, ups, BUDI, "urg:3")
    confirm = last_with_buttons(api, 1001)
    send = ups.press(BUDI, confirm.result, "rep:send")
    bot.send(send)
    start = api.mark()
    bot.send(send)  # the same button press delivered again: answered, nothing else
    assert [c.method for c in api.since(start)] == ["answerCallbackQuery"]
    start = api.mark()
    bot.send(ups.press(BUDI, confirm.result, "rep:send"))  # pressed twice: a new update
    again = api.since(start)
    # (its keyboard is gone already: Telegram answers "message is not modified", ignored)
    assert [c.method for c in again] == ["answerCallbackQuery", "sendMessage"]
    assert again[-1].params["text"] == t("input.stale_choice", "id")
    assert count(helpdesk, Ticket) == 1
    with Session(helpdesk.engine) as s:
        keys = s.exec(select(InboundEvent.key).where(InboundEvent.channel == "telegram")).all()
    assert len(keys) == len(set(keys)) == 8


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("sticker", "telegram.unsupported"),
        ("voice", "telegram.unsupported"),
        ("photo", "telegram.unsupported"),
        ("document", "telegram.unsupported"),
        ("edited_message", "telegram.edited"),
    ],
)
def test_unhandled_private_updates_get_a_short_helpful_reply(
    bot: BotUnderTest, api: FakeBotApi, ups: Updates, kind: str, key: str
) -> None:
    start = api.mark()
    bot.send(ups.other(kind, BUDI))
    (reply,) = api.since(start)
    assert reply.method == "sendMessage" and reply.params["text"] == t(key, "id")


def test_updates_nobody_answers_are_ignored(
    bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    group = Updates.group_chat(-100700)
    start = api.mark()
    for update in (
        ups.other("channel_post", BUDI),
        ups.other("inline_query", BUDI),
        ups.other("sticker", BUDI, group),
        ups.other("new_chat_members", BUDI, group),
        ups.other("edited_message", BUDI, group),
        ups.text(BUDI, "obrolan biasa", group),
    ):
        bot.send(update)
    assert api.since(start) == []
    # joining a group: a hint for the admin
    bot.send(ups.other("my_chat_member", BUDI, group))
    (hello,) = api.since(start)
    assert hello.params == {
        "chat_id": "-100700",
        "text": t("telegram.group_hello", "id"),
        "link_preview_options": {"is_disabled": True},
    }


def test_link_code_makes_the_account_speak_for_the_person(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    from datetime import timedelta

    with session_scope(helpdesk.engine) as s:
        person = people.find_person(s, "wahyu.ramadhan@kementerian.go.id")
        assert person is not None
        code = people.issue_link_code(s, person, ttl=timedelta(minutes=15))
    bot.send(ups.text(BUDI, f"/tautkan {code}"))
    assert (
        api.sent(1001)[-1]
        .params["text"]
        .startswith("Akun chat ini sekarang tertaut ke Wahyu Ramadhan")
    )
    bot.send(ups.text(Updates.user(1002, "Sari"), f"/tautkan {code}"))  # works once
    assert api.sent(1002)[-1].params["text"] == t("link.invalid_code", "id")
    with Session(helpdesk.engine) as s:
        ident = s.exec(select(Identity).where(Identity.channel == "telegram")).one()
    assert (ident.external_id, ident.display_name) == ("1001", "Budi Santoso")


def test_long_polling(helpdesk: Helpdesk, api: FakeBotApi, ups: Updates) -> None:
    article = an_article(helpdesk)
    with BotUnderTest(helpdesk, api, webhook=False) as bot:
        bot.send(ups.text(BUDI, article.question))
        helpful = api.wait_for(lambda: [c for c in api.sent(1001) if buttons(c)])[-1]
        bot.send(ups.press(BUDI, helpful.result, f"faq:no:{article.id}"))
        offer = api.wait_for(lambda: len(api.sent(1001)) == 3 and api.sent(1001)[-1])
        assert buttons(offer) == [
            (t("faq.report_yes", "id"), "rep:start"),
            (t("faq.report_no", "id"), "faq:drop"),
        ]
        assert bot.errors == []
    methods = [c.method for c in api.calls if c.method != "getUpdates"]
    assert methods[:2] == ["getMe", "deleteWebhook"]
    polls = api.calls_of("getUpdates")
    assert polls[-1].params["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    ]


def test_coordinator_gets_summary_with_chart_and_report_document(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi, ups: Updates
) -> None:
    with session_scope(helpdesk.engine) as s:
        coordinator = next(p for p in s.exec(select(Person)) if "koordinator_layanan" in p.roles)
        s.add(Identity(person_id=coordinator.id, channel="telegram", external_id="1009"))
    user = Updates.user(1009, "Koordinator")
    start = api.mark()
    bot.send(ups.text(user, "/ringkasan"))
    calls = api.since(start)
    assert [c.method for c in calls] == ["sendMessage"]  # nothing monitored yet: no chart
    assert "Ringkasan status" in calls[0].params["text"]
    start = api.mark()
    bot.send(ups.text(user, "/laporan katalog"))
    text, document = api.since(start)
    assert text.method == "sendMessage" and "Katalog Layanan SPBE" in text.params["text"]
    assert document.method == "sendDocument" and document.params["chat_id"] == "1009"
    assert document.params["document"]["filename"].startswith("catalogue-")
    assert document.params["document"]["head"].startswith(b"%PDF")
    # others are refused and get no document
    start = api.mark()
    bot.send(ups.text(BUDI, "/laporan katalog"))
    assert [c.method for c in api.since(start)] == ["sendMessage"]
    # with a monitored service the summary brings its availability chart as a photo
    with session_scope(helpdesk.engine) as s:
        s.add(
            ServiceState(service_id="vpn", state="up", monitored_since=utcnow() - timedelta(days=3))
        )
    start = api.mark()
    bot.send(ups.text(user, "/ringkasan"))
    summary_text, photo = api.since(start)
    assert summary_text.method == "sendMessage" and photo.method == "sendPhoto"
    assert photo.params["photo"]["head"].startswith(b"\x89PNG")
