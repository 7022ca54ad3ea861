"""The outbox and its delivery: leases, retries with backoff, failures reported to admins,
rate limits, two replicas racing as OS processes, and a replica killed with SIGKILL.

Transports here are recording fakes at the network edge; the Deliverer, the claim and
the database are the real ones (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import notices
from bot.delivery import Deliverer, RateLimiter, TransportError, report_failure
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Notice
from tests.helpers import Chat

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 9, 2, tzinfo=UTC)
ADMIN = "wahyu.ramadhan@kementerian.go.id"


class Recorder:
    def __init__(self, fail: dict[str, TransportError] | None = None) -> None:
        self.sent: list[Notice] = []
        self.fail = fail or {}

    async def send(self, notice: Notice) -> str | None:
        if notice.target in self.fail:
            raise self.fail[notice.target]
        self.sent.append(notice)
        return f"ref-{notice.id}"


def enqueue(
    engine: Engine,
    n: int,
    *,
    channel: str = "telegram",
    target: str = "42",
    at: datetime = NOW,
    prefix: str = "t",
) -> None:
    with session_scope(engine) as s:
        for i in range(n):
            notices.enqueue(
                s,
                channel=channel,
                target=target,
                kind="test",
                payload={"text": f"pesan {i}"},
                dedupe_key=f"{prefix}:{i}",
                now=at,
            )


def rows(engine: Engine) -> list[Notice]:
    with Session(engine) as s:
        return list(s.exec(select(Notice).order_by(col(Notice.id))))


def test_claim_leases_each_row_to_one_worker_until_the_lease_expires(engine: Engine) -> None:
    enqueue(engine, 3)
    lease = timedelta(seconds=5)
    with session_scope(engine) as s:
        first = notices.claim(s, now=NOW, lease=lease)
    with session_scope(engine) as s:
        assert notices.claim(s, now=NOW + timedelta(seconds=4), lease=lease) == []
    with session_scope(engine) as s:
        again = notices.claim(s, now=NOW + timedelta(seconds=6), lease=lease)
    assert [n.id for n in first] == [n.id for n in again] and len(again) == 3
    assert all(n.attempts == 2 and n.status == "sending" for n in again)


def test_concurrent_claims_skip_locked_rows(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: its claims are serialised, not skipped")
    enqueue(engine, 4)
    with Session(engine) as a, Session(engine) as b:
        got_a = {n.id for n in notices.claim(a, now=NOW, limit=2)}  # transaction open: rows locked
        got_b = {n.id for n in notices.claim(b, now=NOW, limit=10)}
        a.commit()
        b.commit()
    assert len(got_a) == 2 and len(got_b) == 2 and not got_a & got_b


async def test_retries_back_off_then_fail_and_admins_are_told(helpdesk: Helpdesk) -> None:
    admin = Chat.as_person(helpdesk, "telegram", ADMIN)
    Chat.as_person(helpdesk, "web", ADMIN)  # a second chat of the same admin
    recorder = Recorder({"42": TransportError("network down")})
    deliverer = Deliverer(helpdesk.engine, max_attempts=3)
    deliverer.register("telegram", recorder)
    enqueue(helpdesk.engine, 1)
    assert await deliverer.tick(NOW) == 0
    (n,) = rows(helpdesk.engine)
    assert (n.status, n.attempts, n.next_attempt_at, n.last_error) == (
        "pending",
        1,
        NOW + timedelta(seconds=5),
        "network down",
    )
    assert (
        await deliverer.tick(NOW + timedelta(seconds=4)) == 0
        and rows(helpdesk.engine)[0].attempts == 1
    )
    await deliverer.tick(NOW + timedelta(seconds=5))
    assert rows(helpdesk.engine)[0].next_attempt_at == NOW + timedelta(seconds=15)  # 5 s, then 10 s
    await deliverer.tick(NOW + timedelta(seconds=15))
    failed, *reports = rows(helpdesk.engine)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert {(r.channel, r.target, r.kind) for r in reports} == {
        ("telegram", admin.chat_id, "notice.failed"),
        ("web", f"web-{ADMIN}", "notice.failed"),
    }
    assert (
        f"#{failed.id} (test) ke telegram:42 gagal dikirim setelah 3 percobaan"
        in reports[0].payload["text"]
    )
    await deliverer.tick(NOW + timedelta(seconds=15))
    assert [x.kind for x in recorder.sent] == ["notice.failed"]


async def test_permanent_errors_and_rate_limit_answers(helpdesk: Helpdesk) -> None:
    Chat.as_person(helpdesk, "telegram", ADMIN)
    recorder = Recorder(
        {
            "blocked": TransportError("Forbidden: bot was blocked", permanent=True),
            "busy": TransportError("429", retry_after=30),
        }
    )
    deliverer = Deliverer(helpdesk.engine)
    deliverer.register("telegram", recorder)
    enqueue(helpdesk.engine, 1, target="blocked", prefix="b")
    enqueue(helpdesk.engine, 1, target="busy", prefix="c")
    await deliverer.tick(NOW)
    blocked, busy, report = rows(helpdesk.engine)
    assert (blocked.status, blocked.attempts, blocked.last_error) == (
        "failed",
        1,
        "Forbidden: bot was blocked",
    )
    assert (busy.status, busy.next_attempt_at) == ("pending", NOW + timedelta(seconds=30))
    assert report.kind == "notice.failed" and report.payload["notice_id"] == blocked.id


def test_a_failed_failure_report_is_not_reported_again(helpdesk: Helpdesk) -> None:
    Chat.as_person(helpdesk, "telegram", ADMIN)
    with session_scope(helpdesk.engine) as s:
        report = Notice(
            id=999, dedupe_key="x", channel="telegram", target="1", kind="notice.failed", attempts=8
        )
        assert report_failure(s, report, "still down", NOW) == 0


async def test_rate_limits_pace_a_chat_and_give_the_rest_back_untried(engine: Engine) -> None:
    clock = [100.0]
    limiter = RateLimiter(rates={"slack": 50}, intervals={"slack": 1.0}, clock=lambda: clock[0])
    recorder = Recorder()
    deliverer = Deliverer(engine, limiter=limiter, max_wait=0.0)
    deliverer.register("slack", recorder)
    enqueue(engine, 3, channel="slack", target="C1", prefix="a")
    enqueue(engine, 1, channel="slack", target="C2", prefix="b")
    assert await deliverer.tick(NOW) == 1  # C1 once; the channel-wide spacing holds C2 back too
    state = {(n.target, n.status, n.attempts) for n in rows(engine)}
    assert state == {("C1", "sent", 1), ("C1", "pending", 0), ("C2", "pending", 0)}
    assert {n.next_attempt_at for n in rows(engine) if n.status == "pending"} <= {
        NOW + timedelta(seconds=1),
        NOW + timedelta(seconds=0.02),
    }
    clock[0] += 1.0
    assert (
        await deliverer.tick(NOW + timedelta(seconds=1)) == 1
    )  # one more to C1 (C2 was given back until +0.02 s)
    clock[0] += 0.5
    await deliverer.tick(NOW + timedelta(seconds=2))
    assert sorted(n.target for n in recorder.sent) == ["C1", "C1", "C2"]


async def test_notices_of_channels_without_a_transport_wait(engine: Engine) -> None:
    deliverer = Deliverer(engine)
    deliverer.register("slack", Recorder())
    enqueue(engine, 2, channel="telegram")
    assert await deliverer.tick(NOW) == 0
    assert {n.status for n in rows(engine)} == {"pending"}


# --- replicas as OS processes -----------------------------------------------------------


def worker(url: str, mode: str, out: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.outbox_worker", url, mode, str(out), *args], cwd=ROOT, env=env
    )


def handed(out: Path) -> list[int]:
    if not out.exists():
        return []
    return [int(line.split("\t")[0]) for line in out.read_text().splitlines() if line]


def test_two_replicas_deliver_each_notice_exactly_once(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several replicas need PostgreSQL; on SQLite one process delivers")
    enqueue(engine, 400, channel="bench", at=datetime.now(UTC))
    barrier = tmp_path / "go"
    outs = [tmp_path / "a.tsv", tmp_path / "b.tsv"]
    procs = [
        worker(db_url, "record", out, "--barrier", str(barrier), "--batch", "10") for out in outs
    ]
    barrier.touch()
    assert [p.wait(timeout=90) for p in procs] == [0, 0]
    a, b = handed(outs[0]), handed(outs[1])
    assert len(a) + len(b) == 400 and len(set(a) | set(b)) == 400  # each exactly once
    assert a and b  # both replicas took part
    assert {n.status for n in rows(engine)} == {"sent"}


def test_sigkill_during_delivery_loses_no_notice(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    enqueue(engine, 5, channel="bench", at=datetime.now(UTC))
    out = tmp_path / "killed.tsv"
    proc = worker(db_url, "block", out, "--lease", "2")
    deadline = time.monotonic() + 30
    while not handed(out) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(handed(out)) == 1, "the replica did not start sending"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert {n.status for n in rows(engine)} == {"sending"}  # all five leased by the dead replica

    recorder = Recorder()
    survivor = Deliverer(engine, lease=timedelta(seconds=2))
    survivor.register("bench", recorder)
    import asyncio

    now = datetime.now(UTC)
    assert asyncio.run(survivor.tick(now)) == 0  # the lease still holds
    assert asyncio.run(survivor.tick(now + timedelta(seconds=3))) == 5  # expired: all go out
    assert sorted(n.id for n in recorder.sent) == sorted(n.id for n in rows(engine))
    assert {n.status for n in rows(engine)} == {"sent"}


async def test_a_chat_keeps_its_order_when_the_platform_says_wait(engine: Engine) -> None:
    class SlowDown(Recorder):
        async def send(self, notice: Notice) -> str | None:
            if notice.target == "busy" and self.fail.pop("once", None) is not None:
                raise TransportError("429 Too Many Requests", retry_after=30)
            return await super().send(notice)

    recorder = SlowDown({"once": TransportError("unused")})
    deliverer = Deliverer(engine)
    deliverer.register("telegram", recorder)
    enqueue(engine, 3, target="busy", prefix="busy")
    enqueue(engine, 2, target="calm", prefix="calm")
    assert await deliverer.tick(NOW) == 2  # the calm chat is not held up
    waiting = [n for n in rows(engine) if n.target == "busy"]
    assert [(n.status, n.attempts, n.next_attempt_at) for n in waiting] == [
        ("pending", 1, NOW + timedelta(seconds=30)),
        ("pending", 0, NOW + timedelta(seconds=30)),
        ("pending", 0, NOW + timedelta(seconds=30)),
    ]
    assert await deliverer.tick(NOW + timedelta(seconds=30)) == 3
    assert [n.payload["text"] for n in recorder.sent if n.target == "busy"] == [
        "pesan 0",
        "pesan 1",
        "pesan 2",
    ]
