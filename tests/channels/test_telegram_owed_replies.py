"""A Telegram button press whose turn committed but whose reply could not be sent: the
inbox runs the update again, which answers with the owed reply once and does not run the
turn again (no second ticket). Our real app against the fake Bot API over HTTP."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select
from telegram.error import NetworkError

from bot.runtime import Helpdesk
from storage.models import InboundEvent, Ticket
from tests.channels.fake_telegram import FakeBotApi, Updates
from tests.channels.telegram_harness import BotUnderTest
from tests.channels.test_telegram_private import BUDI, last_with_buttons, press


def test_a_press_whose_reply_failed_after_the_commit_is_answered_once_on_the_retry(
    helpdesk: Helpdesk,
) -> None:
    api = FakeBotApi().start()
    ups = Updates()
    try:
        with BotUnderTest(helpdesk, api) as bot:
            bot.send(ups.text(BUDI, "/lapor layanan VPN putus terus sejak pagi"))
            for data in ("svc:vpn", "type:gangguan", "imp:3", "urg:3"):
                press(bot, ups, BUDI, data)
            confirm = last_with_buttons(api, BUDI["id"])
            # the confirmation's sendMessage is refused (502) more often than the sender
            # retries in place: the handler fails after the ticket's turn committed
            api.fail("sendMessage", 502, count=3, chat_id=BUDI["id"])
            start = api.mark()
            bot.send(ups.press(BUDI, confirm.result, "rep:send"))
            sent = [c for c in api.since(start, "sendMessage")]
            assert len(sent) == 1 and "INC-" in sent[0].params["text"]  # once, on the re-run
            # the one failure: the refused send of the first run
            assert [type(e) for e in bot.errors] == [NetworkError]
            bot.errors.clear()
        with Session(helpdesk.engine) as s:
            assert s.exec(select(func.count()).select_from(Ticket)).one() == 1
            owed = s.exec(select(InboundEvent.replies).where(InboundEvent.channel == "telegram"))
            assert all(r is None for r in owed)  # every reply sent
    finally:
        api.stop()
