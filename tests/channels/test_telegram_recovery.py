"""A recovery run walked over Telegram through the real client library: a failed step
shows Ulangi / Lewati / Hentikan as inline buttons, Ulangi opens the next attempt, a
second press of the same Ulangi changes nothing, and a technician's press is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.core import recovery_attempts
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Identity, Person, RecoveryRun
from tests.channels.fake_telegram import Call, FakeBotApi, Updates, buttons
from tests.channels.telegram_harness import BotUnderTest

TEGUH = Updates.user(2001, "Teguh", "Prakoso")  # koordinator_pemulihan
ANDI = Updates.user(2002, "Andi", "Wijaya")  # pengelola_teknis


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


def link(helpdesk: Helpdesk, email: str, user_id: int) -> None:
    with session_scope(helpdesk.engine) as s:
        person = s.exec(select(Person).where(Person.email == email)).one()
        s.add(Identity(person_id=person.id, channel="telegram", external_id=str(user_id)))


def shown(api: FakeBotApi, chat_id: int) -> Call:
    """The last message with buttons the chat was sent or had edited."""
    calls = [
        c
        for c in api.calls_of("sendMessage") + api.calls_of("editMessageText")
        if int(c.params.get("chat_id", 0)) == chat_id and buttons(c)
    ]
    return max(calls, key=lambda c: api.calls.index(c))


def message_of(call: Call) -> dict[str, Any]:
    result = call.result
    assert isinstance(result, dict)
    return result


def test_a_failed_step_is_retried_over_telegram(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi
) -> None:
    link(helpdesk, "teguh.prakoso@kementerian.go.id", 2001)
    link(helpdesk, "andi.wijaya@kementerian.go.id", 2002)
    ups = Updates()
    bot.send(ups.text(TEGUH, "/latihanpemulihan sso"))
    first = shown(api, 2001)
    start = dict((label, data) for label, data in buttons(first))["Mulai"]
    bot.send(ups.press(TEGUH, message_of(first), start))
    running = shown(api, 2001)
    failed = dict(buttons(running))["Gagal"]
    bot.send(ups.press(TEGUH, message_of(running), failed))
    offered = shown(api, 2001)
    assert [label for label, _ in buttons(offered)] == ["Ulangi", "Lewati", "Hentikan"]
    assert "Langkah 1 gagal pada percobaan ke-1" in offered.params["text"]
    retry = dict(buttons(offered))["Ulangi"]
    bot.send(ups.press(ANDI, message_of(offered), retry))  # a technician: refused
    assert api.calls_of("answerCallbackQuery")[-1].params["text"] == (
        "Maaf, pemulihan layanan hanya dapat dijalankan oleh koordinator pemulihan."
    )
    bot.send(ups.press(TEGUH, message_of(offered), retry))
    bot.send(ups.press(TEGUH, message_of(offered), retry))  # pressed twice
    assert "Percobaan ke-2 langkah ini berjalan" in shown(api, 2001).params["text"]
    with Session(helpdesk.engine) as s:
        run = s.exec(select(RecoveryRun)).one()
        tries = recovery_attempts.attempts(s, run.id or 0)
        events = recovery_attempts.events(s, run.id or 0)
    assert [(a.position, a.number, a.result) for a in tries] == [(1, 1, "gagal"), (1, 2, None)]
    assert run.outcome == "berjalan"
    assert {e.channel for e in events} == {"telegram"}
