"""A Slack turn committed, then its answer failed to go out (the Web API refused the
post, as a crash between the commit and the post would leave it): the inbox runs the
event again, which posts the owed answer once and does not run the turn again. Our real
app and engine, the fake Web API over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.runtime import Helpdesk
from storage.models import InboundEvent, InboxEvent, RateCounter
from tests.channels.fake_slack import SlackHarness, slack_harness


@pytest.fixture
def slack(helpdesk: Helpdesk) -> Iterator[SlackHarness]:
    with slack_harness(helpdesk) as harness:
        yield harness


def test_an_answer_that_failed_after_the_commit_is_posted_once_on_the_retry(
    slack: SlackHarness, helpdesk: Helpdesk
) -> None:
    article = helpdesk.kb.current.articles[0]
    slack.fake.fail("chat.postMessage", "internal_error", status=500)
    assert slack.dm("U300", article.question, event_id="Ev300").status_code == 200
    slack.wait("error")  # the first run: the turn committed, the post refused
    posts = slack.fake.wait_for(
        "chat.postMessage", lambda c: c.params["channel"] == "D300" and c.status == 200
    )
    assert len(posts) == 1 and article.question[:40] in posts[0].params["text"]
    slack.wait("event", count=2)
    # the reply marks are written with the done marks, in the intake's next flush
    slack.client.portal.call(slack.app.state.intake.idle)
    with Session(helpdesk.engine) as s:
        row = s.exec(
            select(InboundEvent).where(InboundEvent.channel == "slack", InboundEvent.key == "Ev300")
        ).one()
        assert row.replies is None and row.replies_sent >= 1  # all sent, payload dropped
        turns = s.exec(
            select(func.sum(RateCounter.count)).where(RateCounter.key == "turn:chat:slack:D300")
        ).one()
        assert turns == 1  # the turn ran once
        assert list(s.exec(select(InboxEvent.state))) == ["done"]
    # Slack redelivers the event later: nothing more is posted
    assert slack.dm("U300", article.question, event_id="Ev300").status_code == 200
    ok = [c for c in slack.fake.calls_to("chat.postMessage") if c.status == 200]
    assert len(ok) == 1, [
        (c.at, c.params["text"][:30]) for c in slack.fake.calls_to("chat.postMessage")
    ]
