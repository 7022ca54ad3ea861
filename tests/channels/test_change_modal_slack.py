"""The change request form as a Slack modal: `/helpdesk perubahan` and the Ajukan
perubahan button open it (views.open with the trigger_id), its submission is checked
field by field (response_action "errors", in Indonesian) and raised through the core's
`changes.raise_change`, the same function as the typed /perubahan flow; roles are the
core's. Through our web app, slack-bolt and slack_sdk against the fake Web API, with
signed requests, on SQLite and PostgreSQL. The harness runs at the real time, so
windows are set relative to it and no test reads a time back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.channels.slack import _modals as modals
from bot.core import maintenance
from bot.i18n import t
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import ChangeEvent, ChangeRequest
from tests.channels.fake_slack import SlackHarness, buttons, slack_harness

TECH = "budi.santoso@kementerian.go.id"
EMPLOYEE = "lina.marlina@kementerian.go.id"


@pytest.fixture
def slack(helpdesk: Helpdesk) -> Iterator[SlackHarness]:
    with slack_harness(helpdesk) as harness:
        harness.fake.add_user("UBUDI", email=TECH, name="Budi Santoso")
        harness.fake.add_user("ULINA", email=EMPLOYEE, name="Lina Marlina")
        yield harness


def opened(slack: SlackHarness, trigger: str) -> dict[str, Any]:
    return slack.fake.wait_for("views.open", lambda c: c.params["trigger_id"] == trigger)[0].params[
        "view"
    ]


def ts(when: datetime) -> str:
    return str(int(when.timestamp()))


def form(start: datetime, **values: str) -> dict[str, str]:
    return {
        "service": "vpn",
        "kind": "normal",
        "description": "Pembaruan firmware gateway VPN ke versi 9.2",
        "risk": "sedang",
        "impact": "VPN tidak dapat diakses selama satu jam",
        "plan": "Cadangkan konfigurasi, pasang firmware, mulai ulang",
        "test_functional": "Login dan akses aplikasi diuji di lab: lulus",
        "test_security": "Pemindaian kerentanan: tidak ada temuan tinggi",
        "test_performance": "Uji beban 500 sesi serentak: latensi < 40 ms",
        "rollback_plan": "Pasang kembali firmware 9.1 dari cadangan",
        "start": ts(start),
        "end": ts(start + timedelta(hours=1)),
        **values,
    }


def changes_of(slack: SlackHarness) -> list[ChangeRequest]:
    with Session(slack.channel.engine) as s:
        return list(s.exec(select(ChangeRequest).order_by(ChangeRequest.id)))  # type: ignore[arg-type]


def test_the_modal_raises_a_change_through_the_core(slack: SlackHarness) -> None:
    response, _, trigger = slack.command("UBUDI", "perubahan")
    assert response.status_code == 200
    view = opened(slack, trigger)
    assert view["callback_id"] == "hd_change"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    offered = [o["value"] for o in blocks["service"]["element"]["options"]]
    assert "vpn" in offered and "eoffice" not in offered  # only Budi's services
    assert [o["value"] for o in blocks["kind"]["element"]["options"]] == [
        "standar",
        "normal",
        "darurat",
    ]
    assert blocks["start"]["element"]["type"] == "datetimepicker"
    start = datetime.now(UTC) + timedelta(days=3)
    # bad input: each error at its field, nothing recorded, the modal stays open
    bad = slack.submit(
        "UBUDI", view, form(start, description="firmware", end=ts(start - timedelta(hours=1)))
    )
    assert bad.status_code == 200 and bad.json()["response_action"] == "errors"
    assert bad.json()["errors"] == {
        "description": t("changes.short.description", n=10),
        "end": t("changes.end_before_start"),
    }
    past = slack.submit("UBUDI", view, form(datetime.now(UTC) - timedelta(hours=2)))
    assert past.json()["errors"] == {"start": t("changes.start_in_past")}
    assert changes_of(slack) == []
    done = slack.channel.stats["view"]
    good = slack.submit("UBUDI", view, form(start), trigger_id="trigger-change-1")
    assert good.status_code == 200 and good.content in (b"", b"null")  # closes the modal
    again = slack.submit("UBUDI", view, form(start), trigger_id="trigger-change-1")  # redelivery
    assert again.status_code == 200
    slack.wait("view", done + 1)  # the submission raised (its redelivery is stored once)
    slack.fake.wait_for("chat.postMessage", lambda c: c.params["channel"] == "DBUDI")
    [change] = changes_of(slack)
    assert (change.service_id, change.kind, change.state, change.requested_channel) == (
        "vpn",
        "normal",
        "diajukan",
        "slack",
    )
    assert change.test_security == "Pemindaian kerentanan: tidak ada temuan tinggi"
    assert change.approval_rule == "all"
    [dm] = slack.fake.wait_for(
        "chat.postMessage", lambda c: c.params["channel"] == "DBUDI" and change.number in c.text()
    )
    assert (
        t("changes.created", number=change.number, state=t("changes.state.diajukan"))
        in (dm.params["text"])
    )
    assert f"chg:show:{change.id}" in buttons(dm)
    with Session(slack.channel.engine) as s:
        [created] = s.exec(select(ChangeEvent).where(ChangeEvent.kind == "created"))
        assert (created.channel, created.new) == ("slack", "diajukan")


def test_a_clash_is_shown_at_the_start_field(slack: SlackHarness) -> None:
    start = datetime.now(UTC) + timedelta(days=4)
    with session_scope(slack.channel.engine) as s:
        window = maintenance.schedule(
            s, None, ["vpn"], start, start + timedelta(hours=2), "VPN putus", now=datetime.now(UTC)
        )
        window_id = window.id
    _, _, trigger = slack.command("UBUDI", "perubahan baru")
    response = slack.submit("UBUDI", opened(slack, trigger), form(start + timedelta(minutes=30)))
    errors = response.json()["errors"]
    assert list(errors) == ["start"] and f"#{window_id}" in errors["start"]
    assert changes_of(slack) == []


def test_an_emergency_change_under_way_from_the_modal(slack: SlackHarness) -> None:
    _, _, trigger = slack.command("UBUDI", "perubahan")
    view = opened(slack, trigger)
    began = datetime.now(UTC) - timedelta(hours=1)
    wrong = slack.submit("UBUDI", view, form(began, started="started"))  # a normal change
    assert wrong.json()["errors"] == {"started": t("changes.modal.started_not_emergency")}
    unticked = slack.submit("UBUDI", view, form(began, kind="darurat"))
    assert unticked.json()["errors"] == {"start": t("changes.modal.past_emergency")}
    later = datetime.now(UTC) + timedelta(hours=3)
    future = slack.submit("UBUDI", view, form(later, kind="darurat", started="started"))
    assert future.json()["errors"] == {"start": t("changes.started_future")}
    done = slack.channel.stats["view"]
    until = ts(datetime.now(UTC) + timedelta(hours=2))
    ok = slack.submit("UBUDI", view, form(began, kind="darurat", started="started", end=until))
    assert ok.status_code == 200
    slack.wait("view", done + 1)
    [change] = changes_of(slack)
    assert (change.kind, change.state, change.approval_rule) == ("darurat", "disetujui", "none")
    assert change.review_due_at is not None and change.review_due_at > change.planned_end
    assert change.maintenance_id is not None  # its window is open now
    [dm] = slack.fake.wait_for("chat.postMessage", lambda c: change.number in c.text())
    assert "dikaji ulang paling lambat" in dm.params["text"]


def test_only_those_who_may_raise_a_change_get_the_form(slack: SlackHarness) -> None:
    response, response_url, _ = slack.command("ULINA", "perubahan")
    assert response.status_code == 200
    [refused] = slack.fake.wait_for("response_url", lambda c: c.params["_path"] in response_url)
    assert t("changes.not_allowed") in refused.text()
    assert slack.fake.calls_to("views.open") == []
    # a form opened by a technician, submitted as the employee, is refused at the service
    _, _, trigger = slack.command("UBUDI", "perubahan")
    view = opened(slack, trigger)
    start = datetime.now(UTC) + timedelta(days=3)
    forged = slack.submit("ULINA", view, form(start))
    assert forged.json()["errors"] == {"service": t("changes.not_allowed")}
    assert changes_of(slack) == []


def test_the_new_change_button_opens_the_modal(slack: SlackHarness) -> None:
    slack.command("UBUDI", "perubahan daftar")  # the list, with Ajukan perubahan
    slack.wait("command", 1)
    listed = slack.fake.wait_for("response_url")[0]
    assert t("changes.list_none") in listed.text() and "chg:new" in listed.text()
    _, trigger = slack.press("UBUDI", "chg:new", channel="DBUDI")
    assert opened(slack, trigger)["callback_id"] == "hd_change"
    _, trigger = slack.press("ULINA", "chg:new", channel="DLINA")
    refusal = slack.fake.wait_for("chat.postEphemeral", lambda c: c.params["user"] == "ULINA")
    assert t("changes.not_allowed") in refusal[0].text()


def test_a_stored_submission_is_raised_once(slack: SlackHarness) -> None:
    """The inbox may run stored work twice (a lease ran out): the submission's id is
    recorded with the change, so the second run raises nothing."""
    _, _, trigger = slack.command("UBUDI", "perubahan")
    view = opened(slack, trigger)
    slack.command("UBUDI", "status")  # links nothing new; Budi is linked by the open
    start = datetime.now(UTC) + timedelta(days=5)
    values = form(start)
    sub = modals.Submitted(
        {k: v for k, v in values.items() if k not in ("start", "end")},
        False,
        start,
        start + timedelta(hours=1),
    )
    assert view["callback_id"] == "hd_change"
    first = modals.submit(slack.channel.engine, "UBUDI", "trigger-x", sub, "Asia/Jakarta")
    second = modals.submit(slack.channel.engine, "UBUDI", "trigger-x", sub, "Asia/Jakarta")
    assert first is not None and not first[0].error and second is None
    assert len(changes_of(slack)) == 1


def test_a_submission_without_its_choices_is_refused_at_them(slack: SlackHarness) -> None:
    """Slack's client insists on every required field; a forged body may leave any out."""
    _, _, trigger = slack.command("UBUDI", "perubahan")
    view = opened(slack, trigger)
    start = datetime.now(UTC) + timedelta(days=3)
    values = {k: v for k, v in form(start).items() if k not in ("kind", "start")}
    response = slack.submit("UBUDI", view, values)
    assert response.json()["errors"] == {"start": t("changes.modal.pick_time")}
    values = {k: v for k, v in form(start).items() if k != "kind"}
    response = slack.submit("UBUDI", view, values)
    assert response.json()["errors"] == {"kind": t("changes.bad_kind", kind="")}
    assert changes_of(slack) == []


def test_other_change_words_are_the_chats(slack: SlackHarness, helpdesk: Helpdesk) -> None:
    """`/helpdesk perubahan NOMOR` is the chat's `/perubahan NOMOR`, answered ephemerally."""
    _, _, trigger = slack.command("UBUDI", "perubahan")
    done = slack.channel.stats["view"]
    slack.submit("UBUDI", opened(slack, trigger), form(datetime.now(UTC) + timedelta(days=3)))
    slack.wait("view", done + 1)
    [change] = changes_of(slack)
    _, response_url, _ = slack.command("UBUDI", f"perubahan {change.number}")
    shown = slack.fake.wait_for("response_url", lambda c: c.params["_path"] in response_url)
    assert change.number in shown[0].text()
    assert "Cadangkan konfigurasi, pasang firmware, mulai ulang" in shown[0].text()  # the plan
