"""Recovery of the agency's services (guideline ch. 7.1.4): a coordinator walks a
service's recovery plan step by step, in an exercise or after a real outage, and the
steps' times and the measured recovery time are kept against the service's RTO.

The walk is a small state machine per step (menunggu → berjalan → selesai | gagal, or
dilewati); only the step due may move, so a stale or forged button changes nothing. A
failed step does not end the run, as in a runbook tool: the coordinator tries it again
(gagal → berjalan, a new attempt), skips it with a note, or stops the run, which then
ends as gagal. Every move is recorded with its attempt (bot.core.recovery_attempts)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from bot.core import recovery_attempts
from bot.core.errors import HelpdeskError, NotAllowed, NotFound
from bot.core.roles import Role, has_any
from bot.core.ticket_states import OPEN_STATES
from knowledge.recovery_plans import PLANS_DIR, PlanError, load_plan
from storage.db import saved_id
from storage.models import (
    Outage,
    Person,
    RecoveryRun,
    RecoveryStep,
    Service,
    Ticket,
    utcnow,
)

#: who may start and walk a recovery
COORDINATOR_ROLES = frozenset({Role.KOORDINATOR_PEMULIHAN.value, Role.ADMIN.value})
KINDS = ("exercise", "incident")
RUNNING, SUCCEEDED, FAILED, STOPPED = "berjalan", "berhasil", "gagal", "dihentikan"
WAITING, ACTIVE, DONE, STEP_FAILED, SKIPPED = "menunggu", "berjalan", "selesai", "gagal", "dilewati"
#: step action → (states it may leave, state it enters)
MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "start": ((WAITING,), ACTIVE),
    "done": ((ACTIVE,), DONE),
    "fail": ((ACTIVE,), STEP_FAILED),
    "skip": ((WAITING, ACTIVE, STEP_FAILED), SKIPPED),
    "retry": ((STEP_FAILED,), ACTIVE),
}
#: the states of the step the walk is at
DUE_STATES = (WAITING, ACTIVE, STEP_FAILED)


def may_recover(person: Person | None) -> bool:
    return has_any(person, COORDINATOR_ROLES)


def _require(person: Person | None) -> Person:
    if person is None or not may_recover(person):
        raise NotAllowed("auth.recovery_only")
    return person


def start_run(
    session: Session,
    service_id: str,
    person: Person | None,
    *,
    now: datetime | None = None,
    kind: str = "exercise",
    ticket_id: int | None = None,
    plans: Path = PLANS_DIR,
    channel: str | None = None,
) -> RecoveryRun:
    """A new run with the plan's steps copied in (the file may change later; what was
    walked may not). One run per service at a time: two coordinators cannot both time it."""
    who = _require(person)
    if kind not in KINDS:
        raise HelpdeskError("recovery.bad_kind")
    wanted = service_id.strip().lower()[:64]
    # the service row locked: two coordinators starting at once get one run between them
    service = (
        session.exec(select(Service).where(Service.id == wanted).with_for_update()).first()
        if wanted
        else None
    )
    if service is None:
        raise NotFound("recovery.unknown_service", service=service_id.strip()[:64])
    try:
        plan = load_plan(service.id, plans)
    except PlanError:
        raise HelpdeskError("recovery.plan_broken", service=service.name) from None
    if plan is None:
        raise NotFound("recovery.no_plan", service=service.name)
    if running(session, service.id) is not None:
        raise HelpdeskError("recovery.already_running", service=service.name)
    run = RecoveryRun(
        service_id=service.id,
        kind=kind,
        ticket_id=ticket_id,
        started_by_id=who.id,
        started_at=now or utcnow(),
        rto_minutes=service.rto_minutes,
    )
    session.add(run)
    session.flush()
    recovery_attempts.record(
        session,
        saved_id(run),
        "begin",
        at=run.started_at,
        actor_id=who.id,
        channel=channel,
        new=RUNNING,
        note=kind,
    )
    for n, step in enumerate(plan.steps, start=1):
        session.add(
            RecoveryStep(
                run_id=saved_id(run),
                position=n,
                title=step.title,
                role=step.role,
                expected_minutes=step.minutes,
            )
        )
    session.flush()
    return run


def running(session: Session, service_id: str) -> RecoveryRun | None:
    return session.exec(
        select(RecoveryRun)
        .where(RecoveryRun.service_id == service_id)
        .where(RecoveryRun.outcome == RUNNING)
    ).first()


def steps(session: Session, run: RecoveryRun) -> list[RecoveryStep]:
    return list(
        session.exec(
            select(RecoveryStep)
            .where(RecoveryStep.run_id == run.id)
            .order_by(col(RecoveryStep.position))
        )
    )


def due_step(session: Session, run: RecoveryRun) -> RecoveryStep | None:
    """The step the walk is at: the first one not yet ended (a failed one waits for a
    retry, a skip or the end of the run)."""
    return next((s for s in steps(session, run) if s.state in DUE_STATES), None)


def get_run(session: Session, run_id: int, *, for_update: bool = False) -> RecoveryRun:
    query = select(RecoveryRun).where(RecoveryRun.id == run_id)
    run = session.exec(query.with_for_update() if for_update else query).first()
    if run is None:
        raise NotFound("recovery.unknown_run")
    return run


def elapsed_minutes(run: RecoveryRun, now: datetime) -> float:
    end = run.finished_at or now
    return max(0.0, (end - run.started_at).total_seconds() / 60)


def move(
    session: Session,
    run_id: int,
    position: int,
    action: str,
    person: Person | None,
    *,
    now: datetime | None = None,
    note: str | None = None,
    attempt: int | None = None,
    channel: str | None = None,
) -> tuple[RecoveryRun, RecoveryStep]:
    """Move the due step. The run ends berhasil when its last step is done or skipped
    (measured from the start to that moment, retries included). A failed step waits:
    "retry" opens its next attempt, "skip" passes it with a `note` (why the recovery may
    go on without it), `stop` ends the run. `attempt`: the attempt a retry button was
    shown for, so a second press of it changes nothing."""
    who = _require(person)
    if action not in MOVES:
        raise HelpdeskError("recovery.stale")
    at = now or utcnow()
    run = get_run(session, run_id, for_update=True)
    if run.outcome != RUNNING:
        raise HelpdeskError("recovery.finished")
    step = due_step(session, run)
    if step is None or step.position != position:
        raise HelpdeskError("recovery.stale")
    tried = recovery_attempts.opened(session, run_id, position)
    if action == "retry" and attempt is not None and step.state == ACTIVE and tried > attempt:
        return run, step  # the same retry pressed twice
    leaves, enters = MOVES[action]
    if step.state not in leaves:
        raise HelpdeskError("recovery.stale")
    reason = (note or "").strip()
    if action == "skip" and step.state == STEP_FAILED and not reason:
        raise HelpdeskError("recovery.skip_note_needed", n=position)
    old = step.state
    if action == "start":
        step.started_at = at
    if enters == ACTIVE:
        step.finished_at = None
        tried += 1
    else:
        step.finished_at = at
    step.state = enters
    step.actor_id = who.id
    if reason:
        step.note = (f"{step.note}\n{reason}" if step.note else reason)[:2000]
    session.add(step)
    recovery_attempts.record(
        session,
        run_id,
        action,
        at=at,
        actor_id=who.id,
        channel=channel,
        position=position,
        attempt=tried or None,
        old=old,
        new=enters,
        note=reason or None,
    )
    if enters in (DONE, SKIPPED) and due_step(session, run) is None:
        _finish(session, run, SUCCEEDED, at, who, measured=True, channel=channel)
    session.add(run)
    session.flush()
    return run, step


def stop(
    session: Session,
    run_id: int,
    person: Person | None,
    *,
    now: datetime | None = None,
    channel: str | None = None,
) -> RecoveryRun:
    """The run broken off (its time is not a measurement), which frees the service for
    the next. Stopped at a failed step, it ends gagal: the plan did not recover the
    service; otherwise dihentikan."""
    who = _require(person)
    run = get_run(session, run_id, for_update=True)
    if run.outcome != RUNNING:
        raise HelpdeskError("recovery.finished")
    step = due_step(session, run)
    outcome = FAILED if step is not None and step.state == STEP_FAILED else STOPPED
    _finish(session, run, outcome, now or utcnow(), who, measured=False, channel=channel)
    session.add(run)
    session.flush()
    return run


def _finish(
    session: Session,
    run: RecoveryRun,
    outcome: str,
    at: datetime,
    who: Person,
    *,
    measured: bool,
    channel: str | None,
) -> None:
    run.outcome = outcome
    run.finished_at = at
    run.ended_by_id = who.id
    run.measured_minutes = round(elapsed_minutes(run, at), 2) if measured else None
    recovery_attempts.record(
        session,
        saved_id(run),
        "end",
        at=at,
        actor_id=who.id,
        channel=channel,
        old=RUNNING,
        new=outcome,
    )


def add_note(
    session: Session,
    run_id: int,
    person: Person | None,
    text: str,
    *,
    now: datetime | None = None,
    channel: str | None = None,
) -> RecoveryStep:
    """A note belongs to the step in hand (a failed one included: why it failed), or to
    the last one when the run has ended."""
    who = _require(person)
    note = text.strip()
    if not note:
        raise HelpdeskError("recovery.empty_note")
    run = get_run(session, run_id, for_update=True)
    all_steps = steps(session, run)
    step = next((s for s in all_steps if s.state == ACTIVE), None)
    if step is None:
        touched = [s for s in all_steps if s.state != WAITING]
        step = touched[-1] if touched else all_steps[0]
    step.note = (f"{step.note}\n{note}" if step.note else note)[:2000]
    session.add(step)
    recovery_attempts.record(
        session,
        run_id,
        "note",
        at=now or utcnow(),
        actor_id=who.id,
        channel=channel,
        position=step.position,
        note=note,
    )
    session.flush()
    return step


def recent_runs(session: Session, service_id: str, limit: int = 3) -> list[RecoveryRun]:
    return list(
        session.exec(
            select(RecoveryRun)
            .where(RecoveryRun.service_id == service_id)
            .order_by(col(RecoveryRun.started_at).desc(), col(RecoveryRun.id).desc())
            .limit(limit)
        )
    )


def start_incident_run(
    session: Session,
    outage_id: int,
    person: Person | None,
    *,
    now: datetime | None = None,
    plans: Path = PLANS_DIR,
    channel: str | None = None,
) -> RecoveryRun:
    """The offer's button: a run of kind "incident" linked to the outage's ticket. A
    second press while it runs gives the same run, not a refusal, so two coordinators who
    both press it walk one recovery."""
    _require(person)
    outage = session.get(Outage, outage_id)
    if outage is None or outage.planned:
        raise NotFound("recovery.unknown_outage")
    over = HelpdeskError("recovery.outage_over") if outage.ended_at is not None else None
    return _incident_run(
        session, outage.service_id, outage.ticket_id, person, over,
        now=now, plans=plans, channel=channel,
    )  # fmt: skip


def start_ticket_run(
    session: Session,
    ticket_id: int,
    person: Person | None,
    *,
    now: datetime | None = None,
    plans: Path = PLANS_DIR,
    channel: str | None = None,
) -> RecoveryRun:
    """The button of a P1 incident's offer (bot.core.recovery_offers): a run of kind
    "incident" linked to the ticket. Pressed again, or after the outage's button started
    the recovery of the same incident, it gives the run that is walked."""
    _require(person)
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.service_id is None:
        raise NotFound("recovery.unknown_ticket")
    over = (
        HelpdeskError("recovery.ticket_over", number=ticket.number)
        if ticket.state not in OPEN_STATES
        else None
    )
    return _incident_run(
        session, ticket.service_id, ticket.id, person, over,
        now=now, plans=plans, channel=channel,
    )  # fmt: skip


def _incident_run(
    session: Session,
    service_id: str,
    ticket_id: int | None,
    person: Person | None,
    over: HelpdeskError | None,
    *,
    now: datetime | None,
    plans: Path,
    channel: str | None,
) -> RecoveryRun:
    """The run walked for this incident if one is (a second press, or the other
    button of the same disruption); else a new one, unless the disruption is `over`."""
    existing = running(session, service_id)
    if existing is not None and existing.kind == "incident" and existing.ticket_id == ticket_id:
        return existing
    if over is not None:
        raise over
    return start_run(
        session, service_id, person,
        now=now, kind="incident", ticket_id=ticket_id, plans=plans, channel=channel,
    )  # fmt: skip
