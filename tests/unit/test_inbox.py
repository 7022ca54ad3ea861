"""The inbox: stored once per platform id, claimed one event per lane in arrival order,
leased, retried with backoff, set aside when it keeps failing, and worked by several
claimers at once without an event claimed twice. Real database, both backends."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core import retention
from bot.intake import Intake, IntakePolicy
from storage import inbox
from storage.inbox import Arrival
from storage.models import InboxEvent, utcnow

LEASE = timedelta(seconds=30)


def arrival(key: str, lane: str = "chat:1", source: str = "telegram") -> Arrival:
    return Arrival(source, key, lane, f'{{"key": "{key}"}}')


def claim(engine: Engine, limit: int = 10, **kw: object) -> list[inbox.Claimed]:
    return inbox.claim(engine, "test-worker", limit=limit, lease=LEASE, sources=("telegram",), **kw)  # type: ignore[arg-type]


def states(engine: Engine) -> dict[str, str]:
    with Session(engine) as s:
        return {e.key: e.state for e in s.exec(select(InboxEvent))}


def test_an_event_is_stored_once_whatever_redelivers_it(engine: Engine) -> None:
    assert inbox.put_many(engine, [arrival("1"), arrival("2"), arrival("1")]) == [
        True,
        True,
        False,
    ]
    assert inbox.put_many(engine, [arrival("2"), arrival("3")]) == [False, True]
    # the same id from another platform is another event
    assert inbox.put_many(engine, [arrival("1", source="slack")]) == [True]
    with Session(engine) as s:
        assert len(s.exec(select(InboxEvent)).all()) == 4


def test_one_event_per_lane_in_arrival_order(engine: Engine) -> None:
    inbox.put_many(
        engine,
        [arrival("a1", "A"), arrival("b1", "B"), arrival("a2", "A"), arrival("a3", "A")],
    )
    first = claim(engine)
    assert [e.key for e in first] == ["a1", "b1"]  # a2 waits for a1
    assert claim(engine) == []  # both lanes busy
    inbox.done(engine, [first[0].id])
    assert [e.key for e in claim(engine)] == ["a2"]
    assert states(engine) == {"a1": "done", "b1": "processing", "a2": "processing", "a3": "pending"}


def test_only_the_sources_this_replica_handles_are_claimed(engine: Engine) -> None:
    inbox.put_many(engine, [arrival("t"), arrival("s", "slack:U1", source="slack")])
    assert [e.key for e in claim(engine)] == ["t"]
    assert states(engine)["s"] == "pending"


def test_a_dead_workers_lease_runs_out_and_the_event_is_claimed_again(engine: Engine) -> None:
    inbox.put_many(engine, [arrival("x", "A"), arrival("y", "B")])
    now = utcnow()
    [x] = claim(engine, limit=1, now=now)
    assert x.attempts == 1
    assert [e.key for e in claim(engine, now=now + LEASE / 2)] == ["y"]
    again = claim(engine, now=now + LEASE + timedelta(seconds=1))
    assert [(e.key, e.attempts) for e in again] == [("x", 2)]


def test_a_renewed_lease_is_not_taken_away(engine: Engine) -> None:
    inbox.put_many(engine, [arrival("x")])
    now = utcnow()
    [x] = claim(engine, now=now)
    inbox.extend(engine, [x.id], "test-worker", now + LEASE * 3)
    assert claim(engine, now=now + LEASE * 2) == []


def test_failures_wait_for_their_retry_then_are_set_aside_and_retried_by_hand(
    engine: Engine,
) -> None:
    inbox.put_many(engine, [arrival("p"), arrival("q")])  # same lane: q waits behind p
    now = utcnow()
    [p] = claim(engine, now=now)
    inbox.failed(engine, p.id, "ValueError: boom", retry_at=now + timedelta(seconds=10), now=now)
    assert claim(engine, now=now + timedelta(seconds=5)) == []  # not due; q still behind it
    [p] = claim(engine, now=now + timedelta(seconds=11))
    assert (p.key, p.attempts) == ("p", 2)
    inbox.failed(engine, p.id, "ValueError: boom again", retry_at=None, now=now)
    assert states(engine)["p"] == "dead"
    # a dead event no longer holds its lane
    assert [e.key for e in claim(engine, now=now + timedelta(seconds=12))] == ["q"]
    with Session(engine) as s:
        [dead] = inbox.dead(s)
        assert dead.key == "p" and dead.last_error == "ValueError: boom again"
        assert inbox.counts(s) == {"dead": 1, "processing": 1}
    assert inbox.retry(engine, [dead.id]) == 1
    assert states(engine)["p"] == "pending"


def test_concurrent_claimers_never_share_an_event(engine: Engine) -> None:
    inbox.put_many(engine, [arrival(str(n), f"lane{n % 7}") for n in range(120)])
    taken: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while True:
            got = inbox.claim(engine, name, limit=5, lease=LEASE, sources=("telegram",))
            if not got:
                if not inbox.unfinished_count(engine, ("telegram",)):
                    return
                continue
            with lock:
                taken.extend(e.key for e in got)
            inbox.done(engine, [e.id for e in got])

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert sorted(taken, key=int) == [str(n) for n in range(120)]  # each once
    # and every lane in order
    for lane in range(7):
        mine = [k for k in taken if int(k) % 7 == lane]
        assert mine == sorted(mine, key=int)


def test_retention_prunes_processed_events_only(engine: Engine) -> None:
    inbox.put_many(engine, [arrival("old"), arrival("dead", "L2"), arrival("new", "L3")])
    [old, dead, _] = claim(engine)
    inbox.done(engine, [old.id])
    inbox.failed(engine, dead.id, "boom", retry_at=None)
    later = utcnow() + timedelta(days=8)
    pruned = retention.prune(engine, later, retention.Policy(inbox_days=7))
    assert pruned["inbox_events"] == 1
    assert states(engine) == {"dead": "dead", "new": "processing"}


# -- the intake in a running loop ---------------------------------------------------------

FAST = IntakePolicy(
    concurrency=4,
    lease=timedelta(seconds=30),
    max_attempts=3,
    backoff=timedelta(0),
    poll=0.05,
)


def test_intake_retries_a_failing_handler_then_sets_the_event_aside(engine: Engine) -> None:
    seen: list[str] = []

    async def flaky(payload: str) -> None:
        seen.append(payload)
        if payload == '"twice"' and seen.count(payload) <= 2:
            raise RuntimeError("transient")
        if payload == '"never"':
            raise ValueError("poisoned")

    async def run() -> None:
        intake = Intake(engine, FAST)
        await intake.start()
        intake.register("telegram", flaky)
        assert await intake.put(Arrival("telegram", "1", "A", '"twice"'))
        assert not await intake.put(Arrival("telegram", "1", "A", '"twice"'))  # redelivered
        assert await intake.put(Arrival("telegram", "2", "B", '"never"'))
        assert await intake.put(Arrival("telegram", "3", "C", '"ok"'))
        await intake.idle(timeout=20)
        await intake.stop()
        assert len(intake.failures) == 2 + 3

    asyncio.run(run())
    assert seen.count('"twice"') == 3 and seen.count('"never"') == 3 and seen.count('"ok"') == 1
    assert states(engine) == {"1": "done", "2": "dead", "3": "done"}
    with Session(engine) as s:
        [dead] = inbox.dead(s)
        assert dead.attempts == 3 and dead.last_error == "ValueError: poisoned"


def test_intake_keeps_a_lanes_order_while_lanes_run_side_by_side(engine: Engine) -> None:
    order: list[str] = []
    running: set[str] = set()
    overlap: list[str] = []

    async def handler(payload: str) -> None:
        lane, _ = payload.strip('"').split("-")
        if lane in running:
            overlap.append(payload)
        running.add(lane)
        await asyncio.sleep(0.01)
        order.append(payload.strip('"'))
        running.discard(lane)

    async def run() -> None:
        intake = Intake(engine, FAST)
        await intake.start()
        intake.register("telegram", handler)
        await asyncio.gather(
            *(
                intake.put(Arrival("telegram", f"{lane}{n}", lane, f'"{lane}-{n}"'))
                for n in range(5)
                for lane in "XYZ"
            )
        )
        await intake.idle(timeout=20)
        await intake.stop()

    asyncio.run(run())
    assert not overlap
    for lane in "XYZ":
        assert [o for o in order if o.startswith(lane)] == [f"{lane}-{n}" for n in range(5)]
