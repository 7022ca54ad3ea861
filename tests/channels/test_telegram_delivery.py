"""Sending under trouble: a user who blocked the bot (403), flood control (429 with
retry_after), network errors; the webhook's secret; `helpdesk telegram set-webhook`;
long texts and the per-chat pace. All over real HTTP against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlmodel import Session, select
from telegram.ext import AIORateLimiter, ExtBot
from typer.testing import CliRunner

from bot.channels.telegram import ChatPacer, Sender, TelegramTransport, split_text
from bot.channels.telegram._outgoing import utf16_len
from bot.cli import app as cli
from bot.core import people, tickets
from bot.core.tickets import Actor
from bot.delivery import TransportError
from bot.dialogue.messages import Choice
from bot.i18n import t
from bot.runtime import Helpdesk
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import Notice, Ticket, utcnow
from tests.channels.fake_telegram import TOKEN, FakeBotApi, Updates, buttons
from tests.channels.telegram_harness import AppServer, BotUnderTest

BUDI = Updates.user(1001, "Budi")


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


def ticket_taken_by_operator(helpdesk: Helpdesk) -> str:
    """A ticket reported on Telegram by chat 1001, then taken: its reporter gets a notice."""
    with session_scope(helpdesk.engine) as s:
        reporter = people.ensure_person(s, "telegram", "1001", "Budi")
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
        tickets.take(s, ticket, Actor(operator, "console"))
        return ticket.number


def notices_to(helpdesk: Helpdesk, target: str) -> list[Notice]:
    with Session(helpdesk.engine) as s:
        return list(
            s.exec(select(Notice).where(Notice.channel == "telegram", Notice.target == target))
        )


def test_a_user_who_blocked_the_bot(helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi) -> None:
    ticket_taken_by_operator(helpdesk)
    api.fail("sendMessage", 403, count=100, chat_id=1001)
    bot.deliver()
    failed = notices_to(helpdesk, "1001")
    assert failed and {n.status for n in failed} == {"failed"}
    assert all(n.last_error == "forbidden: Forbidden: bot was blocked by the user" for n in failed)
    assert len(api.calls_of("sendMessage", ok=False)) == len(failed)  # tried once each, not retried
    # a reply to that chat fails too: logged, no handler error, other chats carry on
    bot.send(Updates().text(BUDI, "/bantuan"))
    other = Updates.user(1002, "Sari")
    bot.send(Updates(start=9000).text(other, "/mulai"))
    assert api.sent(1002) and not api.sent(1001)


def test_flood_control_on_a_notice_goes_back_to_the_outbox(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi
) -> None:
    ticket_taken_by_operator(helpdesk)
    api.fail("sendMessage", 429, count=10, retry_after=30, chat_id=1001)  # Telegram's flood window
    now = utcnow()
    bot.deliver(now)
    waiting = notices_to(helpdesk, "1001")
    assert len(waiting) == 2 and {n.status for n in waiting} == {"pending"}
    assert {n.last_error for n in waiting} == {
        "rate limited: Flood control exceeded. Retry in 30 seconds"
    }
    assert {n.next_attempt_at for n in waiting} == {now + timedelta(seconds=30)}
    api.clear_failures()
    bot.deliver(now + timedelta(seconds=10))
    assert api.sent(1001) == []
    bot.deliver(now + timedelta(seconds=31))
    # each notice delivered once, in the order they were written
    assert [c.params["text"] for c in api.sent(1001)] == [n.payload["text"] for n in waiting]
    assert {n.status for n in notices_to(helpdesk, "1001")} == {"sent"}


def test_flood_control_on_a_reply_is_waited_out(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi
) -> None:
    api.fail("sendMessage", 429, count=1, retry_after=1, chat_id=1001)
    bot.send(Updates().text(BUDI, "/mulai"))
    refused, delivered = api.calls_of("sendMessage", ok=None)
    assert (refused.status, delivered.status) == (429, 200)
    assert refused.params == delivered.params
    assert delivered.params["text"].startswith("Selamat datang")


def test_a_reply_is_sent_again_after_a_connection_failure(
    bot: BotUnderTest, api: FakeBotApi
) -> None:
    api.fail("sendMessage", 502, count=1, chat_id=1001, description="Bad Gateway")
    bot.send(Updates().text(BUDI, "/mulai"))
    assert [c.status for c in api.calls_of("sendMessage", ok=None)] == [502, 200]
    assert api.sent(1001)[0].params["text"].startswith("Selamat datang")


def test_network_trouble_is_retried_later(
    helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi
) -> None:
    ticket_taken_by_operator(helpdesk)
    api.fail("sendMessage", 502, count=1, chat_id=1001, description="Bad Gateway")
    now = utcnow()
    bot.deliver(now)
    pending = [n for n in notices_to(helpdesk, "1001") if n.status == "pending"]
    assert len(pending) == 1 and pending[0].last_error == "network: Bad Gateway"
    bot.deliver(now + timedelta(minutes=5))
    assert {n.status for n in notices_to(helpdesk, "1001")} == {"sent"}


def test_webhook_secret(helpdesk: Helpdesk, bot: BotUnderTest, api: FakeBotApi) -> None:
    # webhook mode: PTB neither polls nor deletes the webhook
    assert [c.method for c in api.calls] == ["getMe"]
    update = Updates().text(BUDI, "/mulai")
    assert bot.post(update, secret="wrong-secret") == 403
    assert bot.post(update, secret=None) == 403
    assert bot.post(update, secret=BotUnderTest.SECRET[:-1]) == 403
    assert api.calls_of("sendMessage") == []
    assert bot.post(b"not json", secret=BotUnderTest.SECRET) == 400
    assert bot.post(update) == 200
    (welcome,) = api.sent(1001)
    assert welcome.params["text"].startswith("Selamat datang")


def test_webhook_mode_needs_a_secret(helpdesk: Helpdesk, api: FakeBotApi) -> None:
    from bot.channels import telegram

    settings = helpdesk.settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(TOKEN),
            "telegram_api_base_url": api.url,
            "telegram_webhook_url": "https://helpdesk.example.go.id/telegram/webhook",
            "telegram_webhook_secret": None,
        }
    )
    helpdesk = Helpdesk(settings, helpdesk.engine, helpdesk.kb, helpdesk.conversations)
    server = AppServer(create_app(helpdesk, channels=[telegram.SPEC], run_jobs=False))
    with pytest.raises(RuntimeError):
        server.start()
    server.stop()
    assert api.calls == []


def test_cli_set_webhook(api: FakeBotApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the working copy
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.url,
        "HELPDESK_LOG_LEVEL": "WARNING",
        "TELEGRAM_WEBHOOK_URL": "https://helpdesk.example.go.id/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": "rahasia_webhook-1",
    }
    result = CliRunner().invoke(cli, ["telegram", "set-webhook"], env=env)
    assert result.exit_code == 0, result.output
    assert "webhook set: https://helpdesk.example.go.id/telegram/webhook" in result.output
    assert api.webhook == {
        "url": "https://helpdesk.example.go.id/telegram/webhook",
        "secret_token": "rahasia_webhook-1",
        "drop_pending_updates": "false",
        "allowed_updates": ["message", "edited_message", "callback_query", "my_chat_member"],
    }
    bad = CliRunner().invoke(
        cli, ["telegram", "set-webhook"], env={**env, "TELEGRAM_WEBHOOK_SECRET": "ada spasi"}
    )
    assert bad.exit_code == 1 and "TELEGRAM_WEBHOOK_SECRET" in bad.output


# -- the sending side on its own, against the same fake server -------------------------


@pytest.fixture
async def sender(api: FakeBotApi) -> AsyncIterator[Sender]:
    ext = ExtBot(TOKEN, base_url=f"{api.url}/bot", rate_limiter=AIORateLimiter(max_retries=0))
    async with ext:
        yield Sender(ext, ChatPacer(rate=0))


async def test_long_texts_are_split_with_the_buttons_on_the_last_piece(
    sender: Sender, api: FakeBotApi
) -> None:
    paragraphs = [f"Paragraf {i}: " + " ".join(["kata"] * 150) for i in range(12)]
    text = "\n\n".join(paragraphs)
    await sender.send(1001, text, [Choice("Ya", "faq:yes:a"), Choice("Tidak", "faq:no:a")])
    pieces = api.sent(1001)
    assert len(pieces) == 3
    assert all(utf16_len(p.params["text"]) <= 4096 for p in pieces)
    assert [buttons(p) for p in pieces] == [[], [], [("Ya", "faq:yes:a"), ("Tidak", "faq:no:a")]]
    assert "\n\n".join(p.params["text"] for p in pieces) == text.strip()
    assert all(p.params["text"].startswith("Paragraf ") for p in pieces)  # cut between paragraphs


async def test_transport_edits_and_their_errors(sender: Sender, api: FakeBotApi) -> None:
    transport = TelegramTransport(sender)
    post = Notice(
        channel="telegram",
        target="-100900",
        kind="alert.post",
        dedupe_key="a",
        payload={"text": "🚨 P1", "choices": [{"label": "Ambil", "action": "t:take:X"}]},
    )
    ref = await transport.send(post)
    assert ref == str(api.sent(-100900)[0].result["message_id"])
    same = Notice(
        channel="telegram",
        target="-100900",
        kind="alert.edit",
        dedupe_key="b",
        payload={
            "message_ref": ref,
            "text": "🚨 P1",
            "choices": [{"label": "Ambil", "action": "t:take:X"}],
        },
    )
    assert await transport.send(same) is None  # "message is not modified" is success
    gone = Notice(
        channel="telegram",
        target="-100900",
        kind="alert.edit",
        dedupe_key="c",
        payload={"message_ref": "424242", "text": "x", "choices": []},
    )
    with pytest.raises(TransportError) as lost:
        await transport.send(gone)
    assert lost.value.permanent and "message to edit not found" in str(lost.value).lower()
    with pytest.raises(TransportError) as bad_target:
        await transport.send(
            Notice(
                channel="telegram",
                target="@nobody",
                kind="ticket.state",
                dedupe_key="d",
                payload={"text": "x"},
            )
        )
    assert bad_target.value.permanent


def test_split_text_counts_utf16_and_never_cuts_a_character() -> None:
    text = "😀" * 3000  # 6000 UTF-16 units
    pieces = split_text(text)
    assert [utf16_len(p) for p in pieces] == [4096, 1904]
    assert "".join(pieces) == text
    assert split_text("  pendek  ") == ["pendek"]
    assert split_text("") == []


async def test_private_chats_are_paced_with_a_short_burst() -> None:
    clock = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    pacer = ChatPacer(rate=1.0, burst=3, clock=lambda: clock[0], sleep=sleep)
    for _ in range(5):
        await pacer.wait(1001)
    assert slept == [1.0, 1.0]  # three at once, then one a second
    await pacer.wait(1002)  # another chat has its own allowance
    await pacer.wait(-100500)  # groups are left to AIORateLimiter
    assert slept == [1.0, 1.0]
    clock[0] += 10
    for _ in range(3):
        await pacer.wait(1001)
    assert slept == [1.0, 1.0]


def test_unknown_update_kinds_do_not_raise(bot: BotUnderTest, api: FakeBotApi) -> None:
    ups = Updates()
    start = api.mark()
    assert (
        bot.post(
            {
                "update_id": 1,
                "poll": {
                    "id": "p",
                    "question": "?",
                    "options": [],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                    "allows_revoting": False,
                },
            }
        )
        == 200
    )
    assert bot.post({"update_id": 3, "future_kind": {"x": 1}}) == 200
    assert bot.post({"update_id": 2}) == 200
    bot.send(ups.text(BUDI, "/daftarkan_grup"))
    assert [c.params["text"] for c in api.since(start)] == [t("telegram.group_only", "id")]
    with Session(bot.helpdesk.engine) as s:
        assert s.exec(select(Ticket)).all() == []


def test_helpdesk_run_starts_telegram_when_a_token_is_set(tmp_path: Path) -> None:
    from bot.channels import telegram
    from bot.channels.registry import starters_for
    from bot.config import Settings

    settings = Settings(data_dir=tmp_path, _env_file=None)
    assert telegram.start not in starters_for(settings)
    assert telegram.start in starters_for(
        settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})
    )
