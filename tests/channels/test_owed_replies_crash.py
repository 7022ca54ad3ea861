"""SIGKILL after a turn committed and before its reply went out: after the restart the
reply reaches the chat exactly once, and the turn is not run again.

Our web app runs in its own process (uvicorn, Telegram in webhook mode) against the
fake Bot API, which holds the chosen sendMessage unanswered and undelivered: the turn
has committed (replies are sent after the commit), the reply is not out. The test kills
the process there, starts a second one on the same database, and counts what the chat
received.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.channels.markdown import shown
from bot.dialogue.owed import from_json
from storage.db import make_engine
from storage.models import InboundEvent, InboxEvent, RateCounter
from tests.channels.fake_telegram import BOT_ID, FakeBotApi, Updates
from tests.channels.test_inbox_crash import SECRET, start, unfinished

QUESTION = "saya lupa kata sandi akun SSO, bagaimana cara meresetnya?"


def _turn_row(engine: Any, update_id: int) -> InboundEvent:
    with Session(engine) as s:
        return s.exec(
            select(InboundEvent).where(
                InboundEvent.channel == "telegram", InboundEvent.key == f"{BOT_ID}:{update_id}"
            )
        ).one()


def _texts(row: InboundEvent) -> list[str]:
    """The stored replies as the chat gets them."""
    return [shown(from_json(r)) for r in row.replies or []]


@pytest.mark.parametrize("sent_before", [0, 1])
def test_a_reply_owed_at_the_kill_is_sent_once_after_the_restart(
    db_url: str, tmp_path: Path, sent_before: int
) -> None:
    chat = 710_000 + sent_before
    api = FakeBotApi().start()
    # the first reply is held, or the second: then the first was sent and marked before
    # the kill and must not come again
    api.hold("sendMessage", chat, after=sent_before)
    engine = make_engine(db_url)
    ups = Updates(start=90_000 + sent_before * 100)
    user = Updates.user(chat, "Pegawai")
    update = ups.text(user, QUESTION)
    try:
        first, url = start(db_url, api, tmp_path / "one")
        with httpx.Client(base_url=url, timeout=30) as client:
            response = client.post(
                "/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert response.status_code == 200
        assert api.held.wait(60), "the reply was never sent"
        # a run's marks are written with its lease renewal (every third of the lease),
        # not once per reply: the kill comes once the first reply's mark is in
        api.wait_for(
            lambda: _turn_row(engine, update["update_id"]).replies_sent == sent_before,
            timeout=30,
        )
        os.kill(first.pid, signal.SIGKILL)
        first.join(10)
        api.release()
        row = _turn_row(engine, update["update_id"])
        # the turn committed with its replies; those out before the kill are marked sent
        expected = _texts(row)
        assert len(expected) > sent_before  # (the question is answered in two messages)
        assert [c.params["text"] for c in api.sent(chat)] == expected[:sent_before]
        assert row.replies_sent == sent_before

        second, _ = start(db_url, api, tmp_path / "two")
        try:
            api.wait_for(lambda: unfinished(engine) == 0, timeout=120)
            api.wait_for(lambda: len(api.sent(chat)) >= len(expected), timeout=30)
            time.sleep(0.5)  # anything sent twice would be out by now
        finally:
            second.kill()
            second.join(10)

        assert [c.params["text"] for c in api.sent(chat)] == expected  # each exactly once
        row = _turn_row(engine, update["update_id"])
        assert row.replies is None and row.replies_sent == len(expected)
        with Session(engine) as s:
            # the turn ran once: counted once against the chat's turn limit
            turns = s.exec(
                select(func.sum(RateCounter.count)).where(
                    RateCounter.key == f"turn:chat:telegram:{chat}"
                )
            ).one()
            assert turns == 1
            states = s.exec(select(InboxEvent.state).where(InboxEvent.lane.endswith(str(chat))))
            assert list(states) == ["done"]
    finally:
        engine.dispose()
        api.stop()
