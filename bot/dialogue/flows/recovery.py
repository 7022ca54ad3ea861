"""Recovery exercises in chat: `/latihanpemulihan LAYANAN` (English `/drill`) walks the
service's recovery plan step by step with Mulai / Selesai / Gagal / Lewati, a typed
note for the step in hand, and the elapsed time against the RTO. The rules (who may,
which step may move) live in bot.core.recovery; the run's id in a button is checked
there, so a forged or stale one changes nothing."""

from __future__ import annotations

from bot.core import recovery
from bot.core.errors import HelpdeskError, NotAllowed
from bot.dialogue.messages import Reply
from bot.dialogue.router import Button, Flow
from bot.dialogue.turn import Turn
from bot.i18n import fmt_number, fmt_percent
from storage.models import RecoveryRun, Service

WALK = "recovery_walk"
STATES = (WALK,)

#: button prefix → core action of the due step
ACTIONS = {"rc:go": "start", "rc:ok": "done", "rc:no": "fail", "rc:skip": "skip"}
LABELS = {
    "start": "recovery.btn_start",
    "done": "recovery.btn_done",
    "fail": "recovery.btn_fail",
    "skip": "recovery.btn_skip",
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
            *(
                [turn.t("recovery.step_active", since=turn.dt(step.started_at))]
                if step.state == recovery.ACTIVE
                else []
            ),
            _clock(turn, run),
            turn.t("recovery.note_hint"),
        ]
    )
    actions = ["start", "skip"] if step.state == recovery.WAITING else ["done", "fail", "skip"]
    choices = [turn.choice(LABELS[a], f"{PREFIX[a]}:{run.id}:{step.position}") for a in actions] + [
        turn.choice("recovery.btn_stop", f"rc:stop:{run.id}")
    ]
    turn.go(WALK, keep=False, run=run.id)
    return turn.say(text, choices)


def _result(turn: Turn, run: RecoveryRun, name: str) -> str:
    if run.outcome == recovery.STOPPED:
        return turn.t("recovery.stopped", service=name)
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
    run = recovery.start_run(turn.session, service_id, turn.person, now=turn.now)
    return show(turn, run)


def _step_button(prefix: str) -> Button:
    def run(turn: Turn, value: str) -> list[Reply] | None:
        run_text, _, pos_text = value.partition(":")
        run_id, position = _number(run_text), _number(pos_text)
        if run_id is None or position is None:
            return None
        moved, _ = recovery.move(
            turn.session, run_id, position, ACTIONS[prefix], turn.person, now=turn.now
        )
        return show(turn, moved)

    return Button(run, guard=_coordinator_only)


def _stop(turn: Turn, value: str) -> list[Reply] | None:
    run_id = _number(value)
    if run_id is None:
        return None
    return show(turn, recovery.stop(turn.session, run_id, turn.person, now=turn.now))


def _incident(turn: Turn, value: str) -> list[Reply] | None:
    outage_id = _number(value)
    if outage_id is None:
        return None
    run = recovery.start_incident_run(turn.session, outage_id, turn.person, now=turn.now)
    return show(turn, run)


def _ticket(turn: Turn, value: str) -> list[Reply] | None:
    ticket_id = _number(value)
    if ticket_id is None:
        return None
    run = recovery.start_ticket_run(turn.session, ticket_id, turn.person, now=turn.now)
    return show(turn, run)


def _note(turn: Turn, text: str) -> list[Reply]:
    run_id = turn.data.get("run")
    if not isinstance(run_id, int):
        turn.reset()
        return turn.say(turn.t("recovery.usage"))
    step = recovery.add_note(turn.session, run_id, turn.person, text)
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
    states={WALK: _note},
)
