"""A problem record's diagnosis, root cause and workaround, and fix through Slack modals
(the pb:diag / pb:known / pb:fix buttons), in an operator channel where typed answers
are not read: errors at their fields while the modal is open (the core's own refusals,
tried and rolled back), then recorded once through `bot.core.problems`. Through our web
app, slack-bolt and slack_sdk against the fake Web API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.core import problems, tickets
from bot.core.ticket_states import MIN_NOTE
from bot.core.tickets import Actor
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Person, Problem, ProblemEvent, utcnow
from tests.channels.fake_slack import SlackHarness, slack_harness

OPS = "COPS"
TECH = "budi.santoso@kementerian.go.id"
EMPLOYEE = "lina.marlina@kementerian.go.id"
CAUSE = "Sertifikat gateway VPN kedaluwarsa"


@pytest.fixture
def slack(helpdesk: Helpdesk) -> Iterator[SlackHarness]:
    with slack_harness(helpdesk, operator_channels=(OPS,)) as harness:
        harness.fake.add_user("UBUDI", email=TECH, name="Budi Santoso")
        harness.fake.add_user("ULINA", email=EMPLOYEE, name="Lina Marlina")
        yield harness


def a_problem(helpdesk: Helpdesk) -> str:
    with session_scope(helpdesk.engine) as s:
        tech = s.exec(select(Person).where(Person.email == TECH)).one()
        user = s.exec(select(Person).where(Person.email == EMPLOYEE)).one()
        incident = tickets.open_ticket(
            s, type_="gangguan", title="VPN tidak bisa connect sejak pagi", service_id="vpn",
            reporter=user, channel="web", chat_id="visitor-1", auto_assign=False, alert=False,
            now=utcnow(),
        )  # fmt: skip
        return problems.create(s, [incident], Actor(tech, "console")).number


def opened(slack: SlackHarness, trigger: str) -> dict[str, Any]:
    found = slack.fake.wait_for("views.open", lambda c: c.params["trigger_id"] == trigger)
    return found[0].params["view"]


def the_problem(slack: SlackHarness, number: str) -> Problem:
    with Session(slack.channel.engine) as s:
        return s.exec(select(Problem).where(Problem.number == number)).one()


def test_diagnosis_and_fix_from_an_operator_channel(
    slack: SlackHarness, helpdesk: Helpdesk
) -> None:
    number = a_problem(helpdesk)
    _, trigger = slack.press("UBUDI", f"pb:diag:{number}", channel=OPS)
    view = opened(slack, trigger)
    assert view["callback_id"] == "hd_problem"
    assert [b.get("block_id") for b in view["blocks"] if b["type"] == "input"] == ["diagnosis"]
    short = slack.submit("UBUDI", view, {"diagnosis": " ok "})
    assert short.json()["errors"] == {"diagnosis": t("problem.diagnosis_required", n=MIN_NOTE)}
    diagnosis = "Gateway menolak jabat tangan TLS sejak 07.00"
    slack.submit("UBUDI", view, {"diagnosis": diagnosis}, trigger_id="trigger-diag-1")
    slack.submit("UBUDI", view, {"diagnosis": diagnosis}, trigger_id="trigger-diag-1")  # again
    told = slack.fake.wait_for(
        "chat.postEphemeral", lambda c: c.params["user"] == "UBUDI" and number in c.text()
    )
    assert told[0].params["channel"] == OPS
    assert t("problem.diagnosed", number=number) in told[0].params["text"]
    problem = the_problem(slack, number)
    assert (problem.state, problem.diagnosis) == ("didiagnosis", diagnosis)
    with Session(slack.channel.engine) as s:
        recorded = s.exec(select(ProblemEvent).where(ProblemEvent.kind == "diagnosis")).all()
        assert [(e.channel, e.new) for e in recorded] == [("slack", diagnosis)]  # once
    # the fix, with the root cause the guideline requires
    _, trigger = slack.press("UBUDI", f"pb:fix:{number}", channel=OPS)
    view = opened(slack, trigger)
    assert [b.get("block_id") for b in view["blocks"] if b["type"] == "input"] == [
        "root_cause",
        "fix",
    ]
    fix = "Sertifikat baru dipasang dan pemantauan masa berlaku ditambahkan"
    slack.submit("UBUDI", view, {"root_cause": CAUSE, "fix": fix})
    fixed = t("problem.fixed", number=number)
    slack.fake.wait_for("chat.postEphemeral", lambda c: fixed in c.text())
    problem = the_problem(slack, number)
    assert (problem.state, problem.root_cause, problem.fix) == ("diselesaikan", CAUSE, fix)
    # a known error after the fix: the core refuses, shown in the modal, nothing changes
    _, trigger = slack.press("UBUDI", f"pb:known:{number}", channel=OPS)
    view = opened(slack, trigger)
    root = next(b for b in view["blocks"] if b.get("block_id") == "root_cause")
    assert root["element"]["initial_value"] == CAUSE  # what the record says so far
    refused = slack.submit(
        "UBUDI", view, {"root_cause": CAUSE, "workaround": "Pakai VPN cadangan di vpn2"}
    )
    assert list(refused.json()["errors"]) == ["root_cause"]
    assert number in refused.json()["errors"]["root_cause"]
    assert the_problem(slack, number).state == "diselesaikan"


def test_employees_get_no_problem_modal(slack: SlackHarness, helpdesk: Helpdesk) -> None:
    number = a_problem(helpdesk)
    slack.press("ULINA", f"pb:diag:{number}", channel=OPS)
    [refusal] = slack.fake.wait_for("chat.postEphemeral", lambda c: c.params["user"] == "ULINA")
    assert t("auth.operator_only") in refusal.text()
    assert slack.fake.calls_to("views.open") == []
    # a modal opened by an operator, submitted by the employee: refused, nothing recorded
    _, trigger = slack.press("UBUDI", f"pb:diag:{number}", channel=OPS)
    view = opened(slack, trigger)
    forged = slack.submit("ULINA", view, {"diagnosis": "Gateway menolak jabat tangan TLS"})
    assert forged.json()["errors"] == {"diagnosis": t("auth.operator_only")}
    assert the_problem(slack, number).state == "baru"
