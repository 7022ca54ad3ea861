"""Malformed Slack requests are answered 4xx, never 500: a signature header that is not
ASCII, and signed bodies bolt cannot parse (broken JSON, a JSON array, form fields whose
payload is not an object, envelope fields of the wrong type). A body that is not UTF-8
cannot be signed the way Slack signs (slack_sdk decodes it): it stays a 401."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.runtime import Helpdesk
from tests.channels.fake_slack import SlackHarness, dm_event, event_body, slack_harness

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def slack(helpdesk: Helpdesk) -> Iterator[SlackHarness]:
    with slack_harness(helpdesk) as harness:
        yield harness


@pytest.mark.parametrize("signature", ["v0=é", "v0=ünïcödé", "v0=\u00ff" * 20])
def test_a_non_ascii_signature_is_401(slack: SlackHarness, signature: str) -> None:
    body = event_body(dm_event("U400", "halo"))
    response = slack.client.post(
        "/slack/events",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": signature.encode(),  # UTF-8 bytes on the wire
        },
    )
    assert response.status_code == 401


def test_a_non_ascii_timestamp_is_401(slack: SlackHarness) -> None:
    body = event_body(dm_event("U401", "halo"))
    digits = "".join(chr(0x0660 + int(d)) for d in str(int(time.time())))  # Arabic-Indic
    response = slack.client.post(
        "/slack/events",
        content=body,
        headers={
            "X-Slack-Request-Timestamp": digits.encode(),
            "X-Slack-Signature": "v0=00",
        },
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"a string"', "application/json"),
        pytest.param(b"[" * 5000 + b"]" * 5000, "application/json", id="nested-5000"),
        (b'{"type": "event_callback", "event": [1]}', "application/json"),
        (
            b'{"type": "event_callback", "event": {"type": "message", "user": 5}}',
            "application/json",
        ),
        (b'{"type": "event_callback", "authorizations": [1]}', "application/json"),
        (b"payload=%7Bbroken", FORM),
        (b"payload=%5B1%5D", FORM),
        (b"payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%5B1%5D%7D", FORM),
    ],
)
def test_a_signed_body_bolt_cannot_read_is_400(
    slack: SlackHarness, body: bytes, content_type: str
) -> None:
    response = slack.post(body, content_type=content_type)
    assert response.status_code == 400, response.text


def test_well_formed_requests_still_pass(slack: SlackHarness) -> None:
    response, _, _ = slack.command("U402", "bantuan")
    assert response.status_code == 200
    assert slack.dm("U402", "halo").status_code == 200
