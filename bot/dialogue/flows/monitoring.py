"""Chat side of availability and maintenance: /ketersediaan, /pemeliharaan (with its
short guided flow) and the "this service is already known to be down" answer.

Role checks live in bot.core.maintenance, so every channel and the CLI refuse alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from bot.core import availability, catalog, disruptions, maintenance, outages
from bot.core.errors import HelpdeskError, NotAllowed
from bot.core.when import parse_span
from bot.dialogue.flows.subscriptions import service_choice, services_choices
from bot.dialogue.messages import Choice, Reply
from bot.dialogue.router import Button, Flow, TextHandler
from bot.dialogue.turn import Turn
from bot.i18n import fmt_number, fmt_percent
from storage.models import Service, ServiceState, Ticket

#: scheduling maintenance, step by step: which service, when, what users will notice, confirm
SERVICE = "maint_service"
WHEN = "maint_when"
IMPACT = "maint_impact"
CONFIRM = "maint_confirm"
STATES = (SERVICE, WHEN, IMPACT, CONFIRM)

ICONS = {"up": "🟢", "degraded": "🟡", "down": "🔴", "unknown": "⚪", "maintenance": "🛠"}
SCHEDULE_WORDS = {"jadwalkan", "jadwal", "schedule", "tambah", "add", "baru", "new"}
CANCEL_WORDS = {"batal", "batalkan", "cancel"}


def pct(value: float | None, lang: str) -> str:
    """Availability in chat as in the documents: "99,85%" / "99.85%"; "–" without a figure."""
    return "–" if value is None else fmt_percent(value, lang)


def _find_service(turn: Turn, text: str) -> Service | None:
    text = text.strip()
    exact = turn.session.get(Service, text.lower())
    if exact is not None:
        return exact
    found = catalog.search_services(turn.session, text, limit=2)
    if found and (len(found) == 1 or found[0][1] - found[1][1] >= 50):
        return found[0][0]
    return None


# -- /ketersediaan ------------------------------------------------------------------


def availability_command(turn: Turn, query: str) -> list[Reply]:
    if query.strip():
        service = _find_service(turn, query)
        if service is None:
            return turn.say(turn.t("availability.not_found", text=query[:80]))
        return _service_availability(turn, service)
    month = availability.periods(turn.now, turn.timezone)[2]
    figs = availability.figures(turn.session, month.start, month.end, turn.now, turn.timezone)
    reported = disruptions.reported_incidents(turn.session, open_only=True)
    if not figs:
        return turn.say(
            "\n".join([turn.t("availability.none_monitored"), *_reported(turn, reported)])
        )
    states = {st.service_id: st.state for st in turn.session.exec(select(ServiceState))}
    maint = outages.in_maintenance(turn.session, list(figs), turn.now)
    lines = [turn.t("availability.header_all")]
    shown: list[Service] = []
    unmonitored = []
    for svc in catalog.list_services(turn.session):
        f = figs.get(svc.id)
        if f is None:
            unmonitored.append(svc.name)
            continue
        shown.append(svc)
        state = "maintenance" if svc.id in maint else states.get(svc.id, "unknown")
        mark = turn.t("availability.below_target") if f.meets_target is False else ""
        lines.append(
            turn.t(
                "availability.line_all",
                icon=ICONS[state],
                service=svc.name,
                value=pct(f.without_maintenance, turn.lang),
                target=fmt_number(svc.availability_target, turn.lang, 1),
                mark=mark,
            )
        )
    if unmonitored:
        lines.append(turn.t("availability.unmonitored_list", services=", ".join(unmonitored)))
    lines += _reported(turn, reported)
    lines.append(turn.t("availability.hint"))
    return turn.say("\n".join(lines), services_choices(turn, shown))


def _reported(turn: Turn, reported: dict[str, disruptions.Reported]) -> list[str]:
    """Open incidents users reported, per service: for a service nobody monitors, the
    only thing known about its state."""
    lines = []
    for sid, item in reported.items():
        svc = turn.session.get(Service, sid)
        lines.append(
            turn.t(
                "availability.reported_line",
                service=svc.name if svc else sid,
                n=fmt_number(item.count, turn.lang),
                since=turn.dt(item.since),
            )
        )
    return lines


def _service_availability(turn: Turn, service: Service) -> list[Reply]:
    st = turn.session.get(ServiceState, service.id)
    if st is None:
        reported = disruptions.reported_incidents(
            turn.session, service_ids=[service.id], open_only=True
        )
        lines = [turn.t("availability.not_monitored", service=service.name)]
        return turn.say("\n".join([*lines, *_reported(turn, reported)]))
    lines = [
        turn.t(
            "availability.header",
            service=service.name,
            target=fmt_number(service.availability_target, turn.lang, 1),
        )
    ]
    state = (
        "maintenance" if outages.in_maintenance(turn.session, [service.id], turn.now) else st.state
    )
    lines.append(
        turn.t(
            "availability.current",
            icon=ICONS[state],
            state=turn.t(f"status.state.{state}"),
            since=turn.dt(st.since),
        )
    )
    for period in availability.periods(turn.now, turn.timezone):
        f = availability.figures(
            turn.session, period.start, period.end, turn.now, turn.timezone, [service.id]
        ).get(service.id)
        if f is None:
            continue
        mark = turn.t("availability.below_target") if f.meets_target is False else ""
        lines.append(
            turn.t(
                "availability.period_line",
                period=turn.t(f"availability.period.{period.name}"),
                without=pct(f.without_maintenance, turn.lang),
                with_maint=pct(f.with_maintenance, turn.lang),
                mark=mark,
            )
        )
    outage = outages.open_outage_of(turn.session, service.id)
    if outage is not None and not outage.planned:
        ticket = turn.session.get(Ticket, outage.ticket_id) if outage.ticket_id else None
        lines.append(
            turn.t(
                "availability.open_outage",
                since=turn.dt(outage.started_at),
                number=ticket.number if ticket else "-",
            )
        )
    nxt = maintenance.upcoming(turn.session, turn.now, service_id=service.id, limit=1)
    if nxt:
        lines.append(
            turn.t(
                "availability.next_maintenance",
                start=turn.dt(nxt[0].starts_at),
                end=turn.dt(nxt[0].ends_at),
            )
        )
    return turn.say("\n".join(lines), service_choice(turn, service))


# -- /pemeliharaan ------------------------------------------------------------------


def maintenance_command(turn: Turn, rest: str) -> list[Reply]:
    verb, _, tail = rest.strip().partition(" ")
    verb = verb.lower()
    if verb in SCHEDULE_WORDS:
        if not maintenance.may_schedule(turn.person):
            return turn.say(turn.t("maintenance.not_allowed"))
        return one_line(turn, tail.strip()) if tail.strip() else ask_service(turn)
    if verb in CANCEL_WORDS:
        number = tail.strip().lstrip("#")
        if not (number.isascii() and number.isdecimal() and len(number) <= 12):
            return turn.say(turn.t("maintenance.usage_cancel"))
        if turn.person is None or not maintenance.may_schedule(turn.person):
            return turn.say(turn.t("maintenance.not_allowed"))
        window = maintenance.cancel(
            turn.session, turn.person, int(number), now=turn.now, tz=turn.timezone
        )
        return turn.say(turn.t("maintenance.cancelled_done", id=window.id))
    return list_windows(turn)


def list_windows(turn: Turn) -> list[Reply]:
    windows = maintenance.upcoming(turn.session, turn.now)
    lines = [turn.t("maintenance.header")] if windows else [turn.t("maintenance.none")]
    for w in windows:
        d = maintenance.describe(turn.session, w, turn.lang, turn.timezone)
        running = turn.t("maintenance.running") if w.starts_at <= turn.now else ""
        lines.append(turn.t("maintenance.line", running=running, **d))
    choices: list[Choice] = []
    if maintenance.may_schedule(turn.person):
        lines.append(turn.t("maintenance.hint_schedule"))
        choices.append(turn.choice("maintenance.schedule_button", "mw:new"))
    return turn.say("\n".join(lines), choices)


def one_line(turn: Turn, text: str) -> list[Reply]:
    """ "vpn Sabtu 14 Des 22.00–02.00 VPN tidak dapat diakses" (several services: "vpn,email")."""
    head, _, when = text.partition(" ")
    services = []
    for part in head.split(","):
        svc = _find_service(turn, part) if part.strip() else None
        if svc is None:
            return turn.say(turn.t("maintenance.unknown_service", service=part[:60]))
        services.append(svc.id)
    span = parse_span(when, turn.now, turn.timezone)
    if not span.rest:
        turn.go(
            IMPACT,
            keep=False,
            services=services,
            start=span.start.isoformat(),
            end=span.end.isoformat(),
        )
        return turn.say(turn.t("maintenance.ask_impact"), [turn.choice("common.cancel", "cancel")])
    return _create(turn, services, span.start, span.end, span.rest)


def _create(
    turn: Turn, services: list[str], start: datetime, end: datetime, impact: str
) -> list[Reply]:
    window = maintenance.schedule(
        turn.session,
        turn.ensure_person(),
        services,
        start,
        end,
        impact,
        now=turn.now,
        tz=turn.timezone,
    )
    turn.reset()
    return turn.say(
        turn.t(
            "maintenance.scheduled",
            **maintenance.describe(turn.session, window, turn.lang, turn.timezone),
        )
    )


def ask_service(turn: Turn) -> list[Reply]:
    turn.go(SERVICE, keep=False)
    choices = [
        Choice(s.name[:60], f"mw:svc:{s.id}") for s in catalog.list_services(turn.session)[:12]
    ]
    return turn.say(
        turn.t("maintenance.ask_service"), [*choices, turn.choice("common.cancel", "cancel")]
    )


def _ask_when(turn: Turn, service_id: str) -> list[Reply]:
    turn.go(WHEN, keep=False, services=[service_id])
    return turn.say(turn.t("maintenance.ask_when"), [turn.choice("common.cancel", "cancel")])


def _scheduler_only(turn: Turn) -> None:
    """Every maintenance button: a button pressed by someone else is refused outright."""
    if not maintenance.may_schedule(turn.person):
        raise NotAllowed("maintenance.not_allowed")


def _chose_service(turn: Turn, service_id: str) -> list[Reply] | None:
    return _ask_when(turn, service_id) if turn.session.get(Service, service_id) else None


def _confirmed(turn: Turn) -> list[Reply]:
    d = turn.data
    return _create(
        turn,
        d["services"],
        datetime.fromisoformat(d["start"]),
        datetime.fromisoformat(d["end"]),
        d["impact"],
    )


def _typed_by_scheduler(on_text: TextHandler) -> TextHandler:
    """Typed answers inside the guided flow: whoever lost the right meanwhile leaves it."""

    def run(turn: Turn, text: str) -> list[Reply]:
        if not maintenance.may_schedule(turn.person):
            turn.reset()
            return turn.say(turn.t("maintenance.not_allowed"))
        return on_text(turn, text)

    return run


def on_service_text(turn: Turn, text: str) -> list[Reply]:
    svc = _find_service(turn, text)
    if svc is None:
        return turn.say(
            turn.t("maintenance.unknown_service", service=text[:60]),
            [turn.choice("common.cancel", "cancel")],
        )
    return _ask_when(turn, svc.id)


def on_when_text(turn: Turn, text: str) -> list[Reply]:
    try:
        span = parse_span(text, turn.now, turn.timezone)
    except HelpdeskError as exc:
        return turn.say(
            turn.t(exc.key, **exc.params) + "\n" + turn.t("maintenance.ask_when"),
            [turn.choice("common.cancel", "cancel")],
        )
    clash = maintenance.overlapping(turn.session, turn.data["services"], span.start, span.end)
    if clash:
        w, sid = clash[0]
        svc = turn.session.get(Service, sid)
        return turn.say(
            turn.t(
                "maintenance.overlap",
                id=w.id,
                service=svc.name if svc else sid,
                start=turn.dt(w.starts_at),
                end=turn.dt(w.ends_at),
            ),
            [turn.choice("common.cancel", "cancel")],
        )
    turn.update(start=span.start.isoformat(), end=span.end.isoformat())
    if span.rest:
        return _confirm(turn, span.rest)
    turn.go(IMPACT, keep=True)
    return turn.say(turn.t("maintenance.ask_impact"), [turn.choice("common.cancel", "cancel")])


def on_confirm_text(turn: Turn, _text: str) -> list[Reply]:
    return turn.say(turn.t("input.use_choices"))


def _confirm(turn: Turn, impact: str) -> list[Reply]:
    turn.go(CONFIRM, keep=True, impact=impact.strip()[:500])
    names = ", ".join(
        s.name
        for s in turn.session.exec(
            select(Service).where(col(Service.id).in_(turn.data["services"]))
        )
    )
    text = turn.t(
        "maintenance.confirm",
        services=names,
        impact=turn.data["impact"],
        start=turn.dt(datetime.fromisoformat(turn.data["start"])),
        end=turn.dt(datetime.fromisoformat(turn.data["end"])),
    )
    return turn.say(
        text,
        [
            turn.choice("maintenance.confirm_button", "mw:ok"),
            turn.choice("common.cancel", "cancel"),
        ],
    )


# -- the reporting hook -------------------------------------------------------------


def known_outage(turn: Turn, service_id: str | None) -> list[Reply] | None:
    """A user reports an incident for a service we already know is down: say so, note
    them on the open incident, and end the report instead of opening a second ticket."""
    if not service_id:
        return None
    outage = outages.open_outage_of(turn.session, service_id)
    if outage is None or outage.planned or outage.ticket_id is None:
        return None
    service = turn.session.get(Service, service_id)
    ticket = turn.session.get(Ticket, outage.ticket_id)
    person = turn.ensure_person()
    new = outages.attach_reporter(
        turn.session,
        outage,
        person,
        turn.msg.channel,
        turn.msg.chat_id,
        str(turn.data.get("description", "")),
        turn.now,
    )
    turn.reset()
    key = "availability.outage.known_down" if new else "availability.outage.known_down_again"
    return turn.say(
        turn.t(
            key,
            service=service.name if service else service_id,
            since=turn.dt(outage.started_at),
            number=ticket.number if ticket else "-",
        )
    )


FLOW = Flow(
    name="monitoring",
    commands={
        ("ketersediaan", "availability"): availability_command,
        ("pemeliharaan", "maintenance"): maintenance_command,
    },
    buttons={
        "mw:new": Button(lambda turn, _: ask_service(turn), guard=_scheduler_only),
        "mw:svc": Button(_chose_service, states=(SERVICE,), guard=_scheduler_only),
        "mw:ok": Button(lambda turn, _: _confirmed(turn), states=(CONFIRM,), guard=_scheduler_only),
        "mw": Button(lambda turn, _: None, guard=_scheduler_only),  # any other: refused or stale
    },
    states={
        SERVICE: _typed_by_scheduler(on_service_text),
        WHEN: _typed_by_scheduler(on_when_text),
        IMPACT: _typed_by_scheduler(_confirm),
        CONFIRM: _typed_by_scheduler(on_confirm_text),
    },
)
