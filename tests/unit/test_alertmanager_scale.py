"""A group of thousands of alerts is applied in one transaction whose statements do not
grow with the alerts (counted with SQLAlchemy's events, never timed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core import alertmanager
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Outage, Ticket

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


@contextmanager
def counting(engine: Engine) -> Iterator[dict[str, int]]:
    counts = {"statements": 0, "commits": 0}

    def on_statement(*_: Any) -> None:
        counts["statements"] += 1

    def on_commit(*_: Any) -> None:
        counts["commits"] += 1

    sa.event.listen(engine, "before_cursor_execute", on_statement)
    sa.event.listen(engine, "commit", on_commit)
    try:
        yield counts
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_statement)
        sa.event.remove(engine, "commit", on_commit)


def group(n: int, status: str, services: tuple[str, ...], prefix: str) -> dict[str, Any]:
    """n alerts spread over `services` (plus unknown ones, every tenth alert)."""
    alerts = []
    for i in range(n):
        service = f"unknown-{i}" if i % 10 == 9 else services[i % len(services)]
        alerts.append(
            {
                "status": status,
                "labels": {"alertname": "NodeDown", "service": service, "severity": "critical"},
                "annotations": {"summary": f"node {i} down"},
                "startsAt": "2026-03-02T01:00:00Z",
                "endsAt": "2026-03-02T01:30:00Z"
                if status == "resolved"
                else "0001-01-01T00:00:00Z",
                "generatorURL": f"http://prometheus:9090/graph?node={i}",
                "fingerprint": f"{prefix}{i:06d}",
            }
        )
    return {"status": status, "alerts": alerts}


def apply(
    helpdesk: Helpdesk, payload: dict[str, Any], now: dt.datetime
) -> tuple[dict[str, int], dict[str, list[str]]]:
    rules = alertmanager.Rules.from_settings(helpdesk.settings)
    with counting(helpdesk.engine) as counts, session_scope(helpdesk.engine) as s:
        result = alertmanager.ingest(s, payload, now, rules=rules)
    return counts, result


SERVICES = ("sso", "email", "vicon")


def test_a_5000_alert_group_costs_as_many_statements_as_a_500_alert_one(
    helpdesk: Helpdesk,
) -> None:
    # a first round creates the services' state rows; then the same work (three services
    # open, and close) for 500 alerts and for 5,000, each past the reopen window
    hours = dt.timedelta(hours=5)
    apply(helpdesk, group(100, "firing", SERVICES, "w"), T0 - hours)
    apply(helpdesk, group(100, "resolved", SERVICES, "w"), T0 - hours + dt.timedelta(hours=2))
    small_open, r_small = apply(helpdesk, group(500, "firing", SERVICES, "s"), T0)
    small_close, _ = apply(
        helpdesk, group(500, "resolved", SERVICES, "s"), T0 + dt.timedelta(hours=2)
    )
    later = T0 + hours
    large_open, r_large = apply(helpdesk, group(5000, "firing", SERVICES, "l"), later)
    with Session(helpdesk.engine) as s:
        open_ = s.exec(select(Outage).where(Outage.ended_at == None)).all()  # noqa: E711
        # 5,000 alerts: every tenth unknown (500), the other 4,500 over three services
        assert sorted(o.service_id for o in open_) == sorted(SERVICES)
        assert sum(len(o.external_keys) for o in open_) == 4500  # 5000 − 500
    large_close, _ = apply(
        helpdesk, group(5000, "resolved", SERVICES, "l"), later + dt.timedelta(hours=2)
    )
    assert sorted(r_small["opened"]) == sorted(r_large["opened"]) == sorted(SERVICES)
    assert len(r_small["ignored"]) == 50 and len(r_large["ignored"]) == 500  # n / 10
    assert large_open == small_open, (small_open, large_open)
    assert large_close == small_close, (small_close, large_close)
    assert large_open["commits"] == 1 and large_close["commits"] == 1  # one transaction
    with Session(helpdesk.engine) as s:
        assert s.exec(select(Outage).where(Outage.ended_at == None)).all() == []  # noqa: E711
        # 3 services × 3 rounds, the reopen window passed between them
        assert len(s.exec(select(Ticket)).all()) == 9


def test_alerts_joining_an_open_outage_cost_no_statement_each(helpdesk: Helpdesk) -> None:
    apply(helpdesk, group(10, "firing", ("sso",), "a"), T0)
    few, _ = apply(helpdesk, group(100, "firing", ("sso",), "b"), T0 + dt.timedelta(minutes=1))
    many, _ = apply(helpdesk, group(5000, "firing", ("sso",), "c"), T0 + dt.timedelta(minutes=2))
    assert few == many
    with Session(helpdesk.engine) as s:
        (outage,) = s.exec(select(Outage)).all()
        # 9 + 90 + 4,500 known alerts: every tenth was unknown
        assert len(outage.external_keys) == 9 + 90 + 4500


def test_a_5000_alert_post_goes_through_the_webhook_and_the_inbox(helpdesk: Helpdesk) -> None:
    import json

    from pydantic import SecretStr
    from starlette.testclient import TestClient

    from bot.web.app import create_app

    helpdesk.settings.alertmanager_token = SecretStr("s3cret")
    body = json.dumps(group(5000, "firing", SERVICES, "h")).encode()
    assert len(body) > 1 << 20  # more than the old 1 MiB limit refused
    app = create_app(helpdesk, run_jobs=False)
    with TestClient(app) as client:
        r = client.post(
            "/alerts/alertmanager",
            content=body,
            headers={"Authorization": "Bearer s3cret", "Content-Type": "application/json"},
        )
        assert r.status_code == 200, r.text
        client.portal.call(app.state.intake.idle)
    with Session(helpdesk.engine) as s:
        open_ = s.exec(select(Outage).where(Outage.ended_at == None)).all()  # noqa: E711
        assert sorted(o.service_id for o in open_) == sorted(SERVICES)
        assert sum(len(o.external_keys) for o in open_) == 4500  # 5000 − every tenth unknown
