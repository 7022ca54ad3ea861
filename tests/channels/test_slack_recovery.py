"""A recovery exercise walked in Slack through `/helpdesk latihanpemulihan` (the chat
command through Slack's one slash command) and the buttons of its messages: a failed
step offers Ulangi / Lewati / Hentikan, Ulangi opens the next attempt, and a
technician's press is refused without changing the run. Our app over signed requests,
the fake Web API over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.core import recovery_attempts
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.models import RecoveryRun
from tests.channels.fake_slack import SlackHarness, buttons, slack_harness

COORDINATOR, TECHNICIAN = "U900", "U901"


@pytest.fixture
def slack(helpdesk: Helpdesk) -> Iterator[SlackHarness]:
    with slack_harness(helpdesk) as harness:
        harness.fake.add_user(COORDINATOR, email="teguh.prakoso@kementerian.go.id")
        harness.fake.add_user(TECHNICIAN, email="andi.wijaya@kementerian.go.id")
        yield harness


def latest_with_buttons(slack: SlackHarness, after: int) -> Any:
    """The newest message with buttons the app sent (a response_url answer or a DM)."""
    calls = [c for c in slack.fake.calls[after:] if buttons(c)]
    assert calls, [c.method for c in slack.fake.calls[after:]]
    return calls[-1]


def press(slack: SlackHarness, user: str, label: str, message: Any) -> int:
    value = next(v for v, shown in buttons(message).items() if shown == label)
    mark = len(slack.fake.calls)
    done = slack.channel.stats["action"]
    slack.press(user, value, channel=f"D{user[1:]}")
    slack.wait("action", done + 1)
    return mark


def test_a_failed_step_is_retried_in_slack(slack: SlackHarness, helpdesk: Helpdesk) -> None:
    mark = len(slack.fake.calls)
    _, url, _ = slack.command(COORDINATOR, "latihanpemulihan sso")
    [first] = slack.fake.wait_for("response_url", lambda c: c.params["_path"] in url)
    assert "Langkah 1/5" in first.params["text"]
    mark = press(slack, COORDINATOR, "Mulai", latest_with_buttons(slack, mark))
    mark = press(slack, COORDINATOR, "Gagal", latest_with_buttons(slack, mark))
    offered = latest_with_buttons(slack, mark)
    assert list(buttons(offered).values()) == ["Ulangi", "Lewati", "Hentikan"]
    assert "Langkah 1 gagal pada percobaan ke-1" in offered.params["text"]

    # a technician presses the coordinator's Ulangi: refused, the run unchanged
    tech = press(slack, TECHNICIAN, "Ulangi", offered)
    refusal = t("auth.recovery_only")
    assert any(refusal in str(c.params.get("text", "")) for c in slack.fake.calls[tech:])
    with Session(helpdesk.engine) as s:
        run = s.exec(select(RecoveryRun)).one()
        assert len(recovery_attempts.attempts(s, run.id or 0)) == 1

    mark = press(slack, COORDINATOR, "Ulangi", offered)
    retried = latest_with_buttons(slack, mark)
    assert "Percobaan ke-2 langkah ini berjalan" in retried.params["text"]
    with Session(helpdesk.engine) as s:
        tries = recovery_attempts.attempts(s, run.id or 0)
    assert [(a.position, a.number) for a in tries] == [(1, 1), (1, 2)]
