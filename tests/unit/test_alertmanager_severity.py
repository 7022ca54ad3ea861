"""Alertmanager as an SRE drives it: severities (critical, warning, info), the alerts'
detail in the incident, the public page, flapping, a lost "resolved", and what the
admins hear about (unknown services, refused tokens)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import SecretStr
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from bot.core import alertmanager
from bot.jobs import expire_alertmanager_outages
from bot.runtime import Helpdesk
from bot.web import status
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import (
    Identity,
    Notice,
    Outage,
    Person,
    ServiceDay,
    ServiceState,
    StateChange,
    Ticket,
)

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 08:00 WIB
MIN = dt.timedelta(minutes=1)
ADMIN_EMAIL = "wahyu.ramadhan@kementerian.go.id"  # the sample people's admin


def alert(
    fp: str,
    status: str = "firing",
    *,
    service: str = "sso",
    severity: str | None = "critical",
    at: dt.datetime = T0,
    **extra: Any,
) -> dict[str, Any]:
    labels = {"alertname": f"Alert{fp}", "service": service, "instance": f"host-{fp}:9100"}
    if severity is not None:
        labels["severity"] = severity
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": f"ringkasan {fp}", "runbook": f"https://runbook/{fp}"},
        "startsAt": at.isoformat().replace("+00:00", "Z"),
        "endsAt": (at.isoformat().replace("+00:00", "Z"))
        if status == "resolved"
        else "0001-01-01T00:00:00Z",
        "generatorURL": f"http://prometheus:9090/graph?g0.expr=up%7Bjob%3D%22{fp}%22%7D",
        "fingerprint": fp,
        **extra,
    }


def post(helpdesk: Helpdesk, now: dt.datetime, *alerts: dict[str, Any]) -> dict[str, list[str]]:
    rules = alertmanager.Rules.from_settings(helpdesk.settings)
    with session_scope(helpdesk.engine) as s:
        return alertmanager.ingest(
            s, {"status": "firing", "alerts": list(alerts)}, now, rules=rules
        )


def outages_of(helpdesk: Helpdesk, service: str = "sso") -> list[Outage]:
    with Session(helpdesk.engine) as s:
        return list(
            s.exec(select(Outage).where(Outage.service_id == service).order_by(col(Outage.id)))
        )


def ticket(helpdesk: Helpdesk, ticket_id: int | None) -> Ticket:
    with Session(helpdesk.engine) as s:
        found = s.get(Ticket, ticket_id)
        assert found is not None
        return found


def state(helpdesk: Helpdesk, service: str = "sso") -> str:
    with Session(helpdesk.engine) as s:
        st = s.get(ServiceState, service)
        return st.state if st else "none"


def public_state(helpdesk: Helpdesk, service: str, now: dt.datetime) -> tuple[str, list[str]]:
    snap = status.snapshot(helpdesk.engine, now, helpdesk.settings.timezone)
    shown = next(x["state"] for x in snap["services"] if x["id"] == service)
    return shown, [i["service"] for i in snap["incidents"]]


def link_admin(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        admin = s.exec(select(Person).where(Person.email == ADMIN_EMAIL)).one()
        s.add(Identity(person_id=admin.id or 0, channel="console", external_id="admin-1"))


def admin_notices(helpdesk: Helpdesk) -> list[Notice]:
    with Session(helpdesk.engine) as s:
        return list(
            s.exec(
                select(Notice).where(Notice.kind == "alertmanager.notice").order_by(col(Notice.id))
            )
        )


def test_critical_opens_a_p1_outage_that_the_public_page_shows(helpdesk: Helpdesk) -> None:
    # vicon is of low criticality (rendah → P3 by the probes' rule): the severity decides
    result = post(helpdesk, T0, alert("c1", service="vicon"))
    assert result["opened"] == ["vicon"]
    (outage,) = outages_of(helpdesk, "vicon")
    assert (outage.state, outage.public, outage.ended_at) == ("down", True, None)
    assert ticket(helpdesk, outage.ticket_id).priority == 1
    assert state(helpdesk, "vicon") == "down"
    assert public_state(helpdesk, "vicon", T0 + MIN) == ("down", ["vicon"])


def test_warning_opens_a_p3_degraded_outage_kept_off_the_public_page(
    helpdesk: Helpdesk,
) -> None:
    post(helpdesk, T0, alert("w1", severity="warning"))
    (outage,) = outages_of(helpdesk)
    assert (outage.state, outage.public) == ("degraded", False)
    tk = ticket(helpdesk, outage.ticket_id)
    assert tk.priority == 3  # SSO is critical (P1 by criticality), the warning says P3
    assert "menurun" in tk.title
    assert state(helpdesk) == "degraded"
    assert public_state(helpdesk, "sso", T0 + MIN) == ("up", [])
    post(helpdesk, T0 + 20 * MIN, alert("w1", "resolved", severity="warning", at=T0 + 20 * MIN))
    (outage,) = outages_of(helpdesk)
    assert outage.ended_at == T0 + 20 * MIN and outage.duration_s == 1200  # 20 min × 60
    assert state(helpdesk) == "up"
    with Session(helpdesk.engine) as s:
        days = s.exec(select(ServiceDay).where(ServiceDay.service_id == "sso")).all()
        assert sum(d.down_s for d in days) == 0  # degraded is no down time


def test_a_configured_public_warning_shows(helpdesk: Helpdesk) -> None:
    helpdesk.settings.alertmanager_severities["warning"].public = True
    post(helpdesk, T0, alert("w1", severity="warning"))
    assert public_state(helpdesk, "sso", T0 + MIN) == ("degraded", ["sso"])


def test_info_opens_nothing(helpdesk: Helpdesk) -> None:
    result = post(helpdesk, T0, alert("i1", severity="info"))
    assert result["opened"] == [] and result["info"] == ["sso"]
    assert outages_of(helpdesk) == []
    assert state(helpdesk) == "none"
    assert public_state(helpdesk, "sso", T0 + MIN)[1] == []


def test_no_severity_reads_as_the_default(helpdesk: Helpdesk) -> None:
    post(helpdesk, T0, alert("n1", severity=None, service="vicon"))
    (outage,) = outages_of(helpdesk, "vicon")
    assert outage.state == "down" and ticket(helpdesk, outage.ticket_id).priority == 1


def test_a_critical_after_a_warning_turns_the_outage_down(helpdesk: Helpdesk) -> None:
    post(helpdesk, T0, alert("w1", severity="warning"))
    post(helpdesk, T0 + 5 * MIN, alert("w1", severity="warning"), alert("c1", at=T0 + 5 * MIN))
    degraded, down = outages_of(helpdesk)
    assert degraded.state == "degraded" and degraded.ended_at == T0 + 5 * MIN
    assert down.state == "down" and down.ended_at is None and down.public
    assert set(down.external_keys) == {"w1", "c1"}
    p1 = ticket(helpdesk, down.ticket_id)
    assert p1.priority == 1 and down.ticket_id != degraded.ticket_id
    assert state(helpdesk) == "down"
    with Session(helpdesk.engine) as s:
        from storage.models import TicketEvent

        notes = s.exec(
            select(TicketEvent.note).where(TicketEvent.ticket_id == degraded.ticket_id)
        ).all()
    assert any(n and p1.number in n for n in notes)  # the warning's incident points there


def test_the_incident_holds_every_alert_of_the_group(helpdesk: Helpdesk) -> None:
    post(helpdesk, T0, alert("a1"), alert("a2"), alert("a3", severity="warning"))
    (outage,) = outages_of(helpdesk)
    assert sorted(outage.external_keys) == ["a1", "a2", "a3"]
    text = ticket(helpdesk, outage.ticket_id).description
    assert "Peringatan Alertmanager (3):" in text
    for fp in ("a1", "a2", "a3"):
        assert f"Alert{fp}" in text
        assert f"instance=host-{fp}:9100" in text  # labels
        assert f"runbook: https://runbook/{fp}" in text  # annotations
        assert f"http://prometheus:9090/graph?g0.expr=up%7Bjob%3D%22{fp}%22%7D" in text
    assert "[warning]" in text and "[critical]" in text
    # an alert that joins later is added to the incident as a comment
    post(helpdesk, T0 + MIN, alert("a4"))
    with Session(helpdesk.engine) as s:
        from storage.models import TicketEvent

        comments = s.exec(
            select(TicketEvent.note).where(
                TicketEvent.ticket_id == outage.ticket_id, TicketEvent.kind == "comment"
            )
        ).all()
    assert any(c and "Alerta4" in c and "host-a4:9100" in c for c in comments)


def test_a_long_group_is_summarised_past_the_listed_alerts(helpdesk: Helpdesk) -> None:
    listed = alertmanager.MAX_LISTED
    post(helpdesk, T0, *[alert(f"x{n}") for n in range(listed + 7)])
    (outage,) = outages_of(helpdesk)
    text = ticket(helpdesk, outage.ticket_id).description
    assert f"Peringatan Alertmanager ({listed + 7}):" in text
    assert "… dan 7 peringatan lain." in text  # (listed + 7) − listed


def test_flapping_joins_the_incident_of_the_recently_closed_outage(helpdesk: Helpdesk) -> None:
    window = dt.timedelta(seconds=helpdesk.settings.alertmanager_reopen_window_seconds)
    at = T0
    for _ in range(3):  # three fire / resolve cycles, five minutes apart
        post(helpdesk, at, alert("f1", at=at))
        post(helpdesk, at + 2 * MIN, alert("f1", "resolved", at=at + 2 * MIN))
        at += 5 * MIN
    rows = outages_of(helpdesk)
    assert len(rows) == 3 and all(o.ended_at is not None for o in rows)
    assert len({o.ticket_id for o in rows}) == 1  # one incident, not three
    with Session(helpdesk.engine) as s:
        assert len(s.exec(select(Ticket).where(Ticket.service_id == "sso")).all()) == 1
    # past the window the trouble is new: a new incident
    later = at + window + MIN
    post(helpdesk, later, alert("f1", at=later))
    assert outages_of(helpdesk)[-1].ticket_id != rows[0].ticket_id


def test_an_outage_not_repeated_expires(helpdesk: Helpdesk) -> None:
    settings = helpdesk.settings
    repeat = dt.timedelta(seconds=settings.alertmanager_repeat_interval_seconds)
    n = settings.alertmanager_expire_repeats
    post(helpdesk, T0, alert("e1"))
    post(helpdesk, T0 + repeat, alert("e1"))  # Alertmanager's repeat: last seen T0 + 1×repeat
    # n × repeat after the last repeat it is still within: not yet expired
    assert expire_alertmanager_outages(helpdesk, T0 + repeat + n * repeat) == []
    assert expire_alertmanager_outages(helpdesk, T0 + repeat + n * repeat + MIN) == ["sso"]
    (outage,) = outages_of(helpdesk)
    assert outage.ended_at == T0 + repeat + n * repeat + MIN
    assert state(helpdesk) == "up"
    with Session(helpdesk.engine) as s:
        last = s.exec(select(StateChange).order_by(col(StateChange.id).desc())).first()
        assert last is not None and (last.new, last.reason) == ("up", "expired")
    assert expire_alertmanager_outages(helpdesk, T0 + 10 * n * repeat) == []  # once


def test_unknown_services_reach_the_admins_once_per_interval(helpdesk: Helpdesk) -> None:
    link_admin(helpdesk)
    interval = dt.timedelta(seconds=helpdesk.settings.alertmanager_notice_interval_seconds)
    start = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 1 h intervals start on the hour
    result = post(
        helpdesk, start, alert("u1", service="nope"), alert("u2", severity="info", service="")
    )
    assert result["ignored"] == ["nope", "?"]
    post(helpdesk, start + MIN, alert("u3", service="nope"))  # same interval: no second notice
    (notice,) = admin_notices(helpdesk)
    assert notice.target == "admin-1"
    assert "2 peringatan" in notice.payload["text"] and "nope" in notice.payload["text"]
    post(helpdesk, start + interval, alert("u4", service="nope"))
    assert len(admin_notices(helpdesk)) == 2  # the next interval: one more


def test_refused_tokens_reach_the_admins_once_per_interval(helpdesk: Helpdesk) -> None:
    link_admin(helpdesk)
    helpdesk.settings.alertmanager_token = SecretStr("s3cret")
    body = json.dumps({"alerts": [alert("r1")]})
    with TestClient(create_app(helpdesk, run_jobs=False)) as client:
        for _ in range(5):
            r = client.post(
                "/alerts/alertmanager", content=body, headers={"Authorization": "Bearer bad"}
            )
            assert r.status_code == 401
    (notice,) = admin_notices(helpdesk)  # five refusals, one notice
    assert "token tidak sah" in notice.payload["text"]
    assert outages_of(helpdesk) == []


def test_probes_leave_a_warning_alone_unless_they_find_the_service_down(
    helpdesk: Helpdesk,
) -> None:
    from bot.core import outages
    from bot.core.readings import Reading

    policy = outages.Policy(down_after=3, up_after=2)
    post(helpdesk, T0, alert("w1", severity="warning"))
    for n in range(1, 4):  # up readings: the warning is Alertmanager's to resolve
        outages.record_readings(helpdesk.engine, [Reading("sso", "up")], T0 + n * MIN, policy)
    assert state(helpdesk) == "degraded" and outages_of(helpdesk)[0].ended_at is None
    for n in range(4, 7):  # three down readings (down_after = 3): the probes take it down
        outages.record_readings(helpdesk.engine, [Reading("sso", "down")], T0 + n * MIN, policy)
    warning, down = outages_of(helpdesk)
    assert warning.ended_at == T0 + 6 * MIN  # the third down reading, at minute 6
    assert (down.source, down.state, down.ended_at) == ("probe", "down", None)
    assert state(helpdesk) == "down"
    # Alertmanager's "resolved" for its warning leaves the probes' outage alone
    post(helpdesk, T0 + 7 * MIN, alert("w1", "resolved", severity="warning", at=T0 + 7 * MIN))
    assert outages_of(helpdesk)[1].ended_at is None and state(helpdesk) == "down"
