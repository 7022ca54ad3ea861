"""The record of a recovery run (bot.core.recovery): every change of the run and of its
steps as a `RecoveryEvent` (who, when, through which channel, old → new), and the steps'
attempts read back from it. A step that failed may be tried again, so one step can have
several attempts, each with its own start, end and result; the run's clock, measured
against the RTO, runs on through all of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import RecoveryEvent

#: actions that open an attempt of a step, and those that close one
OPENS = frozenset({"start", "retry"})
CLOSES = frozenset({"done", "fail"})


@dataclass(frozen=True)
class Attempt:
    position: int
    number: int
    started_at: datetime
    started_by_id: int | None
    finished_at: datetime | None = None
    ended_by_id: int | None = None
    #: the step's state the attempt ended in ("selesai", "gagal", "dilewati"), None while on
    result: str | None = None

    def minutes(self, now: datetime) -> float:
        end = self.finished_at or now
        return max(0.0, (end - self.started_at).total_seconds() / 60)


def record(
    session: Session,
    run_id: int,
    action: str,
    *,
    at: datetime,
    actor_id: int | None,
    channel: str | None,
    position: int | None = None,
    attempt: int | None = None,
    old: str | None = None,
    new: str | None = None,
    note: str | None = None,
) -> RecoveryEvent:
    event = RecoveryEvent(
        run_id=run_id,
        position=position,
        attempt=attempt,
        at=at,
        actor_id=actor_id,
        channel=(channel or None) and channel[:32],
        action=action,
        old=old,
        new=new,
        note=note[:2000] if note else None,
    )
    session.add(event)
    return event


def events(session: Session, run_id: int) -> list[RecoveryEvent]:
    session.flush()
    return list(
        session.exec(
            select(RecoveryEvent)
            .where(RecoveryEvent.run_id == run_id)
            .order_by(col(RecoveryEvent.id))
        )
    )


def opened(session: Session, run_id: int, position: int) -> int:
    """How many attempts of the step were opened so far (0: never started)."""
    return sum(1 for e in events(session, run_id) if e.position == position and e.action in OPENS)


def attempts(session: Session, run_id: int) -> list[Attempt]:
    """Every attempt of every step, in the order they were opened. A step skipped while
    an attempt was on ends that attempt as skipped."""
    out: list[Attempt] = []
    on: dict[int, int] = {}  # position → index in `out` of its open attempt
    for e in events(session, run_id):
        if e.position is None:
            continue
        if e.action in OPENS:
            on[e.position] = len(out)
            out.append(Attempt(e.position, e.attempt or 1, e.at, e.actor_id))
        elif (e.action in CLOSES or e.action == "skip") and e.position in on:
            i = on.pop(e.position)
            a = out[i]
            out[i] = Attempt(
                a.position, a.number, a.started_at, a.started_by_id, e.at, e.actor_id, e.new
            )
    return out
