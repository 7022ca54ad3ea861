"""Slack for operators: alerts in operator channels with Ambil / Akui / Selesai, edited
in place through the outbox; refusals ephemeral; the resolve modal; /helpdesk ringkasan;
what the transport does with Slack's errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.core import notices
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import (
    AlertPost,
    Notice,
    OperatorChannel,
    Person,
    ServiceState,
    Ticket,
    TicketEvent,
    utcnow,
)
from tests.channels.fake_slack import SlackHarness, buttons, slack_harness

OPS = "COPS"


@pytest.fixture
def slack(helpdesk: Helpdesk) -> Iterator[SlackHarness]:
    with slack_harness(helpdesk, operator_channels=(OPS,)) as harness:
        yield harness


def operator_of(slack: SlackHarness, ticket: Ticket, user: str) -> Person:
    """The ticket's assignee, known to Slack by the e-mail of their profile."""
    with Session(slack.channel.engine) as s:
        person = s.get(Person, ticket.assignee_id)
    assert person is not None and person.email
    slack.fake.add_user(user, email=person.email, name=person.name)
    return person


def alert_post(slack: SlackHarness, ticket: Ticket):  # type: ignore[no-untyped-def]
    slack.tick()
    return slack.fake.wait_for(
        "chat.postMessage",
        lambda c: c.params["channel"] == OPS and ticket.number in c.params["text"],
    )[0]


def edits(slack: SlackHarness, ts: str) -> list[str]:
    slack.tick()
    return [
        c.params["text"] for c in slack.fake.calls_to("chat.update", lambda c: c.params["ts"] == ts)
    ]


def fresh(slack: SlackHarness, ticket: Ticket) -> Ticket:
    with Session(slack.channel.engine) as s:
        found = s.get(Ticket, ticket.id)
        assert found is not None
        return found


def test_operator_channel_is_registered_from_settings(slack: SlackHarness) -> None:
    with Session(slack.channel.engine) as s:
        rows = s.exec(select(OperatorChannel)).all()
    assert [(r.channel, r.target, r.registered_by) for r in rows] == [("slack", OPS, None)]


def test_acknowledge_take_and_resolve_from_the_operator_channel(slack: SlackHarness) -> None:
    ticket = slack.report("U200", service="vpn", impact="1", urgency="1")
    assert ticket.priority == 1
    operator = operator_of(slack, ticket, "UOPS")
    post = alert_post(slack, ticket)
    ts = posted_ts(slack)
    assert set(buttons(post)) == {
        f"t:take:{ticket.number}",
        f"t:ack:{ticket.number}",
        f"t:resolve:{ticket.number}",
        f"pb:new:{ticket.number}",  # an incident's cause may be a problem
    }
    assert [buttons(post)[f"t:{v}:{ticket.number}"] for v in ("take", "ack", "resolve")] == [
        "Ambil",
        "Akui",
        "Selesai",
    ]

    slack.press("UOPS", f"t:ack:{ticket.number}", channel=OPS, message_ts=ts)
    slack.wait("action")
    [confirm] = slack.fake.wait_for("chat.postEphemeral", lambda c: c.params["user"] == "UOPS")
    assert confirm.params["channel"] == OPS and ticket.number in confirm.params["text"]
    assert any(f"Diakui oleh {operator.name}" in text for text in edits(slack, ts))
    assert fresh(slack, ticket).acknowledged_at is not None

    slack.press("UOPS", f"t:take:{ticket.number}", channel=OPS, message_ts=ts)
    slack.wait("action", 2)
    assert fresh(slack, ticket).state == "dikerjakan"
    assert any(f"Dikerjakan oleh {operator.name}" in text for text in edits(slack, ts))

    _, trigger = slack.press("UOPS", f"t:resolve:{ticket.number}", channel=OPS, message_ts=ts)
    slack.wait("action", 3)
    view = slack.fake.wait_for("views.open", lambda c: c.params["trigger_id"] == trigger)[0].params[
        "view"
    ]
    assert view["callback_id"] == "hd_resolve" and {b.get("block_id") for b in view["blocks"]} >= {
        "note",
        "cause",
    }
    slack.submit(
        "UOPS", view, {"note": "Sertifikat VPN diperbarui", "cause": "Sertifikat kedaluwarsa"}
    )
    slack.wait("view", 2)
    done = fresh(slack, ticket)
    assert (done.state, done.resolution, done.root_cause) == (
        "selesai",
        "Sertifikat VPN diperbarui",
        "Sertifikat kedaluwarsa",
    )
    last = edits(slack, ts)[-1]
    assert f"Diselesaikan oleh {operator.name}" in last
    final = slack.fake.calls_to("chat.update", lambda c: c.params["ts"] == ts)[-1]
    assert buttons(final) == {}  # nothing left to press on a resolved ticket
    assert slack.fake.wait_for(
        "chat.postEphemeral",
        lambda c: (
            c.params["user"] == "UOPS"
            and t("ticket.resolved", number=ticket.number) in c.params["text"]
        ),
    )


def posted_ts(slack: SlackHarness) -> str:
    """The ts Slack answered for the alert post, as the Deliverer recorded it."""
    with Session(slack.channel.engine) as s:
        row = s.exec(select(AlertPost).where(AlertPost.target == OPS)).one()
    assert row.message_ref and row.message_ref.endswith(".000100")
    return row.message_ref


def test_button_without_the_role_is_refused_ephemerally_and_changes_nothing(
    slack: SlackHarness,
) -> None:
    ticket = slack.report("U201", service="vpn", impact="1", urgency="2")
    alert_post(slack, ticket)
    before = fresh(slack, ticket)
    with Session(slack.channel.engine) as s:
        events = len(s.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all())
    slack.fake.add_user(
        "U202", email="lina.marlina@kementerian.go.id", name="Lina Marlina"
    )  # a pengguna
    for verb in ("take", "ack", "resolve"):
        slack.press("U202", f"t:{verb}:{ticket.number}", channel=OPS)
    slack.wait("action", 3)
    refusals = slack.fake.wait_for(
        "chat.postEphemeral", lambda c: c.params["user"] == "U202", count=3
    )
    assert {r.params["channel"] for r in refusals} == {OPS}
    assert all(r.params["text"] == t("auth.operator_only") for r in refusals)
    assert not slack.fake.calls_to(
        "views.open", lambda c: c.params["view"]["callback_id"] == "hd_resolve"
    )
    after = fresh(slack, ticket)
    assert (after.state, after.assignee_id, after.acknowledged_at) == (
        before.state,
        before.assignee_id,
        None,
    )
    with Session(slack.channel.engine) as s:
        assert (
            len(s.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all())
            == events
        )
        assert not s.exec(select(Notice).where(Notice.kind == "alert.edit")).all()
    assert edits(slack, "any") == [] and not slack.fake.calls_to("chat.update")


def test_summary_is_for_coordinators_only(slack: SlackHarness) -> None:
    slack.report("U203", service="vpn", impact="1", urgency="1")
    slack.report("U203", service="email", impact="3", urgency="3")
    _, refused_url, _ = slack.command("U203", "ringkasan")
    [refused] = slack.fake.wait_for("response_url", lambda c: c.params["_path"] in refused_url)
    assert refused.params["text"] == t("summary.not_allowed")

    slack.fake.add_user("UKOOR", email="nur.hidayati@kementerian.go.id", name="Nur Hidayati")
    _, url, _ = slack.command("UKOOR", "ringkasan")
    [summary] = slack.fake.wait_for("response_url", lambda c: c.params["_path"] in url)
    text = summary.params["text"]
    assert "Ringkasan status" in text.splitlines()[0]
    assert "Tiket terbuka: 2 (P1: 1 · P2: 0 · P3: 0 · P4: 1)" in text and "ditugaskan 2" in text
    _, url, _ = slack.command("UKOOR", "ringkasan vpn")
    [narrowed] = slack.fake.wait_for("response_url", lambda c: c.params["_path"] in url)
    assert (
        "Akses Jarak Jauh (VPN)" in narrowed.params["text"]
        and "Tiket terbuka: 1 (P1: 1" in narrowed.params["text"]
    )
    assert not [
        b for b in narrowed.params["blocks"] if b["type"] == "image"
    ]  # nothing monitored: no chart
    with session_scope(slack.channel.engine) as s:
        s.add(
            ServiceState(service_id="vpn", state="up", monitored_since=utcnow() - timedelta(days=2))
        )
    _, url, _ = slack.command("UKOOR", "ringkasan vpn")
    [charted] = slack.fake.wait_for("response_url", lambda c: c.params["_path"] in url)
    [image] = [b for b in charted.params["blocks"] if b["type"] == "image"]
    assert image["image_url"].endswith("/charts/availability-7d.png?scope=vpn")


def _notice(slack: SlackHarness, **kw: object) -> int:
    with session_scope(slack.channel.engine) as s:
        notices.enqueue(
            s,
            channel="slack",
            target=str(kw.get("target", "D300")),
            kind="ticket.state",
            payload={"text": "Tiket INC-2026-000001 kini berstatus: selesai."},
            dedupe_key="test:1",
        )
        return s.exec(select(Notice.id).where(Notice.dedupe_key == "test:1")).one()


def _row(slack: SlackHarness, notice_id: int) -> Notice:
    with Session(slack.channel.engine) as s:
        row = s.get(Notice, notice_id)
        assert row is not None
        return row


def test_long_rate_limit_reschedules_the_notice(slack: SlackHarness) -> None:
    notice_id = _notice(slack)
    slack.fake.fail("chat.postMessage", retry_after=30)
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert slack.client.portal.call(slack.app.state.deliverer.tick, now) == 0
    row = _row(slack, notice_id)
    assert (row.status, row.last_error) == ("pending", "slack: ratelimited")
    assert row.next_attempt_at.replace(tzinfo=UTC) == now + timedelta(seconds=30)
    assert [c.status for c in slack.fake.calls_to("chat.postMessage")] == [
        429
    ]  # not retried in place
    assert (
        slack.client.portal.call(slack.app.state.deliverer.tick, now + timedelta(seconds=31)) == 1
    )
    assert _row(slack, notice_id).status == "sent"


def test_short_rate_limit_is_waited_out_in_place(slack: SlackHarness) -> None:
    notice_id = _notice(slack)
    slack.fake.fail("chat.postMessage", retry_after=0)
    assert slack.tick() == 1
    assert [c.status for c in slack.fake.calls_to("chat.postMessage")] == [429, 200]
    assert _row(slack, notice_id).status == "sent"


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "account_inactive"])
def test_permanent_errors_are_not_retried(slack: SlackHarness, error: str) -> None:
    notice_id = _notice(slack)
    slack.fake.fail("chat.postMessage", error)
    slack.tick()
    row = _row(slack, notice_id)
    assert (row.status, row.last_error) == ("failed", f"slack: {error}")


def test_a_reply_to_a_dm_honours_429(slack: SlackHarness, helpdesk: Helpdesk) -> None:
    slack.fake.fail("chat.postMessage", retry_after=0)
    slack.dm("U204", helpdesk.kb.current.articles[0].question)
    slack.wait("event")
    calls = slack.fake.calls_to("chat.postMessage", lambda c: c.params["channel"] == "D204")
    assert [c.status for c in calls] == [429, 200]
    assert calls[0].params == calls[1].params


def test_notices_from_the_outbox_reach_the_reporters_dm(slack: SlackHarness) -> None:
    ticket = slack.report("U205", service="vpn")
    slack.tick()
    with Session(slack.channel.engine) as s:
        sent = s.exec(
            select(Notice).where(Notice.channel == "slack", col(Notice.target) == "D205")
        ).all()
    assert sent and all(n.status == "sent" for n in sent)
    assert slack.fake.calls_to(
        "chat.postMessage",
        lambda c: (
            c.params["channel"] == "D205"
            and ticket.number in c.params["text"]
            and "ditugaskan" in c.params["text"]
        ),
    )
