"""The update samples of Telegram's own documentation ("Testing your bot with updates",
core.telegram.org/bots/webhooks) lack fields python-telegram-bot 22 requires
(`from.is_bot`, `chat.type`, `file_unique_id`, `chat_instance`). They are read with safe
defaults and answered; an update that still cannot be read stays in the inbox as dead,
with its error, for an admin. Over real HTTP against the fake Bot API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.channels.telegram._defaults import with_defaults
from bot.runtime import Helpdesk
from storage.models import InboxEvent
from tests.channels.fake_telegram import FakeBotApi
from tests.channels.telegram_harness import BotUnderTest

# as printed in Telegram's documentation: no is_bot, no chat type
DOC_USER = {"last_name": "Test Lastname", "id": 1111111, "first_name": "Test", "username": "Test"}


def doc_message(update_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "date": 1441645532,
            "chat": dict(DOC_USER),
            "message_id": 1365,
            "from": dict(DOC_USER),
            **fields,
        },
    }


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    fake = FakeBotApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def bot(helpdesk: Helpdesk, api: FakeBotApi) -> Iterator[BotUnderTest]:
    with BotUnderTest(helpdesk, api) as running:
        yield running


def inbox(helpdesk: Helpdesk) -> list[InboxEvent]:
    with Session(helpdesk.engine) as s:
        return list(s.exec(select(InboxEvent).where(InboxEvent.source == "telegram")))


def test_documentation_samples_are_read_and_answered(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi
) -> None:
    start = api.mark()
    assert bot.post(doc_message(10000, text="/start")) == 200
    assert bot.post(doc_message(10001, text="lupa kata sandi sso")) == 200
    assert (
        bot.post(
            doc_message(
                10002,
                document={
                    "file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX",
                    "file_name": "Testfile.pdf",
                    "mime_type": "application/pdf",
                    "file_size": 536392,
                },
            )
        )
        == 200
    )
    callback = {
        "update_id": 10003,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": dict(DOC_USER),
            "data": "Data from button callback",
            "inline_message_id": "1234csdbsk4839",
        },
    }
    assert bot.post(callback) == 200
    assert bot.errors == []
    replies = [c for c in api.since(start, "sendMessage") if int(c.params["chat_id"]) == 1111111]
    assert len(replies) >= 2  # /start and the question each answered
    assert api.since(start, "answerCallbackQuery")  # the button press was answered
    events = inbox(helpdesk)
    assert len(events) == 4 and {e.state for e in events} == {"done"}


def test_an_update_still_unreadable_is_kept_as_dead_with_its_error(
    helpdesk: Helpdesk, bot: BotUnderTest
) -> None:
    # a message without its id: no default can stand in for which message it was
    broken = {
        "update_id": 10010,
        "message": {"date": 1441645532, "chat": dict(DOC_USER), "text": "x"},
    }
    assert bot.post(broken) == 200
    (event,) = inbox(helpdesk)
    assert event.state == "dead" and event.attempts == 1  # not retried: it cannot be read
    assert event.last_error is not None and "unreadable" in event.last_error
    assert bot.errors == []  # not an error of the conversation: set aside before it


def test_defaults_fill_only_what_is_missing() -> None:
    update = {
        "update_id": 1,
        "message": {
            "chat": {"id": -1001234, "title": "Ops"},
            "from": {"id": 5, "first_name": "A", "is_bot": True},
            "new_chat_members": [{"id": 6, "first_name": "B"}],
            "photo": [{"file_id": "p1", "file_unique_id": "u1"}, {"file_id": "p2"}],
            "reply_to_message": {"chat": {"id": -42}, "from": {"id": 7, "first_name": "C"}},
        },
    }
    msg = with_defaults(update)["message"]
    assert msg["chat"]["type"] == "supergroup"  # -100… ids are supergroups
    assert msg["from"]["is_bot"] is True  # given: kept
    assert msg["new_chat_members"][0]["is_bot"] is False
    assert [p["file_unique_id"] for p in msg["photo"]] == ["u1", "p2"]
    assert msg["reply_to_message"]["chat"]["type"] == "group"  # other negatives
    assert msg["reply_to_message"]["from"]["is_bot"] is False
