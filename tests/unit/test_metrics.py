"""/metrics scraped over HTTP and read back with Prometheus' own parser; every figure is
set up here and counted by hand. /healthz's scheduler and outbox fields."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlmodel import Session, select
from starlette.testclient import TestClient

from bot.core import sla, tickets
from bot.core.ticket_states import GANGGUAN, SELESAI
from bot.jobs import record_run
from bot.runtime import Helpdesk
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import InboxEvent, JobRun, Notice, ServiceState, utcnow

OLD = dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)  # long before the test runs
HOUR = dt.timedelta(hours=1)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return found[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def client(helpdesk: Helpdesk) -> Iterator[TestClient]:
    with TestClient(create_app(helpdesk, run_jobs=False)) as c:
        yield c


def notice(n: int, status: str, channel: str, created: dt.datetime, attempts: int = 0) -> Notice:
    return Notice(
        dedupe_key=f"test:{n}",
        channel=channel,
        target="1",
        kind="test",
        payload={},
        status=status,
        attempts=attempts,
        created_at=created,
    )


def setup_figures(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        s.add(notice(1, "pending", "telegram", OLD))  # the oldest waiting
        s.add(notice(2, "pending", "telegram", OLD + HOUR, attempts=2))  # retrying
        s.add(notice(3, "sending", "slack", OLD + 2 * HOUR))
        s.add(notice(4, "failed", "telegram", OLD - HOUR))  # older, but not waiting
        s.add(notice(5, "sent", "slack", OLD - 2 * HOUR))
        for n, state in enumerate(("pending", "processing", "dead", "done")):
            s.add(
                InboxEvent(
                    source="telegram",
                    key=str(n),
                    lane="x",
                    payload="{}",
                    state=state,
                    received_at=OLD + n * HOUR,
                )
            )
        s.add(
            ServiceState(service_id="sso", state="down", last_latency_ms=250.0, last_checked_at=OLD)
        )
        s.add(ServiceState(service_id="vpn", state="up", last_latency_ms=40.0))
        opened = []
        for impact, urgency in ((1, 1), (1, 1), (2, 2), (2, 3)):  # P1, P1, P3, P4
            opened.append(
                tickets.open_ticket(
                    s, type_=GANGGUAN, title="x", impact=impact, urgency=urgency, alert=False
                )
            )
        opened[0].sla_notified = sla.RESPONSE_BREACH
        opened[1].sla_notified = sla.RESPONSE_BREACH | sla.RESOLUTION_BREACH
        opened[3].state = SELESAI  # resolved: neither open nor counted as a breach
        opened[3].sla_notified = sla.RESOLUTION_BREACH
    record_run(helpdesk.engine, "delivery", OLD)
    record_run(helpdesk.engine, "delivery", OLD + HOUR)
    record_run(helpdesk.engine, "sla", OLD + 2 * HOUR, error="RuntimeError('x')")


def test_metrics_are_read_from_the_database_at_scrape_time(
    client: TestClient, helpdesk: Helpdesk
) -> None:
    setup_figures(helpdesk)
    before = utcnow()
    res = client.get("/metrics")
    after = utcnow()
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/plain")
    found = samples(res.text)
    for status, n in (("pending", 2), ("sending", 1), ("failed", 1), ("sent", 1)):
        assert value(found, "helpdesk_outbox_notices", status=status) == n
    assert value(found, "helpdesk_outbox_backlog") == 3  # 2 pending + 1 sending
    age = value(found, "helpdesk_outbox_oldest_age_seconds")  # notice 1, created at OLD
    assert (before - OLD).total_seconds() <= age <= (after - OLD).total_seconds()
    assert value(found, "helpdesk_delivery_failures", channel="telegram", kind="failed") == 1
    assert value(found, "helpdesk_delivery_failures", channel="telegram", kind="retrying") == 1
    for state, n in (("pending", 1), ("processing", 1), ("dead", 1)):
        assert value(found, "helpdesk_inbox_events", state=state) == n
    lag = value(found, "helpdesk_inbox_lag_seconds")  # the pending one, received at OLD
    assert (before - OLD).total_seconds() <= lag <= (after - OLD).total_seconds()
    assert value(found, "helpdesk_service_state", service="sso", state="down") == 1
    assert value(found, "helpdesk_service_state", service="sso", state="up") == 0
    assert value(found, "helpdesk_service_state", service="vpn", state="up") == 1
    assert value(found, "helpdesk_probe_latency_seconds", service="sso") == 0.25  # 250 ms
    assert value(found, "helpdesk_probe_latency_seconds", service="vpn") == 0.04  # 40 ms
    assert value(found, "helpdesk_probe_last_check_timestamp_seconds", service="sso") == (
        OLD.timestamp()
    )
    for priority, n in (("1", 2), ("2", 0), ("3", 1), ("4", 0)):  # the P4 is resolved
        assert value(found, "helpdesk_open_tickets", priority=priority) == n
    assert value(found, "helpdesk_sla_breached_open_tickets", clock="response") == 2
    assert value(found, "helpdesk_sla_breached_open_tickets", clock="resolution") == 1
    assert value(found, "helpdesk_job_last_run_timestamp_seconds", job="delivery") == (
        (OLD + HOUR).timestamp()
    )
    assert value(found, "helpdesk_job_last_success_timestamp_seconds", job="delivery") == (
        (OLD + HOUR).timestamp()
    )
    assert value(found, "helpdesk_job_last_run_timestamp_seconds", job="sla") == (
        (OLD + 2 * HOUR).timestamp()
    )
    assert ("helpdesk_job_last_success_timestamp_seconds", (("job", "sla"),)) not in found
    with Session(helpdesk.engine) as s:
        run = s.get(JobRun, "delivery")
        assert run is not None and run.runs == 2


def test_two_apps_on_one_database_agree(helpdesk: Helpdesk) -> None:
    setup_figures(helpdesk)
    with (
        TestClient(create_app(helpdesk, run_jobs=False)) as a,
        TestClient(create_app(helpdesk, run_jobs=False)) as b,
    ):
        first, second = samples(a.get("/metrics").text), samples(b.get("/metrics").text)
    ages = {"helpdesk_outbox_oldest_age_seconds", "helpdesk_inbox_lag_seconds"}
    assert {k: v for k, v in first.items() if k[0] not in ages} == {
        k: v for k, v in second.items() if k[0] not in ages
    }


def test_a_metrics_token_is_required_when_set(client: TestClient, helpdesk: Helpdesk) -> None:
    helpdesk.settings.metrics_token = SecretStr("scrape")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape"})
    assert ok.status_code == 200 and "helpdesk_outbox_backlog" in ok.text


def test_healthz_reports_the_scheduler_and_the_outbox(
    client: TestClient, helpdesk: Helpdesk
) -> None:
    body = client.get("/healthz").json()
    assert body["scheduler"] == "unknown" and body["status"] == "ok"  # no job ran yet
    assert body["outbox_backlog"] == 0
    setup_figures(helpdesk)  # the last run was at OLD + 2 h: long past the stale limit
    res = client.get("/healthz")
    body = res.json()
    assert res.status_code == 200 and body["status"] == "degraded"
    assert body["scheduler"] == "stale"
    assert body["scheduler_last_run_at"] == (OLD + 2 * HOUR).isoformat()
    assert body["outbox_backlog"] == 3  # 2 pending + 1 sending
    record_run(helpdesk.engine, "delivery", utcnow())
    assert client.get("/healthz").json()["scheduler"] == "ok"


def test_the_scheduler_records_its_runs(helpdesk: Helpdesk) -> None:
    """The jobs the app starts record themselves; `sla-plan` runs once at start."""
    with TestClient(create_app(helpdesk)) as c:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with Session(helpdesk.engine) as s:
                names = set(s.exec(select(JobRun.name)))
            if "sla-plan" in names:
                break
            time.sleep(0.1)
        assert "sla-plan" in names
        assert c.get("/healthz").json()["scheduler"] == "ok"
