"""The intake's leases and reply marks: a live run keeps a short lease, an event is
never run twice by one process, a run whose event was taken over sends nothing, and a
run's reply marks are written with its done mark, not in a commit per reply. Real
database, both backends; two intakes on one engine stand for two replicas."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.intake import Intake, IntakePolicy, LeaseLost, check_lease
from storage import inbound, inbox
from storage.db import session_scope
from storage.inbox import Arrival
from storage.models import InboundEvent, InboxEvent, utcnow

SHORT = IntakePolicy(concurrency=4, lease=timedelta(seconds=0.6), poll=0.02)


def state(engine: Engine) -> tuple[str, str | None]:
    with Session(engine) as s:
        row = s.exec(select(InboxEvent)).one()
        return row.state, row.worker


def test_a_slow_run_keeps_a_short_lease_and_no_replica_runs_it_again(engine: Engine) -> None:
    runs: list[str] = []

    async def slow(name: str, payload: str) -> None:
        runs.append(name)
        await asyncio.sleep(2.0)  # more than three leases

    async def run() -> None:
        one, two = Intake(engine, SHORT), Intake(engine, SHORT)
        await one.start()
        one.register("telegram", lambda p: slow("one", p))
        assert await one.put(Arrival("telegram", "1", "A", '"x"'))
        while not runs:
            await asyncio.sleep(0.01)
        await two.start()  # a second replica, polling all along
        two.register("telegram", lambda p: slow("two", p))
        await one.idle(timeout=20)
        await two.stop()
        await one.stop()

    asyncio.run(run())
    assert runs == ["one"]
    assert state(engine)[0] == "done"


def test_an_event_claimed_again_while_in_hand_is_not_run_twice(engine: Engine) -> None:
    runs: list[str] = []

    async def slow(payload: str) -> None:
        runs.append(payload)
        with session_scope(engine) as s:  # its lease "ran out" (a stalled renewal)
            s.execute(sa.update(InboxEvent).values(locked_until=utcnow() - timedelta(seconds=5)))
        await asyncio.sleep(0.5)  # the same intake's poll claims it again meanwhile

    async def run() -> None:
        intake = Intake(engine, IntakePolicy(concurrency=4, lease=timedelta(seconds=30), poll=0.02))
        await intake.start()
        intake.register("telegram", slow)
        assert await intake.put(Arrival("telegram", "1", "A", '"x"'))
        await intake.idle(timeout=20)
        await intake.stop()

    asyncio.run(run())
    assert runs == ['"x"']
    with Session(engine) as s:
        row = s.exec(select(InboxEvent)).one()
        assert row.state == "done" and row.attempts == 2  # claimed twice, run once


def test_a_run_whose_event_was_taken_over_sends_nothing_and_leaves_it(engine: Engine) -> None:
    sent: list[str] = []
    refused: list[BaseException] = []

    async def handler(payload: str) -> None:
        # another replica takes the event over (as if our lease had run out)
        later = utcnow() + timedelta(seconds=5)
        taken = await asyncio.to_thread(
            inbox.claim,
            engine,
            "other-replica",
            limit=1,
            lease=timedelta(seconds=60),
            sources=("telegram",),
            now=later,
        )
        assert taken
        await asyncio.sleep(0.6)  # our next renewal finds the event gone
        try:
            check_lease()
        except LeaseLost as exc:
            refused.append(exc)
            raise
        sent.append(payload)

    async def run() -> Intake:
        intake = Intake(engine, SHORT)
        await intake.start()
        intake.register("telegram", handler)
        assert await intake.put(Arrival("telegram", "1", "A", '"x"'))
        while not refused and not sent:
            await asyncio.sleep(0.02)
        await intake.stop()
        return intake

    intake = asyncio.run(run())
    assert sent == [] and len(refused) == 1
    assert intake.failures == []  # not a failure of ours: nothing recorded over the holder
    assert state(engine) == ("processing", "other-replica")


def test_reply_marks_go_with_the_done_mark_not_a_commit_per_reply(engine: Engine) -> None:
    key = "update:1"
    with session_scope(engine) as s:
        assert inbound.first_delivery(s, "telegram", key)
        inbound.owe(s, "telegram", key, [{"text": "a"}, {"text": "b"}, {"text": "c"}])
    seen_during: list[tuple[object, int]] = []

    def row() -> tuple[object, int]:
        with Session(engine) as s:
            replies, sent = s.exec(
                select(col(InboundEvent.replies), col(InboundEvent.replies_sent)).where(
                    InboundEvent.key == key
                )
            ).one()
            return replies, sent

    async def handler(payload: str) -> None:
        for n in (1, 2, 3):  # three replies out, each marked
            await asyncio.to_thread(inbound.note_sent, engine, "telegram", key, n, 3)
        seen_during.append(await asyncio.to_thread(row))

    async def run() -> None:
        intake = Intake(engine, IntakePolicy(concurrency=4, lease=timedelta(seconds=30), poll=0.02))
        await intake.start()
        intake.register("telegram", handler)
        assert await intake.put(Arrival("telegram", "1", "A", '"x"'))
        await intake.idle(timeout=20)
        await intake.stop()

    asyncio.run(run())
    [(replies, sent)] = seen_during
    assert replies is not None and sent == 0  # only noted while the run sends
    assert row() == (None, 3)  # written with the event's done mark
    assert state(engine)[0] == "done"
    # outside an inbox run a mark is written at once
    with session_scope(engine) as s:
        assert inbound.first_delivery(s, "telegram", "update:2")
        inbound.owe(s, "telegram", "update:2", [{"text": "a"}])
    inbound.note_sent(engine, "telegram", "update:2", 1, 1)
    with Session(engine) as s:
        assert (
            s.exec(
                select(col(InboundEvent.replies_sent)).where(InboundEvent.key == "update:2")
            ).one()
            == 1
        )
