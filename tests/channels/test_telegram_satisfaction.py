"""The satisfaction question on Telegram over real HTTP: the outbox sends it with its
inline keyboard when the ticket is resolved, the reporter's press records the score, the
next message is the comment, and a second press on the same keyboard counts nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from bot.core import people, tickets
from bot.core.tickets import Actor
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import SatisfactionSurvey, Ticket
from tests.channels.fake_telegram import FakeBotApi, Updates, buttons
from tests.channels.telegram_harness import BotUnderTest

BUDI = Updates.user(1001, "Budi", "Santoso")


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    fake = FakeBotApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def bot(helpdesk: Helpdesk, api: FakeBotApi) -> Iterator[BotUnderTest]:
    with BotUnderTest(helpdesk, api) as running:
        yield running
        assert running.errors == []


def test_rating_over_telegram(helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi) -> None:
    ups = Updates()
    with session_scope(helpdesk.engine) as s:
        reporter = people.ensure_person(s, "telegram", "1001", "Budi Santoso")
        ticket = tickets.open_ticket(
            s,
            type_="permintaan",
            title="Minta akun VPN",
            service_id="vpn",
            reporter=reporter,
            channel="telegram",
            chat_id="1001",
        )
        operator = people.find_person(s, "fajar.nugroho@kementerian.go.id")
        tickets.resolve(s, ticket, Actor(operator, "console"), resolution="akun dibuat")
        number, reporter_id = ticket.number, reporter.id
    bot.deliver()
    scores = [f"csat:r:{number}:{n}" for n in range(1, 6)]
    (question,) = [c for c in api.sent(1001) if [d for _, d in buttons(c)] == scores]
    assert question.params["text"] == t("csat.ask", "id", number=number, title="Minta akun VPN")
    assert [label for label, _ in buttons(question)] == [f"{n} ⭐" for n in range(1, 6)]

    bot.send(ups.press(BUDI, question.result, f"csat:r:{number}:4"))
    answer = api.sent(1001)[-1]
    assert answer.params["text"] == t("csat.ask_comment", "id", number=number, score=4)
    assert buttons(answer) == [(t("csat.skip", "id"), "csat:skip")]
    bot.send(ups.text(BUDI, "Akunnya langsung bisa dipakai"))
    assert api.sent(1001)[-1].params["text"] == t("csat.commented", "id", number=number)

    # the press removed the keyboard; a client that still shows it presses again: refused
    # as an alert on the presser's screen, nothing changes
    assert api.calls_of("editMessageReplyMarkup")[-1].params["message_id"] == str(
        question.result["message_id"]
    )
    bot.send(ups.press(BUDI, question.result, f"csat:r:{number}:1"))
    refusal = api.calls_of("answerCallbackQuery")[-1]
    assert refusal.params["text"] == t("csat.already_rated", "id", number=number)
    with Session(helpdesk.engine) as s:
        survey = s.exec(
            select(SatisfactionSurvey).join(Ticket).where(Ticket.number == number)
        ).one()
    assert (survey.score, survey.comment) == (4, "Akunnya langsung bisa dipakai")
    assert survey.rated_by == reporter_id
