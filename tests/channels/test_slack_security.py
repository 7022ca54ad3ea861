"""Only signed requests are served, retries are processed once, and text from users can
never become a mention in what we send."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from sqlmodel import Session, select

from bot.channels import slack as slack_channel
from bot.channels.registry import starters_for
from bot.channels.slack import SlackChannel, dm_text, escape, from_slack
from bot.config import Settings
from bot.runtime import Helpdesk
from storage.models import Conversation, InboundEvent
from tests.channels.fake_slack import SlackHarness, dm_event, event_body, slack_harness

OPS = "COPS"
FORBIDDEN = ("<!channel>", "<!here>", "<!everyone>", "<@U", "<#C", "<http")


@pytest.fixture
def slack(helpdesk: Helpdesk) -> Iterator[SlackHarness]:
    with slack_harness(helpdesk, operator_channels=(OPS,)) as harness:
        yield harness


def nothing_happened(slack: SlackHarness) -> None:
    time.sleep(0.1)
    assert slack.fake.calls == [] and not slack.channel.stats
    with Session(slack.channel.engine) as s:
        assert s.exec(select(InboundEvent)).first() is None
        assert s.exec(select(Conversation)).first() is None


def test_bad_signature_is_refused(slack: SlackHarness) -> None:
    response = slack.post(event_body(dm_event("U300", "halo")), secret="not-the-secret")
    assert response.status_code == 401
    nothing_happened(slack)


def test_missing_signature_or_timestamp_is_refused(slack: SlackHarness) -> None:
    body = event_body(dm_event("U301", "halo"))
    assert (
        slack.client.post(
            "/slack/events", content=body, headers={"Content-Type": "application/json"}
        ).status_code
        == 401
    )
    signed = slack.post  # with a signature but without the timestamp header
    response = signed(body, headers={"X-Slack-Request-Timestamp": ""})
    assert response.status_code == 401
    assert slack.post(body, headers={"X-Slack-Request-Timestamp": "soon"}).status_code == 401
    nothing_happened(slack)


def test_old_timestamp_is_refused(slack: SlackHarness) -> None:
    body = event_body(dm_event("U302", "halo"))
    assert slack.post(body, timestamp=int(time.time()) - 6 * 60).status_code == 401
    assert slack.post(body, timestamp=int(time.time()) + 6 * 60).status_code == 401
    nothing_happened(slack)


def test_unsigned_garbage_gets_401_not_a_crash(slack: SlackHarness) -> None:
    for body in (b"\xff\xfe not utf-8", b"{not json", b"payload=%7Bbroken"):
        response = slack.client.post(
            "/slack/events",
            content=body,
            headers={
                "X-Slack-Request-Timestamp": str(int(time.time())),
                "X-Slack-Signature": "v0=00",
            },
        )
        assert response.status_code == 401
    nothing_happened(slack)


def test_bolt_verifies_signatures_too(slack: SlackHarness) -> None:
    from slack_bolt.middleware.request_verification.async_request_verification import (
        AsyncRequestVerification,
    )

    assert any(
        isinstance(m, AsyncRequestVerification) for m in slack.channel.app._async_middleware_list
    )


def test_signed_request_is_served(slack: SlackHarness) -> None:
    challenge = json.dumps(
        {"token": "x", "challenge": "abc123", "type": "url_verification"}
    ).encode()
    response = slack.post(challenge)
    assert response.status_code == 200 and response.json() == {"challenge": "abc123"}


def test_retried_event_is_processed_once(slack: SlackHarness) -> None:
    event = dm_event("U303", "halo")
    first = slack.event(event, event_id="EvSAME0001")
    retry = slack.event(event, event_id="EvSAME0001", retry=1)
    again = slack.event(event, event_id="EvSAME0001", retry=2)
    assert first.status_code == retry.status_code == again.status_code == 200
    slack.wait("event", 3)
    assert slack.channel.stats["duplicate"] == 2, slack.channel.stats
    replies = slack.fake.calls_to("chat.postMessage", lambda c: c.params["channel"] == "D303")
    assert len(replies) == 1
    with Session(slack.channel.engine) as s:
        assert len(s.exec(select(InboundEvent).where(InboundEvent.key == "EvSAME0001")).all()) == 1


def test_user_text_never_becomes_a_mention(slack: SlackHarness) -> None:
    # In a DM, Slack sends what the user typed already encoded; the core echoes the
    # unknown service name back.
    slack.dm("U304", "lapor")
    slack.wait("event")
    slack.dm("U304", "&lt;!channel&gt; <!here> <@U999|boss> &amp; <!everyone> <#C1|umum>")
    slack.wait("event", 2)
    echoed = slack.fake.wait_for(
        "chat.postMessage", lambda c: c.params["channel"] == "D304", count=2
    )[-1]
    assert "&lt;!channel&gt; @here @boss &amp; @everyone #umum" in echoed.params["text"]
    # In a modal the text comes raw; it reaches the operator channel and /helpdesk status.
    evil = "<!channel> VPN mati <@U999> & <!here> <https://evil.example|klik>"
    ticket = slack.report("U305", service="vpn", impact="1", urgency="1", description=evil)
    slack.tick()
    post = slack.fake.wait_for("chat.postMessage", lambda c: c.params["channel"] == OPS)[0]
    assert "&lt;!channel&gt; VPN mati &lt;@U999&gt; &amp; &lt;!here&gt;" in post.params["text"]
    _, url, _ = slack.command("U305", f"status {ticket.number}")
    slack.fake.wait_for("response_url", lambda c: c.params["_path"] in url)
    for call in slack.fake.calls:
        for value in _texts(call.params):
            assert not any(bad in value for bad in FORBIDDEN), (call.method, value)


def _texts(value: object) -> Iterator[str]:
    """Every mrkdwn or top-level text in a recorded call."""
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            else:
                yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def test_escape_and_from_slack() -> None:
    assert escape("<!channel> & <@U1> > x") == "&lt;!channel&gt; &amp; &lt;@U1&gt; &gt; x"
    assert escape("&lt;") == "&amp;lt;"
    assert (
        from_slack("<@U1|budi> lihat <https://a.example/x?y=1&amp;z=2|tautan> &lt;b&gt;")
        == "@budi lihat tautan <b>"
    )
    assert (
        from_slack("<!subteam^S1|@ops> <!here> <#C1> <mailto:a@b.c|a@b.c>")
        == "@ops @here #C1 a@b.c"
    )
    assert escape(from_slack("&lt;!channel&gt;")) == "&lt;!channel&gt;"


def test_dm_commands_without_the_slash() -> None:
    assert dm_text("bantuan") == "/bantuan"
    assert dm_text("tautkan AB12CD34") == "/tautkan AB12CD34"
    assert dm_text("status INC-2026-000001") == "/status INC-2026-000001"
    assert dm_text("status vpn saya kenapa mati") == "status vpn saya kenapa mati"
    assert dm_text("lupa kata sandi") == "lupa kata sandi"


def test_registry_starts_slack_only_when_configured(settings: Settings) -> None:
    assert slack_channel.start not in starters_for(settings)
    configured = settings.model_copy(
        update={"slack_bot_token": SecretStr("xoxb-1"), "slack_signing_secret": SecretStr("s")}
    )
    assert slack_channel.start in starters_for(configured)


async def test_socket_mode_is_chosen_when_an_app_token_is_set(helpdesk: Helpdesk) -> None:
    import dataclasses

    base = {"slack_bot_token": SecretStr("xoxb-1"), "slack_signing_secret": SecretStr("s")}
    http = SlackChannel(
        dataclasses.replace(helpdesk, settings=helpdesk.settings.model_copy(update=base))
    )
    assert not http.socket_mode
    update = {**base, "slack_app_token": SecretStr("xapp-1-test")}
    channel = SlackChannel(
        dataclasses.replace(helpdesk, settings=helpdesk.settings.model_copy(update=update))
    )
    assert channel.socket_mode
    handler = channel.socket_mode_handler()  # built, not connected: no network here
    assert isinstance(handler, AsyncSocketModeHandler)
    assert handler.app is channel.app and handler.app_token == "xapp-1-test"
    await handler.client.close()
