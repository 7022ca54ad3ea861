"""Slack for users: DMs with the FAQ, app mentions, /helpdesk, the report modal, App Home,
linking by e-mail or one-time code. Our real app and engine, a fake Web API over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.core import people
from bot.i18n import fmt_dt, t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Identity, Person, Service, Subscription, Ticket
from tests.channels.fake_slack import SlackHarness, buttons, slack_harness
from tests.helpers import Chat


@pytest.fixture
def slack(helpdesk: Helpdesk) -> Iterator[SlackHarness]:
    with slack_harness(helpdesk) as harness:
        yield harness


def test_question_in_dm_is_answered_from_the_knowledge_base(
    slack: SlackHarness, helpdesk: Helpdesk
) -> None:
    article = helpdesk.kb.current.articles[0]
    response = slack.dm("U100", article.question)
    assert response.status_code == 200 and response.text == ""
    slack.wait("event")
    [call] = slack.fake.wait_for("chat.postMessage", lambda c: c.params["channel"] == "D100")
    assert article.question[:40] in call.params["text"]
    assert buttons(call) == {
        f"faq:yes:{article.id}": t("common.yes"),
        f"faq:no:{article.id}": t("common.no"),
    }
    ids = [b["block_id"] for b in call.params["blocks"] if "block_id" in b]
    actions = [e["action_id"] for b in call.params["blocks"] for e in b.get("elements", [])]
    assert len(ids) == len(set(ids)) and len(actions) == len(set(actions))

    slack.press("U100", f"faq:yes:{article.id}", channel="D100")
    slack.wait("action")
    [thanks] = slack.fake.wait_for(
        "chat.postMessage", lambda c: c.params["channel"] == "D100", count=2
    )[1:]
    assert thanks.params["text"] == t("faq.glad")


def test_app_mention_is_answered_in_the_users_dm(slack: SlackHarness, helpdesk: Helpdesk) -> None:
    article = helpdesk.kb.current.articles[1]
    event = {
        "type": "app_mention",
        "user": "U101",
        "channel": "CGENERAL",
        "text": f"<@UBOT> {article.question}",
        "ts": "1.0",
        "event_ts": "1.0",
    }
    assert slack.event(event).status_code == 200
    slack.wait("event")
    assert slack.fake.calls_to("conversations.open")[0].params["users"] == "U101"
    [answer] = slack.fake.calls_to("chat.postMessage", lambda c: c.params["channel"] == "D101")
    assert article.question[:40] in answer.params["text"]
    [hint] = slack.fake.calls_to("chat.postEphemeral")
    assert (hint.params["channel"], hint.params["user"]) == ("CGENERAL", "U101")


def test_report_through_the_modal_gets_a_ticket_number(slack: SlackHarness) -> None:
    ticket = slack.report("U102", service="vpn", impact="2", urgency="1")
    assert ticket.service_id == "vpn" and ticket.type == "gangguan" and ticket.priority == 2
    assert (ticket.reporter_channel, ticket.reporter_chat_id) == ("slack", "D102")
    assert ticket.title == "VPN putus terus sejak pagi"
    [dm] = slack.fake.wait_for(
        "chat.postMessage",
        lambda c: c.params["channel"] == "D102" and ticket.number in c.params["text"],
    )
    assert buttons(dm) == {f"t:status:{ticket.number}": t("menu.status")}
    view = slack.fake.calls_to("views.open")[0].params["view"]
    services = next(b for b in view["blocks"] if b["block_id"] == "service")["element"]["options"]
    assert {"vpn", "-"} <= {o["value"] for o in services}
    impact = next(b for b in view["blocks"] if b["block_id"] == "impact")["element"]["options"]
    assert [o["text"]["text"] for o in impact] == [t("impact.3"), t("impact.2"), t("impact.1")]
    with Session(slack.channel.engine) as s:
        reporter = people.identify(s, "slack", "U102")
        assert reporter is not None and ticket.reporter_id == reporter.id


def test_report_modal_refuses_a_too_short_description(slack: SlackHarness) -> None:
    _, _, trigger = slack.command("U103", "lapor")
    view = slack.fake.wait_for("views.open", lambda c: c.params["trigger_id"] == trigger)[0].params[
        "view"
    ]
    response = slack.submit(
        "U103",
        view,
        {"service": "vpn", "type": "gangguan", "description": "vpn", "impact": "3", "urgency": "3"},
    )
    assert response.status_code == 200
    assert (
        response.json()["response_action"] == "errors"
        and "description" in response.json()["errors"]
    )
    with Session(slack.channel.engine) as s:
        assert s.exec(select(Ticket)).first() is None


def test_report_button_in_dm_opens_the_modal(slack: SlackHarness) -> None:
    _, trigger = slack.press("U104", "menu:report", channel="D104")
    [opened] = slack.fake.wait_for("views.open")
    assert (
        opened.params["trigger_id"] == trigger
        and opened.params["view"]["callback_id"] == "hd_report"
    )


def test_helpdesk_status_answers_ephemerally(slack: SlackHarness) -> None:
    ticket = slack.report("U105")
    response, url, _ = slack.command("U105", f"status {ticket.number}")
    assert response.status_code == 200 and response.text == ""
    [answer] = slack.fake.wait_for("response_url", lambda c: c.params["_path"] in url)
    assert ticket.number in answer.params["text"] and answer.params["response_type"] == "ephemeral"
    assert t(f"state.{ticket.state}") in answer.params["text"]

    _, url, _ = slack.command("U999", f"status {ticket.number}")  # somebody else's ticket
    [other] = slack.fake.wait_for("response_url", lambda c: c.params["_path"] in url)
    assert other.params["text"] == t("ticket.not_found", number=ticket.number)


def test_helpdesk_tiket_faq_bantuan_and_unknown(slack: SlackHarness, helpdesk: Helpdesk) -> None:
    ticket = slack.report("U106")
    article = helpdesk.kb.current.articles[2]
    urls = {}
    for text in ("tiket", f"faq {article.question}", "bantuan", "", "terbang"):
        urls[text] = slack.command("U106", text)[1]

    def answer(text: str) -> str:
        return slack.fake.wait_for("response_url", lambda c: c.params["_path"] in urls[text])[
            0
        ].params["text"]

    assert ticket.number in answer("tiket")
    assert article.question[:40] in answer(f"faq {article.question}")
    assert answer("bantuan") == answer("") == t("slack.command.usage").replace("&", "&amp;")
    assert answer("terbang").startswith(t("slack.command.unknown", word="terbang"))


def test_users_are_linked_by_their_slack_email(slack: SlackHarness) -> None:
    slack.fake.add_user("U107", email="Lina.Marlina@kementerian.go.id", name="Lina M")
    slack.dm("U107", "halo")
    slack.wait("event")
    with Session(slack.channel.engine) as s:
        person = people.identify(s, "slack", "U107")
        assert person is not None and person.email == "lina.marlina@kementerian.go.id"
    slack.dm("U107", "halo lagi")
    slack.wait("event", 2)
    assert len(slack.fake.calls_to("users.info")) == 1  # known now: not looked up again


def test_unknown_email_links_with_the_one_time_code(slack: SlackHarness) -> None:
    slack.fake.add_user("U108", email="someone@elsewhere.example", name="Ahmad F")
    with session_scope(slack.channel.engine) as s:
        ahmad = s.exec(select(Person).where(Person.email == "ahmad.fauzi@kementerian.go.id")).one()
        code = people.issue_link_code(s, ahmad, ttl=timedelta(minutes=15))
        code2 = people.issue_link_code(s, ahmad, ttl=timedelta(minutes=15))
    slack.dm(
        "U108", f"tautkan {code}"
    )  # typed without the slash: Slack keeps "/" for its own commands
    slack.wait("event")
    [done] = slack.fake.wait_for("chat.postMessage", lambda c: c.params["channel"] == "D108")
    assert "Ahmad Fauzi" in done.params["text"]
    _, url, _ = slack.command("U109", f"tautkan {code2}")
    slack.fake.wait_for("response_url", lambda c: c.params["_path"] in url)
    with Session(slack.channel.engine) as s:
        linked = s.exec(select(Identity).where(Identity.channel == "slack")).all()
        assert {(i.external_id, i.person_id) for i in linked} == {
            ("U108", ahmad.id),
            ("U109", ahmad.id),
        }


def test_app_home_shows_open_tickets_with_due_times(slack: SlackHarness) -> None:
    ticket = slack.report("U110")
    event = {
        "type": "app_home_opened",
        "user": "U110",
        "channel": "D110",
        "tab": "home",
        "event_ts": "1.0",
    }
    slack.event(event)
    slack.wait("event")
    [published] = slack.fake.wait_for("views.publish")
    assert published.params["user_id"] == "U110"
    text = published.text()
    assert ticket.number in text and t(f"state.{ticket.state}") in text
    assert fmt_dt(ticket.response_due_at) in text and fmt_dt(ticket.resolution_due_at) in text
    assert f"t:status:{ticket.number}" in buttons(published)
    assert t("slack.home.queue_header") not in text  # a pengguna has no queue


def test_operator_home_shows_their_queue(slack: SlackHarness) -> None:
    ticket = slack.report("U111", service="vpn")
    with Session(slack.channel.engine) as s:
        assignee = s.get(Person, ticket.assignee_id)
    assert assignee is not None and assignee.email
    slack.fake.add_user("U112", email=assignee.email, name=assignee.name)
    slack.event({"type": "app_home_opened", "user": "U112", "tab": "home", "event_ts": "2.0"})
    slack.wait("event")
    [published] = slack.fake.wait_for("views.publish")
    assert t("slack.home.queue_header") in published.text()
    assert f"★ *{ticket.number}*" in published.text()


def test_messages_tab_and_bot_messages_are_no_turns(slack: SlackHarness) -> None:
    slack.event({"type": "app_home_opened", "user": "U113", "tab": "messages", "event_ts": "1.0"})
    slack.event(
        {
            "type": "message",
            "channel": "D113",
            "channel_type": "im",
            "bot_id": "BBOT",
            "text": "hi",
            "ts": "1.0",
        }
    )
    slack.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "D113",
            "channel_type": "im",
            "ts": "1.0",
        }
    )
    slack.wait("event")
    time.sleep(0.2)
    assert not slack.fake.calls_to("views.publish") and not slack.fake.calls_to("chat.postMessage")


def slack_person(slack: SlackHarness, user: str) -> Person | None:
    with Session(slack.channel.engine) as s:
        return people.identify(s, "slack", user)


def test_logout_on_slack_is_not_undone_by_the_profile_email(slack: SlackHarness) -> None:
    slack.fake.add_user("U120", email="lina.marlina@kementerian.go.id", name="Lina M")
    slack.dm("U120", "halo")
    slack.wait("event")
    linked = slack_person(slack, "U120")
    assert linked is not None and linked.email == "lina.marlina@kementerian.go.id"
    slack.dm("U120", "keluar")
    slack.wait("event", 2)
    slack.dm("U120", "halo lagi")
    slack.wait("event", 3)
    assert len(slack.fake.calls_to("users.info")) == 2
    again = slack_person(slack, "U120")
    assert again is None or again.email is None  # a pengguna without the person's rights

    with session_scope(slack.channel.engine) as s:
        code = people.issue_link_code(s, linked, ttl=timedelta(minutes=15))
    slack.dm("U120", f"tautkan {code}")
    slack.wait("event", 4)
    relinked = slack_person(slack, "U120")
    assert relinked is not None and relinked.id == linked.id
    with session_scope(slack.channel.engine) as s:  # the code cleared the block
        assert people.unlink_account(s, "slack", "U120") is not None
        assert people.email_link_blocked(s, "slack", "U120")
        people.redeem_link_code(
            s, people.issue_link_code(s, linked, ttl=timedelta(minutes=5)), "slack", "U120"
        )
        assert not people.email_link_blocked(s, "slack", "U120")


@pytest.mark.parametrize("how", ["chat", "cli"])
def test_an_admins_unlink_of_a_slack_account_holds(
    slack: SlackHarness, helpdesk: Helpdesk, how: str
) -> None:
    slack.fake.add_user("U121", email="lina.marlina@kementerian.go.id", name="Lina M")
    slack.dm("U121", "halo")
    slack.wait("event")
    assert slack_person(slack, "U121") is not None
    if how == "chat":
        admin = Chat.as_person(helpdesk, "console", "wahyu.ramadhan@kementerian.go.id")
        admin.say("/lepaskan lina.marlina@kementerian.go.id slack")
        assert "Tautan 1 akun chat" in admin.text
    else:  # what `helpdesk people unlink EMAIL --channel slack` runs
        with session_scope(slack.channel.engine) as s:
            lina = people.find_person(s, "lina.marlina@kementerian.go.id")
            assert lina is not None
            assert len(people.unlink_person(s, lina, "slack")) == 1
    slack.dm("U121", "halo lagi")
    slack.wait("event", 2)
    after = slack_person(slack, "U121")
    assert after is None or after.email is None


def test_helpdesk_passes_the_other_chat_commands_to_the_core(
    slack: SlackHarness, helpdesk: Helpdesk
) -> None:
    """Slack has one slash command: a word that is one of the chat's commands reaches the
    core as that command (every flow without a Slack line of its own), its role checks
    included; a word that is none stays Slack's "unknown"."""
    urls = {text: slack.command("U107", text)[1] for text in ("langganan vpn", "masalah", "drill")}

    def answer(text: str) -> str:
        return slack.fake.wait_for("response_url", lambda c: c.params["_path"] in urls[text])[
            0
        ].params["text"]

    with Session(helpdesk.engine) as s:
        vpn = s.get(Service, "vpn")
        assert vpn is not None
    assert vpn.name in answer("langganan vpn")
    assert answer("masalah") == t("auth.operator_only").replace("&", "&amp;")
    assert answer("drill") == t("auth.recovery_only").replace("&", "&amp;")
    with Session(helpdesk.engine) as s:
        subs = s.exec(select(Subscription)).all()
    assert [(x.channel, x.service_id) for x in subs] == [("slack", "vpn")]
