"""Recovery exercises in chat: `/latihanpemulihan LAYANAN` (English `/drill`) walks the
service's recovery plan step by step with Mulai / Selesai / Gagal / Lewati, a typed
note for the step in hand, and the elapsed time against the RTO. A failed step offers
Ulangi (its next attempt), Lewati (asks for the note that says why) and Hentikan. The rules (who may,
which step may move) live in bot.core.recovery; the run's id in a button is checked
there, so a forged or stale one changes nothing."""

from __future__ import annotations

from bot.core import recovery, recovery_attempts
from bot.core.errors import HelpdeskError, NotAllowed
from bot.dialogue.messages import Reply
from bot.dialogue.router import Button, Flow
from bot.dialogue.turn import Turn
from bot.i18n import fmt_number, fmt_percent
from storage.db import saved_id
from storage.models import RecoveryRun, Service

WALK = "recovery_walk"
SKIP_NOTE = "recovery_skip_note"
STATES = (WALK, SKIP_NOTE)

#: button prefix → core action of the due step
ACTIONS = {
    "rc:go": "start",
    "rc:ok": "done",
    "rc:no": "fail",
    "rc:skip": "skip",
    "rc:re": "retry",
}
LABELS = {
    "start": "recovery.btn_start",
    "done": "recovery.btn_done",
    "fail": "recovery.btn_fail",
    "skip": "recovery.btn_skip",
    "retry": "recovery.btn_retry",
}
#: the due step's state → the actions offered on it
OFFERED = {
    recovery.WAITING: ("start", "skip"),
    recovery.ACTIVE: ("done", "fail", "skip"),
    recovery.STEP_FAILED: ("retry", "skip"),
}
KIND_KEYS = {"exercise": "recovery.kind.exercise", "incident": "recovery.kind.incident"}
PREFIX = {action: prefix for prefix, action in ACTIONS.items()}


def _coordinator_only(turn: Turn) -> None:
    if not recovery.may_recover(turn.person):
        raise NotAllowed("auth.recovery_only")


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 12 else None


def _clock(turn: Turn, run: RecoveryRun) -> str:
    elapsed = recovery.elapsed_minutes(run, turn.now)
    if not run.rto_minutes:
        return turn.t("recovery.elapsed_no_rto", elapsed=fmt_number(elapsed, turn.lang, 1))
    return turn.t(
        "recovery.elapsed",
        elapsed=fmt_number(elapsed, turn.lang, 1),
        rto=fmt_number(run.rto_minutes, turn.lang),
        share=fmt_percent(100 * elapsed / run.rto_minutes, turn.lang, 0),
    )


def show(turn: Turn, run: RecoveryRun) -> list[Reply]:
    """The step in hand and its buttons, or the run's result when it has ended."""
    service = turn.session.get(Service, run.service_id)
    name = service.name if service else run.service_id
    if run.outcome != recovery.RUNNING:
        turn.reset()
        return turn.say(_result(turn, run, name))
    all_steps = recovery.steps(turn.session, run)
    step = recovery.due_step(turn.session, run)
    assert step is not None  # a running run has a step left (move ends it otherwise)
    text = "\n".join(
        [
            turn.t(KIND_KEYS[run.kind], service=name),
            turn.t(
                "recovery.step",
                n=step.position,
                total=len(all_steps),
                title=step.title,
                role=step.role,
                minutes=fmt_number(step.expected_minutes, turn.lang),
            ),
            *_attempt_lines(turn, run, step.position, step.state),
            _clock(turn, run),
            turn.t(
                "recovery.failed_hint"
                if step.state == recovery.STEP_FAILED
                else "recovery.note_hint"
            ),
        ]
    )
    tried = recovery_attempts.opened(turn.session, saved_id(run), step.position)
    choices = [
        turn.choice(
            LABELS[a],
            f"{PREFIX[a]}:{run.id}:{step.position}" + (f":{tried}" if a == "retry" else ""),
        )
        for a in OFFERED[step.state]
    ] + [turn.choice("recovery.btn_stop", f"rc:stop:{run.id}")]
    turn.go(WALK, keep=False, run=run.id)
    return turn.say(text, choices)


def _attempt_lines(turn: Turn, run: RecoveryRun, position: int, state: str) -> list[str]:
    """The attempt in hand: since when it runs, or when it failed and after how long."""
    mine = [
        a for a in recovery_attempts.attempts(turn.session, saved_id(run)) if a.position == position
    ]
    if not mine or state == recovery.WAITING:
        return []
    last = mine[-1]
    if state == recovery.ACTIVE and last.number == 1:
        return [turn.t("recovery.step_active", since=turn.dt(last.started_at))]
    if state == recovery.ACTIVE:
        return [turn.t("recovery.attempt_active", n=last.number, since=turn.dt(last.started_at))]
    return [
        turn.t(
            "recovery.step_failed",
            n=position,
            attempt=last.number,
            at=turn.dt(last.finished_at),
            minutes=fmt_number(last.minutes(turn.now), turn.lang, 1),
        )
    ]


def _result(turn: Turn, run: RecoveryRun, name: str) -> str:
    if run.outcome == recovery.STOPPED:
        key = "recovery.stopped_incident" if run.kind == "incident" else "recovery.stopped"
        return turn.t(key, service=name)
    if run.outcome == recovery.FAILED:
        failed = next(
            (s for s in recovery.steps(turn.session, run) if s.state == recovery.STEP_FAILED),
            None,
        )
        return turn.t("recovery.failed", service=name, n=failed.position if failed else "-")
    measured = fmt_number(run.measured_minutes, turn.lang, 1)
    if not run.rto_minutes:
        return turn.t("recovery.succeeded_no_rto", service=name, measured=measured)
    within = (run.measured_minutes or 0) <= run.rto_minutes
    return turn.t(
        "recovery.succeeded",
        service=name,
        measured=measured,
        rto=fmt_number(run.rto_minutes, turn.lang),
        verdict=turn.t("recovery.within" if within else "recovery.over"),
    )


def start(turn: Turn, args: str) -> list[Reply]:
    _coordinator_only(turn)
    service_id = args.strip().split(" ")[0]
    if not service_id:
        raise HelpdeskError("recovery.usage")
    run = recovery.start_run(
        turn.session, service_id, turn.person, now=turn.now, channel=turn.msg.channel
    )
    return show(turn, run)


def _step_button(prefix: str) -> Button:
    def run(turn: Turn, value: str) -> list[Reply] | None:
        parts = value.split(":")
        numbers = [_number(p) for p in parts]
        if len(parts) not in (2, 3) or any(n is None for n in numbers):
            return None
        run_id, position = numbers[0], numbers[1]
        assert run_id is not None and position is not None
        attempt = numbers[2] if len(parts) == 3 else None
        action = ACTIONS[prefix]
        if action == "skip" and _failed_step_due(turn, run_id, position):
            turn.go(SKIP_NOTE, keep=False, run=run_id, position=position)
            return turn.say(turn.t("recovery.ask_skip_note", n=position))
        moved, _ = recovery.move(
            turn.session,
            run_id,
            position,
            action,
            turn.person,
            now=turn.now,
            attempt=attempt,
            channel=turn.msg.channel,
        )
        return show(turn, moved)

    return Button(run, guard=_coordinator_only)


def _failed_step_due(turn: Turn, run_id: int, position: int) -> bool:
    run = recovery.get_run(turn.session, run_id)
    step = recovery.due_step(turn.session, run) if run.outcome == recovery.RUNNING else None
    return step is not None and step.position == position and step.state == recovery.STEP_FAILED


def _skip_note(turn: Turn, text: str) -> list[Reply]:
    """The typed reason a failed step is skipped: the skip itself."""
    run_id, position = turn.data.get("run"), turn.data.get("position")
    if not isinstance(run_id, int) or not isinstance(position, int):
        turn.reset()
        return turn.say(turn.t("recovery.usage"))
    moved, _ = recovery.move(
        turn.session,
        run_id,
        position,
        "skip",
        turn.person,
        now=turn.now,
        note=text,
        channel=turn.msg.channel,
    )
    return show(turn, moved)


def _stop(turn: Turn, value: str) -> list[Reply] | None:
    run_id = _number(value)
    if run_id is None:
        return None
    stopped = recovery.stop(
        turn.session, run_id, turn.person, now=turn.now, channel=turn.msg.channel
    )
    return show(turn, stopped)


def _incident(turn: Turn, value: str) -> list[Reply] | None:
    outage_id = _number(value)
    if outage_id is None:
        return None
    run = recovery.start_incident_run(
        turn.session, outage_id, turn.person, now=turn.now, channel=turn.msg.channel
    )
    return show(turn, run)


def _ticket(turn: Turn, value: str) -> list[Reply] | None:
    ticket_id = _number(value)
    if ticket_id is None:
        return None
    run = recovery.start_ticket_run(
        turn.session, ticket_id, turn.person, now=turn.now, channel=turn.msg.channel
    )
    return show(turn, run)


def _note(turn: Turn, text: str) -> list[Reply]:
    run_id = turn.data.get("run")
    if not isinstance(run_id, int):
        turn.reset()
        return turn.say(turn.t("recovery.usage"))
    step = recovery.add_note(
        turn.session, run_id, turn.person, text, now=turn.now, channel=turn.msg.channel
    )
    run = recovery.get_run(turn.session, run_id)
    turn.say(turn.t("recovery.noted", n=step.position))
    return show(turn, run)


FLOW = Flow(
    name="recovery",
    commands={("latihanpemulihan", "drill"): start},
    buttons={
        **{prefix: _step_button(prefix) for prefix in ACTIONS},
        "rc:stop": Button(_stop, guard=_coordinator_only),
        "rc:inc": Button(_incident, guard=_coordinator_only),
        "rc:tk": Button(_ticket, guard=_coordinator_only),
    },
    states={WALK: _note, SKIP_NOTE: _skip_note},
)
