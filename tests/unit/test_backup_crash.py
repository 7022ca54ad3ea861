"""The issue's proof: the product is killed (SIGKILL) during heavy writes, the last backup
is restored into a fresh database, and every ticket confirmed before the backup began is
there. The writer is a real process opening tickets through the core (tests/ticket_writer.py),
on SQLite (the backup reads the live WAL database with VACUUM INTO) and on PostgreSQL
(pg_dump in an exported snapshot)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.runtime import Helpdesk
from storage import backup
from storage.db import make_engine
from storage.models import Ticket
from tests.unit.test_backups import pg_tools_or_skip

ROOT = Path(__file__).resolve().parents[2]


class Confirmed:
    """Ticket numbers the writer printed (committed), read off its stdout as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.numbers: list[str] = []
        self.lock = threading.Lock()
        assert proc.stdout is not None
        self.thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self.thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self.lock:
                self.numbers.append(line.strip())

    def snapshot(self) -> list[str]:
        with self.lock:
            return list(self.numbers)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.snapshot()) < count:
            assert time.monotonic() < deadline, f"writer confirmed only {len(self.snapshot())}"
            time.sleep(0.02)


def test_killed_during_writes_the_last_backup_has_every_confirmed_ticket(
    helpdesk: Helpdesk, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    pg_tools_or_skip(db_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ticket_writer", db_url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        confirmed = Confirmed(proc)
        confirmed.wait_for(50)
        before = confirmed.snapshot()  # everything confirmed before the backup began
        path, manifest = backup.backup(db_url, tmp_path / "backups")
        after = len(confirmed.snapshot())
        confirmed.wait_for(after + 30)  # still writing after the backup: heavy writes
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    confirmed.thread.join(timeout=30)  # the pipe is closed: every printed number is read
    total = len(confirmed.snapshot())

    with backup.scratch_database(db_url) as fresh:
        result = backup.restore(path, fresh)
        restored = make_engine(fresh)
        try:
            with restored.connect() as conn:
                numbers = set(conn.execute(sa.select(Ticket.number)).scalars())
        finally:
            restored.dispose()
    assert len(before) >= 50
    missing = [n for n in before if n not in numbers]
    assert missing == [], missing[:5]
    # the backup holds what its manifest says, no more, no less
    assert len(numbers) == manifest.tables["ticket"] == result.tables["ticket"]
    # taken mid-stream: at least the ones before it, and fewer than the writer's total
    # (30 more were confirmed after the backup returned)
    assert len(before) <= len(numbers) < total
