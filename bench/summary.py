"""Time `/ringkasan` and a monthly report over 100,000 tickets from the real incident log
(UCI "Incident management process enriched event log", Amaral et al. 2018, CC BY 4.0)
and 90 days of probe history.

    python bench/summary.py [--database-url URL] [--tickets N]

The setup inserts rows in bulk (it is not what is measured): every incident of the log
becomes a ticket (the newest 2 % still open), cycled with shifted dates until N tickets exist, with its priority,
category, state and times moved so that the newest falls on today; due times from the
catalog's SLA minutes. Measured: one summary (build + text + chart) and the monthly
evaluation and exception reports (build + HTML + PDF + CSV), and the monthly SPBE evidence
pack (every form, the self-assessment front page, the manifest, one zip). Last line: one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fresh_db import fresh_database  # noqa: E402
from replay_incident_log import read_log  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.core import availability, summary  # noqa: E402
from bot.reports import build_report, to_csv, to_html, to_pdf  # noqa: E402
from bot.reports.charts import summary_availability  # noqa: E402
from bot.reports.evidence import build_pack  # noqa: E402
from bot.runtime import load_samples  # noqa: E402
from storage.db import session_scope  # noqa: E402
from storage.models import Alert, Service, ServiceState, Ticket  # noqa: E402

TZ = "Asia/Jakarta"
OPEN = {
    "New": "baru",
    "Active": "dikerjakan",
    "Awaiting User Info": "menunggu_pengguna",
    "Awaiting Evidence": "menunggu_pengguna",
    "Awaiting Vendor": "menunggu_pengguna",
    "Awaiting Problem": "menunggu_pengguna",
}


def load(engine: Any, n_tickets: int, now: datetime) -> int:
    incidents = read_log()
    newest = max(events[-1].at for events in incidents)
    with session_scope(engine) as s:
        services = list(s.exec(select(Service)))
    sla = {svc.id: {int(p): v for p, v in svc.sla.items()} for svc in services}
    rows: list[dict[str, Any]] = []
    rng = random.Random(7)
    cycle = 0
    while len(rows) < n_tickets:
        shift = now - newest - timedelta(days=30 * cycle)
        for events in incidents:
            if len(rows) >= n_tickets:
                break
            first, last = events[0], events[-1]
            svc = services[hash(first.category) % len(services)].id
            created = first.opened_at + shift
            state = OPEN.get(last.state, "ditutup" if last.state == "Closed" else "selesai")
            done = last.at + shift if state in ("selesai", "ditutup") else None
            target = sla[svc].get(first.priority, {"response": 240, "resolution": 2880})
            response_due = created + timedelta(minutes=target["response"])
            resolution_due = created + timedelta(minutes=target["resolution"])
            acked = (
                created + timedelta(minutes=rng.randint(1, 2 * target["response"]))
                if len(events) > 1
                else None
            )
            rows.append(
                {
                    "number": f"INC-{created.year}-{len(rows) + 1:07d}",
                    "type": "gangguan",
                    "service_id": svc,
                    "title": f"{first.category} {first.symptom}"[:200],
                    "description": "",
                    "category": first.category,
                    "state": state,
                    "impact": first.impact,
                    "urgency": first.urgency,
                    "priority": first.priority,
                    "created_at": created,
                    "updated_at": last.at + shift,
                    "acknowledged_at": acked,
                    "resolved_at": done,
                    "closed_at": done if state == "ditutup" else None,
                    "response_due_at": response_due,
                    "resolution_due_at": resolution_due,
                    "response_risk_at": created + (response_due - created) * 0.75,
                    "resolution_risk_at": created + (resolution_due - created) * 0.75,
                    "sla_paused_seconds": 0,
                    "sla_notified": 0,
                    "external_ref": first.number,
                }
            )
        cycle += 1
    # The log is complete (everything ends resolved); its newest 2 % are today's backlog.
    for n, row in enumerate(sorted(rows, key=lambda r: r["created_at"])[-len(rows) // 50 :]):
        row.update(
            state=("baru", "ditugaskan", "dikerjakan", "menunggu_pengguna")[n % 4],
            resolved_at=None,
            closed_at=None,
            acknowledged_at=None if n % 3 == 0 else row["acknowledged_at"],
        )
    with session_scope(engine) as s:
        for i in range(0, len(rows), 5000):
            s.execute(sa.insert(Ticket), rows[i : i + 5000])
        for i in range(200):
            s.add(
                Alert(
                    key=f"bench-{i}",
                    kind="ticket.new",
                    service_id=services[i % len(services)].id,
                    priority=1 + i % 2,
                    created_at=now - timedelta(hours=i),
                )
            )
        since = now - timedelta(days=90)
        for svc in services:
            s.add(
                ServiceState(
                    service_id=svc.id,
                    state=rng.choice(["up", "up", "up", "degraded", "down"]),
                    since=now - timedelta(hours=1),
                    monitored_since=since,
                )
            )
        s.flush()
        for svc in services:
            for d in range(90):
                start = since + timedelta(days=d, hours=rng.randint(0, 20))
                availability.add_interval(
                    s,
                    svc.id,
                    start,
                    start + timedelta(minutes=rng.choice([0, 0, 5, 30])),
                    "down_s",
                    TZ,
                )
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    with fresh_database(args.database_url) as (engine, _url):
        load_samples(Settings(_env_file=None), engine)
        t0 = time.perf_counter()
        count = load(engine, args.tickets, now)
        print(f"loaded {count} tickets in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        with Session(engine) as s:
            t0 = time.perf_counter()
            result = summary.build(s, now, TZ)
            text = summary.render(result, "id", TZ, now)
            png = summary_availability(result)
            summary_s = time.perf_counter() - t0
            local = now.astimezone(ZoneInfo(TZ)).date()
            end = local.replace(day=1) - timedelta(days=1)
            start = end.replace(day=1)
            t0 = time.perf_counter()
            for kind in ("evaluation", "exception"):
                report = build_report(kind, s, start=start, end=end, tz=TZ, now=now)
                to_html(report), to_pdf(report), to_csv(report)
            monthly_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            pack = build_pack(s, start=start, end=end, tz=TZ, now=now)
            pack_s = time.perf_counter() - t0
        print(text, file=sys.stderr)
        print(
            json.dumps(
                {
                    "backend": engine.dialect.name,
                    "tickets": count,
                    "summary_seconds": round(summary_s, 3),
                    "monthly_report_seconds": round(monthly_s, 3),
                    "monthly_pack_seconds": round(pack_s, 3),
                    "pack_bytes": len(pack),
                    "open_tickets": result.open_total,
                    "chart_bytes": len(png or b""),
                    "month": [start.isoformat(), end.isoformat()],
                }
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
