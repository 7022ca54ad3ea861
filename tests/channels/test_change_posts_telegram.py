"""A change request posted to an approver on Telegram (the fake Bot API, python-telegram-
bot's real client) with Setujui / Tolak / Minta info, and the same message edited in
place once it is decided: who, when and through which channel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from telegram.ext import AIORateLimiter, ExtBot

from bot.channels.telegram import ChatPacer, Sender, TelegramTransport
from bot.core import changes
from bot.delivery import Deliverer
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import ChangePost, Identity, Person
from tests.channels.fake_telegram import TOKEN, FakeBotApi, buttons

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
START = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    fake = FakeBotApi().start()
    yield fake
    fake.stop()


@pytest.fixture
async def sender(api: FakeBotApi) -> AsyncIterator[Sender]:
    ext = ExtBot(TOKEN, base_url=f"{api.url}/bot", rate_limiter=AIORateLimiter(max_retries=0))
    async with ext:
        yield Sender(ext, ChatPacer(rate=0))


def person(s: Session, email: str) -> Person:
    return s.exec(select(Person).where(Person.email == email)).one()


async def test_the_post_is_edited_on_telegram_when_decided(
    helpdesk: Helpdesk, sender: Sender, api: FakeBotApi
) -> None:
    with session_scope(helpdesk.engine) as s:
        s.add(Identity(person_id=person(s, "nur.hidayati@kementerian.go.id").id,
                       channel="telegram", external_id="1001"))  # fmt: skip
        change = changes.raise_change(
            s, person(s, "budi.santoso@kementerian.go.id"), "telegram",
            changes.ChangeForm(
                service_id="vpn", kind="normal", description="Pembaruan firmware VPN 9.2",
                risk="rendah", impact="VPN putus sekitar sepuluh menit",
                plan="Pasang firmware lalu mulai ulang", test_functional="Login diuji: lulus",
                test_security="Pemindaian: tidak ada temuan", test_performance="500 sesi: stabil",
                rollback_plan="Kembali ke firmware 9.1", start=START,
                end=START + timedelta(hours=1),
            ),
            now=NOW,
        )  # fmt: skip
        change_id = change.id
    deliverer = Deliverer(helpdesk.engine, {"telegram": TelegramTransport(sender)})
    assert await deliverer.drain(NOW) == 1
    [post] = api.sent(1001)
    assert [a for _, a in buttons(post)] == [
        f"chg:ok:{change_id}",
        f"chg:no:{change_id}",
        f"chg:info:{change_id}",
    ]
    message_id = post.result["message_id"]
    with Session(helpdesk.engine) as s:
        kept = s.exec(select(ChangePost)).one()
        assert (kept.target, kept.message_ref) == ("1001", str(message_id))
    with session_scope(helpdesk.engine) as s:
        changes.decide(
            s, change_id or 0, person(s, "nur.hidayati@kementerian.go.id"), "telegram",
            "tolak", note="Belum ada jadwal komunikasi ke pengguna", now=NOW,
        )  # fmt: skip
    await deliverer.drain(NOW)
    edited = api.message(1001, message_id)
    assert "❌ Ditolak oleh Nur Hidayati, 7 Des 2026 09.00 WIB, melalui telegram" in edited["text"]
    assert "Belum ada jadwal komunikasi ke pengguna" in edited["text"]
    assert "reply_markup" not in edited  # decided: the buttons are gone
    assert len(api.sent(1001)) == 1  # edited, not posted again
