"""Time a backup and a checked restore of the helpdesk at 100,000 tickets.

    python bench/backup.py [--database-url URL] [--tickets N]

The setup inserts rows in bulk (it is not what is measured): the sample catalog and
people, N tickets spread over a year with their "created" event each, as
bench/summary.py builds them. Measured: `storage.backup.backup` (VACUUM INTO on SQLite,
pg_dump -Fc on PostgreSQL, manifest with row counts and SHA-256) and
`storage.backup.restore` into a fresh scratch database (checksum first, rows counted
against the manifest after). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fresh_db import fresh_database  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.runtime import load_samples  # noqa: E402
from storage import backup  # noqa: E402
from storage.db import session_scope  # noqa: E402
from storage.models import Service, Ticket, TicketEvent  # noqa: E402


def load(engine: Any, n_tickets: int, now: datetime) -> None:
    with session_scope(engine) as s:
        services = [svc.id for svc in s.exec(select(Service))]
    for start in range(0, n_tickets, 5000):
        rows = []
        for i in range(start, min(start + 5000, n_tickets)):
            created = now - timedelta(minutes=5 * (n_tickets - i))
            rows.append(
                {
                    "number": f"INC-{created.year}-{i + 1:07d}",
                    "type": "gangguan",
                    "service_id": services[i % len(services)],
                    "title": f"Gangguan layanan nomor {i}",
                    "description": "Pengguna tidak dapat masuk ke aplikasi sejak pagi. " * 3,
                    "state": "ditutup" if i % 50 else "baru",
                    "impact": 1 + i % 3,
                    "urgency": 1 + (i // 3) % 3,
                    "priority": 1 + i % 4,
                    "created_at": created,
                    "updated_at": created,
                    "sla_paused_seconds": 0,
                    "sla_notified": 0,
                }
            )
        with session_scope(engine) as s:
            ids = s.execute(sa.insert(Ticket).returning(Ticket.id), rows).scalars().all()
            s.execute(
                sa.insert(TicketEvent),
                [
                    {"ticket_id": tid, "at": row["created_at"], "kind": "created", "new": "baru"}
                    for tid, row in zip(ids, rows, strict=True)
                ],
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    with fresh_database(args.database_url) as (engine, url), tempfile.TemporaryDirectory() as tmp:
        load_samples(Settings(_env_file=None), engine)
        t0 = time.perf_counter()
        load(engine, args.tickets, now)
        print(f"loaded {args.tickets} tickets in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        t0 = time.perf_counter()
        path, manifest = backup.backup(url, Path(tmp))
        backup_s = time.perf_counter() - t0
        with backup.scratch_database(url) as scratch:
            t0 = time.perf_counter()
            result = backup.restore(path, scratch)
            restore_s = time.perf_counter() - t0
        print(
            json.dumps(
                {
                    "backend": engine.dialect.name,
                    "tickets": manifest.tables["ticket"],
                    "rows": manifest.rows,
                    "backup_seconds": round(backup_s, 3),
                    "backup_bytes": manifest.bytes,
                    "restore_seconds": round(restore_s, 3),
                    "restored_rows": sum(result.tables.values()),
                }
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
