"""GET /metrics in Prometheus' exposition format, and the figures /healthz adds.

Every figure is read from the database when Prometheus scrapes (a custom collector,
`DatabaseCollector`), not counted in process memory: the web process, the workers and
the replicas share the database, so whichever replica is scraped tells the same story,
and a restart loses nothing. An optional bearer token (HELPDESK_METRICS_TOKEN) keeps
the figures to the monitoring system.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.core import sla
from bot.core.ticket_states import OPEN_STATES
from bot.runtime import Helpdesk
from storage.models import InboxEvent, JobRun, Notice, ServiceState, Ticket, utcnow

PATH = "/metrics"
STATES = ("unknown", "up", "degraded", "down")
NOTICE_STATUSES = ("pending", "sending", "sent", "failed")


def _aware(value: datetime | None, now: datetime) -> datetime | None:
    """An aggregate (MIN, MAX) may come back without its zone on SQLite; it is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=now.tzinfo)
    return value


def _age(now: datetime, then: datetime | None) -> float:
    then = _aware(then, now)
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class DatabaseCollector(Collector):
    """The helpdesk's figures at scrape time, a handful of aggregate queries."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        with Session(self.engine) as s:
            yield from self._outbox(s, now)
            yield from self._inbox(s, now)
            yield from self._services(s)
            yield from self._tickets(s)
            yield from self._jobs(s)

    def _outbox(self, s: Session, now: datetime) -> Iterator[Metric]:
        by_status = _gauge(
            "helpdesk_outbox_notices", "Notices in the outbox by status.", ["status"]
        )
        counts = dict(
            s.execute(select(Notice.status, func.count()).group_by(col(Notice.status))).all()
        )
        for status in NOTICE_STATUSES:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        backlog = counts.get("pending", 0) + counts.get("sending", 0)
        yield GaugeMetricFamily(
            "helpdesk_outbox_backlog", "Notices waiting to be sent (pending or sending).", backlog
        )
        oldest = s.exec(
            select(func.min(Notice.created_at)).where(
                col(Notice.status).in_(("pending", "sending"))
            )
        ).one()
        yield GaugeMetricFamily(
            "helpdesk_outbox_oldest_age_seconds",
            "Age of the oldest notice waiting to be sent (0 with none).",
            _age(now, oldest),
        )
        failures = _gauge(
            "helpdesk_delivery_failures",
            "Notices given up on (failed), and notices waiting after a failed attempt "
            "(retrying), by channel.",
            ["channel", "kind"],
        )
        failed = s.execute(
            select(Notice.channel, func.count())
            .where(Notice.status == "failed")
            .group_by(col(Notice.channel))
        ).all()
        retrying = s.execute(
            select(Notice.channel, func.count())
            .where(Notice.status == "pending", col(Notice.attempts) > 0)
            .group_by(col(Notice.channel))
        ).all()
        for channel, n in failed:
            failures.add_metric([channel, "failed"], n)
        for channel, n in retrying:
            failures.add_metric([channel, "retrying"], n)
        yield failures

    def _inbox(self, s: Session, now: datetime) -> Iterator[Metric]:
        by_state = _gauge("helpdesk_inbox_events", "Inbox events by state.", ["state"])
        counts = dict(
            s.execute(select(InboxEvent.state, func.count()).group_by(col(InboxEvent.state))).all()
        )
        for state in ("pending", "processing", "dead"):
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state
        oldest = s.exec(
            select(func.min(InboxEvent.received_at)).where(
                col(InboxEvent.state).in_(("pending", "processing"))
            )
        ).one()
        yield GaugeMetricFamily(
            "helpdesk_inbox_lag_seconds",
            "Age of the oldest inbox event not yet worked on (0 with none).",
            _age(now, oldest),
        )

    def _services(self, s: Session) -> Iterator[Metric]:
        state = _gauge(
            "helpdesk_service_state", "1 for the state each service is in.", ["service", "state"]
        )
        latency = _gauge(
            "helpdesk_probe_latency_seconds", "Latency of the last probe.", ["service"]
        )
        checked = _gauge(
            "helpdesk_probe_last_check_timestamp_seconds",
            "When the service was last probed (Unix time).",
            ["service"],
        )
        for st in s.exec(select(ServiceState).order_by(col(ServiceState.service_id))):
            for name in STATES:
                state.add_metric([st.service_id, name], float(st.state == name))
            if st.last_latency_ms is not None:
                latency.add_metric([st.service_id], st.last_latency_ms / 1000)
            if st.last_checked_at is not None:
                checked.add_metric([st.service_id], st.last_checked_at.timestamp())
        yield state
        yield latency
        yield checked

    def _tickets(self, s: Session) -> Iterator[Metric]:
        by_priority = _gauge(
            "helpdesk_open_tickets", "Open tickets by priority (1 critical … 4 low).", ["priority"]
        )
        counts = dict(
            s.execute(
                select(Ticket.priority, func.count())
                .where(col(Ticket.state).in_(OPEN_STATES))
                .group_by(col(Ticket.priority))
            ).all()
        )
        for priority in (1, 2, 3, 4):
            by_priority.add_metric([str(priority)], counts.get(priority, 0))
        yield by_priority
        breaches = _gauge(
            "helpdesk_sla_breached_open_tickets",
            "Open tickets whose response or resolution target has passed (as escalated).",
            ["clock"],
        )
        for clock, bit in (
            ("response", sla.RESPONSE_BREACH),
            ("resolution", sla.RESOLUTION_BREACH),
        ):
            n = s.exec(
                select(func.count())
                .select_from(Ticket)
                .where(col(Ticket.state).in_(OPEN_STATES))
                .where(col(Ticket.sla_notified).op("&")(bit) != 0)
            ).one()
            breaches.add_metric([clock], n)
        yield breaches

    def _jobs(self, s: Session) -> Iterator[Metric]:
        last = _gauge(
            "helpdesk_job_last_run_timestamp_seconds",
            "When each scheduled job last ran, on any process (Unix time).",
            ["job"],
        )
        ok = _gauge(
            "helpdesk_job_last_success_timestamp_seconds",
            "When each scheduled job last ran without an error (Unix time).",
            ["job"],
        )
        for run in s.exec(select(JobRun).order_by(col(JobRun.name))):
            last.add_metric([run.name], run.last_run_at.timestamp())
            if run.last_ok_at is not None:
                ok.add_metric([run.name], run.last_ok_at.timestamp())
        yield last
        yield ok


@dataclass(frozen=True)
class Health:
    """What /healthz adds to the database check: whether any process runs the jobs, and
    how much the outbox holds back."""

    scheduler: str  # ok | stale | unknown (no job ran yet)
    scheduler_last_run_at: datetime | None
    outbox_backlog: int
    outbox_oldest_age_s: float

    def as_json(self) -> dict[str, object]:
        return {
            "scheduler": self.scheduler,
            "scheduler_last_run_at": self.scheduler_last_run_at.isoformat()
            if self.scheduler_last_run_at
            else None,
            "outbox_backlog": self.outbox_backlog,
            "outbox_oldest_age_s": round(self.outbox_oldest_age_s, 1),
        }


def health(engine: Engine, now: datetime, stale_after: timedelta) -> Health:
    with Session(engine) as s:
        newest: datetime | None = s.exec(select(func.max(JobRun.last_run_at))).one()
        backlog, oldest = s.execute(
            select(func.count(), func.min(Notice.created_at)).where(
                col(Notice.status).in_(("pending", "sending"))
            )
        ).one()
    last = _aware(newest, now)
    state = "unknown" if last is None else ("ok" if now - last <= stale_after else "stale")
    return Health(state, last, int(backlog), _age(now, oldest))


def routes(helpdesk: Helpdesk) -> list[Route]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(helpdesk.engine))
    settings = helpdesk.settings

    async def metrics(request: Request) -> Response:
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        if token:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), token.encode()
            ):
                return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [Route(PATH, metrics)]
