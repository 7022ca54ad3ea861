"""A change request posted on Slack (an approver's DM and an operator channel) with
Setujui / Tolak / Minta info, edited in place with chat.update once decided: who, when
and through which channel. Through our web app, slack-bolt and slack_sdk against the
fake Web API (which, like Slack, answers a post to a user id with the DM's id and
refuses chat.update on a user id). Then two approvers pressing at once, one on Telegram
and one on Slack: both decisions count and both posts show both."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session, select
from telegram.ext import AIORateLimiter, ExtBot

from bot.channels.slack import SlackTransport
from bot.channels.telegram import ChatPacer, Sender, TelegramTransport
from bot.core import changes
from bot.delivery import Deliverer
from bot.dialogue.messages import Incoming
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import ChangeApproval, ChangePost, ChangeRequest, Identity, Person
from tests.channels import fake_slack
from tests.channels.fake_slack import FakeSlack, SlackHarness, buttons, slack_harness
from tests.channels.fake_telegram import TOKEN, FakeBotApi

OPS = "COPS"
COORDINATOR = "nur.hidayati@kementerian.go.id"
MANAGER = "bambang.susilo@kementerian.go.id"
TECH = "budi.santoso@kementerian.go.id"
#: the CLI and the chat act now: the window is years ahead
START = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)


def person(s: Session, email: str) -> Person:
    return s.exec(select(Person).where(Person.email == email)).one()


def link(helpdesk: Helpdesk, email: str, channel: str, external_id: str) -> None:
    with session_scope(helpdesk.engine) as s:
        s.add(Identity(person_id=person(s, email).id, channel=channel, external_id=external_id))


def raise_change(helpdesk: Helpdesk, now: datetime) -> int:
    with session_scope(helpdesk.engine) as s:
        change = changes.raise_change(
            s, person(s, TECH), "telegram",
            changes.ChangeForm(
                service_id="vpn", kind="normal", description="Pembaruan firmware VPN 9.2",
                risk="rendah", impact="VPN putus sekitar sepuluh menit",
                plan="Pasang firmware lalu mulai ulang", test_functional="Login diuji: lulus",
                test_security="Pemindaian: tidak ada temuan", test_performance="500 sesi: stabil",
                rollback_plan="Kembali ke firmware 9.1", start=START,
                end=START + timedelta(hours=1),
            ),
            now=now,
        )  # fmt: skip
        return change.id or 0


@pytest.fixture
def slack(helpdesk: Helpdesk) -> Iterator[SlackHarness]:
    with slack_harness(helpdesk, operator_channels=(OPS,)) as harness:
        harness.fake.dm_channels = True
        yield harness


def test_the_posts_are_edited_on_slack_when_decided(
    slack: SlackHarness, helpdesk: Helpdesk
) -> None:
    link(helpdesk, COORDINATOR, "slack", "UNUR")
    slack.fake.add_user("UNUR", email=COORDINATOR, name="Nur Hidayati")
    slack.fake.add_user("UBAM", email=MANAGER, name="Bambang Susilo")
    change_id = raise_change(helpdesk, datetime.now(UTC))
    with Session(helpdesk.engine) as s:
        number = s.get(ChangeRequest, change_id).number  # type: ignore[union-attr]
    slack.tick()
    posted = {
        c.params["channel"]: c
        for c in slack.fake.wait_for(
            "chat.postMessage", lambda c: number in c.params["text"], count=2
        )
    }
    assert set(posted) == {"UNUR", OPS}  # the coordinator's DM and the operator channel
    assert list(buttons(posted["UNUR"])) == [
        f"chg:ok:{change_id}",
        f"chg:no:{change_id}",
        f"chg:info:{change_id}",
    ]
    with Session(helpdesk.engine) as s:
        refs = {p.target: p.message_ref for p in s.exec(select(ChangePost))}
    dm_ts = refs["UNUR"].rsplit("/", 1)[-1]  # type: ignore[union-attr]
    ops_ts = refs[OPS]
    # the coordinator approves in the DM
    response, _ = slack.press("UNUR", f"chg:ok:{change_id}", channel="DNUR", message_ts=dm_ts)
    assert response.status_code == 200
    slack.wait("action", 1)
    slack.tick()
    [dm_edit] = slack.fake.wait_for("chat.update", lambda c: c.params["ts"] == dm_ts)
    assert dm_edit.params["channel"] == "DNUR"  # the DM's id, not the user's
    assert "Disetujui oleh Nur Hidayati" in dm_edit.params["text"]
    assert "melalui slack" in dm_edit.params["text"]
    assert list(buttons(dm_edit)) == [  # still waiting for the service manager
        f"chg:ok:{change_id}",
        f"chg:no:{change_id}",
        f"chg:info:{change_id}",
    ]
    # the service manager rejects from the operator channel: the reason in a modal
    _, trigger = slack.press("UBAM", f"chg:no:{change_id}", channel=OPS, message_ts=ops_ts)
    view = slack.fake.wait_for("views.open", lambda c: c.params["trigger_id"] == trigger)[0]
    view = view.params["view"]
    assert view["callback_id"] == "hd_change_decision"
    assert t("changes.ask_note.tolak", number=number) in json.dumps(view, ensure_ascii=False)
    short = slack.submit("UBAM", view, {"note": "no"})
    assert short.json()["errors"] == {"note": t("changes.need_note")}  # the core's rule
    done = slack.channel.stats["view"]
    reason = "Belum ada jadwal komunikasi ke pengguna"
    assert slack.submit("UBAM", view, {"note": reason}).status_code == 200
    slack.wait("view", done + 1)
    told = slack.fake.wait_for("chat.postEphemeral", lambda c: c.params["user"] == "UBAM")[0]
    assert told.params["channel"] == OPS
    assert t("changes.decided", number=number, state=t("changes.state.ditolak")) in told.text()
    # decided: a late press is refused to the presser, no modal opens
    opened = len(slack.fake.calls_to("views.open"))
    slack.press("UNUR", f"chg:info:{change_id}", channel="DNUR", message_ts=dm_ts)
    late = slack.fake.wait_for(
        "chat.postEphemeral", lambda c: c.params["channel"] == "DNUR" and number in c.text()
    )
    assert t("changes.not_pending", number=number) in late[0].text()
    assert len(slack.fake.calls_to("views.open")) == opened
    slack.tick()
    final = {
        c.params["channel"]: c.params
        for c in slack.fake.wait_for(
            "chat.update", lambda c: "Ditolak oleh Bambang Susilo" in c.params["text"], count=2
        )
    }
    assert set(final) == {"DNUR", OPS}
    for params in final.values():
        assert "Disetujui oleh Nur Hidayati" in params["text"]
        assert "Belum ada jadwal komunikasi ke pengguna" in params["text"]
        assert not buttons(fake_slack.Call("chat.update", params))  # decided: no buttons
    posts = slack.fake.calls_to("chat.postMessage", lambda c: "Permintaan perubahan" in c.text())
    assert len(posts) == 2  # edited, never posted again


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    fake = FakeBotApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def web_api() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.dm_channels = True
        yield fake


@pytest.fixture
async def sender(bot_api: FakeBotApi) -> AsyncIterator[Sender]:
    ext = ExtBot(TOKEN, base_url=f"{bot_api.url}/bot", rate_limiter=AIORateLimiter(max_retries=0))
    async with ext:
        yield Sender(ext, ChatPacer(rate=0))


async def test_two_approvers_at_once_on_telegram_and_slack(
    helpdesk: Helpdesk, sender: Sender, bot_api: FakeBotApi, web_api: FakeSlack
) -> None:
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    link(helpdesk, COORDINATOR, "slack", "UNUR")
    link(helpdesk, MANAGER, "telegram", "1002")
    change_id = raise_change(helpdesk, now)
    client = AsyncWebClient(token=fake_slack.TOKEN, base_url=web_api.base_url)
    deliverer = Deliverer(
        helpdesk.engine,
        {"telegram": TelegramTransport(sender), "slack": SlackTransport(client)},
    )
    assert await deliverer.drain(now) == 2
    [tg_post] = bot_api.sent(1002)
    assert len(web_api.calls_to("chat.postMessage")) == 1
    barrier = threading.Barrier(2)

    def press(channel: str, chat_id: str, user: str) -> str:
        barrier.wait()
        replies = helpdesk.conversations.handle(
            Incoming(channel=channel, chat_id=chat_id, user_id=user,
                     action=f"chg:ok:{change_id}", dedupe_key=f"{channel}-press"),
            now=now,
        )  # fmt: skip
        return "\n".join(r.text for r in replies)

    answers = await asyncio.gather(
        asyncio.to_thread(press, "telegram", "1002", "1002"),
        asyncio.to_thread(press, "slack", "DNUR", "UNUR"),
    )
    assert all("Keputusan tercatat" in a for a in answers), answers
    with Session(helpdesk.engine) as s:
        change = s.get(ChangeRequest, change_id)
        assert change is not None and change.state == "disetujui"
        approvals = s.exec(select(ChangeApproval).where(ChangeApproval.change_id == change_id))
        assert sorted((a.channel or "", a.decision) for a in approvals) == [
            ("slack", "setuju"),
            ("telegram", "setuju"),
        ]
    await deliverer.drain(now)
    tg_text = bot_api.message(1002, tg_post.result["message_id"])["text"]
    [sl_edit] = web_api.calls_to("chat.update")
    assert sl_edit.params["channel"] == "DNUR"
    for text in (tg_text, sl_edit.params["text"]):
        assert "Disetujui oleh Nur Hidayati, 7 Des 2026 09.00 WIB, melalui slack" in text
        assert "Disetujui oleh Bambang Susilo, 7 Des 2026 09.00 WIB, melalui telegram" in text
        assert "disetujui" in text
