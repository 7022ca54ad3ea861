"""One SLA scan over 100,000 open tickets (target: at most 1 s on SQLite and PostgreSQL).

Setup bulk-inserts open tickets of the sample catalog's services, created over the last
20 days, with due times, 75 % points and `sla_next_at` planned by `bot.core.sla` itself
(business calendars, holidays, pauses). The database is in the steady state of a
scheduler that last scanned `--since` seconds ago: steps that came due before then were
taken. Then the real tick, `bot.core.escalation.sla_tick(engine, now)`, runs once and is
timed: it finds the tickets whose next step came due (one indexed range query on
`ticket.sla_next_at`) and escalates them — notices, reassignments, breach alerts.

    python bench/sla_scan.py                                   # fresh SQLite file
    python bench/sla_scan.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/sla_scan.py --since 3600                      # an hour of backlog

A PostgreSQL URL names the server: the run creates `bench_<random>` there and drops it.
The last line of output is one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from _fresh_db import fresh_database
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.core import alerts, escalation, sla
from bot.i18n import catalogue
from bot.runtime import load_samples
from storage.db import session_scope
from storage.models import Identity, Notice, Person, Service, ServiceTechnician, Ticket

NOW = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)  # Wednesday 10:00 WIB, a working day
PRIORITY_WEIGHTS = (0.05, 0.15, 0.4, 0.4)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def setup_people(engine: Engine, data_dir: Path) -> None:
    load_samples(Settings(data_dir=data_dir, _env_file=None), engine)
    with session_scope(engine) as s:
        for person in s.exec(select(Person)):
            s.add(
                Identity(
                    person_id=person.id,
                    channel="telegram",
                    external_id=str(1000 + (person.id or 0)),
                )
            )
        alerts.register_operator_channel(s, "telegram", "-100200300", None, name="Petugas")


def ticket_rows(engine: Engine, count: int, since: timedelta, seed: int) -> list[dict]:  # type: ignore[type-arg]
    rng = random.Random(seed)
    policy = sla.Policy()
    with Session(engine) as s:
        services = list(s.exec(select(Service)))
        techs: dict[str, list[int]] = {}
        for st in s.exec(select(ServiceTechnician)):
            techs.setdefault(st.service_id, []).append(st.person_id)
    rows = []
    steady = NOW - since
    for i in range(count):
        svc = rng.choice(services)
        priority = rng.choices((1, 2, 3, 4), PRIORITY_WEIGHTS)[0]
        created = NOW - timedelta(seconds=rng.uniform(0, 20 * 86400))
        acked = (
            created + timedelta(minutes=10)
            if rng.random() < 0.6 and created + timedelta(minutes=10) < NOW
            else None
        )
        assignee = rng.choice(techs[svc.id]) if svc.id in techs and rng.random() < 0.9 else None
        state = (
            ("dikerjakan" if rng.random() < 0.9 else "menunggu_pengguna")
            if acked
            else ("ditugaskan" if assignee else "baru")
        )
        t = Ticket(
            number=f"BENCH-{i:07d}",
            type="gangguan",
            service_id=svc.id,
            title=f"Tiket uji {i}",
            state=state,
            priority=priority,
            assignee_id=assignee if acked or assignee else None,
            created_at=created,
            updated_at=created,
            acknowledged_at=acked,
        )
        sla._plan(t, policy, policy.calendar_for(svc), policy.targets(svc, priority))
        for bit, at in sla.pending_events(t):
            if at <= steady:
                t.sla_notified |= bit  # the scheduler's earlier scans took these steps
        if state == "menunggu_pengguna":
            t.sla_paused_at = min(created + timedelta(hours=1), NOW)
        t.sla_next_at = sla.next_event_at(t)
        rows.append(
            {c.name: getattr(t, c.name) for c in Ticket.__table__.columns if c.name != "id"}
        )
    return rows


def insert(engine: Engine, rows: list[dict]) -> None:  # type: ignore[type-arg]
    table = Ticket.__table__
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(sa.insert(table), rows[i : i + 5000])
    # what autovacuum would have done after 100,000 inserts: statistics and visibility map
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(
            "VACUUM ANALYZE ticket" if conn.dialect.name == "postgresql" else "ANALYZE"
        )


def plan_of_scan(engine: Engine) -> str:
    query = (
        select(Ticket.id)
        .where(col(Ticket.sla_next_at) <= NOW)
        .order_by(col(Ticket.sla_next_at), col(Ticket.id))
        .limit(500)
    )
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        return " | ".join(str(r[-1]) for r in conn.exec_driver_sql(prefix + str(compiled)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="PostgreSQL server URL or sqlite:///… (default: temp SQLite)"
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--since", type=float, default=30.0, help="seconds since the previous scan")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with fresh_database(args.database_url) as (engine, _url), tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        setup_people(engine, Path(tmp))
        rows = ticket_rows(engine, args.tickets, timedelta(seconds=args.since), args.seed)
        planned = time.perf_counter() - started
        insert(engine, rows)
        log(
            f"setup: {len(rows)} tickets planned in {planned:.1f} s, inserted in "
            f"{time.perf_counter() - started - planned:.1f} s"
        )
        log(f"scan query plan: {plan_of_scan(engine)}")
        with Session(engine) as s:
            open_count = s.exec(select(sa.func.count()).select_from(Ticket)).one()
            due = s.exec(
                select(sa.func.count()).select_from(Ticket).where(col(Ticket.sla_next_at) <= NOW)
            ).one()
        policy = escalation.EscalationPolicy()
        for lang in ("id", "en"):
            catalogue(lang)  # a running bot has its texts loaded long before a scan
        t0 = time.perf_counter()
        done = escalation.sla_tick(engine, NOW, policy)
        scan = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = escalation.sla_tick(engine, NOW, policy)
        idle = time.perf_counter() - t0
        with Session(engine) as s:
            queued = s.exec(select(sa.func.count()).select_from(Notice)).one()
        result = {
            "backend": engine.dialect.name,
            "open_tickets": open_count,
            "due_at_scan": due,
            "since_previous_scan_s": args.since,
            "scan_seconds": round(scan, 4),
            "escalated": {k: v for k, v in sorted(done.items())},
            "notices_queued": queued,
            "second_scan_seconds": round(idle, 4),
            "second_scan_tickets": again["tickets"],
        }
        log(f"scan: {scan:.3f} s for {due} due tickets of {open_count}; second scan {idle:.4f} s")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
