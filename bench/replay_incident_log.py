"""Replay the real incident log (UCI "Incident management process enriched event log",
Amaral, Fantinato, Reijers, Peres 2018, CC BY 4.0) through the ticket service.

Every incident becomes a ticket opened, taken, held, resolved and closed by the same
core functions a chat turn calls (`bot.core.tickets`), one transaction per incident,
so the figures show what the product costs per ticket, not what raw SQL could do.
The last line of output is one JSON object; progress goes to stderr.

    python bench/replay_incident_log.py [--database-url URL] [--limit N]

Without --database-url the replay runs on a fresh SQLite file in a temporary folder;
a PostgreSQL URL names a server on which a database `bench_<random>` is created,
migrated and dropped at the end, so no other data is touched.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._fresh_db import fresh_database  # noqa: E402
from bot.core import tickets  # noqa: E402
from bot.core.errors import InvalidTransition  # noqa: E402
from bot.core.tickets import Actor  # noqa: E402
from storage.db import session_scope  # noqa: E402
from storage.models import Identity, Notice, Person, Service, ServiceTechnician, Ticket, TicketEvent  # noqa: E402

LOG_ZIP = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "itsm" / "incident_event_log.zip"
)
CHANNEL = "replay"  # audit trail: these changes came from the replay, not from a chat
REPORTER_CHANNEL = "web"  # a pull channel: notices to reporters are written, never sent
MISSING = "?"
HOLD_REASONS = {
    "Awaiting User Info": "Menunggu informasi dari pengguna",
    "Awaiting Evidence": "Menunggu bukti dari pengguna",
    "Awaiting Vendor": "Menunggu tindakan vendor",
    "Awaiting Problem": "Menunggu penyelesaian problem terkait",
}
KNOWN_STATES = {"New", "Active", "Resolved", "Closed", *HOLD_REASONS}
NO_ROOT_CAUSE = "tidak dicatat di log sumber"


@dataclass(frozen=True, slots=True)
class LogEvent:
    number: str
    state: str
    at: datetime
    opened_at: datetime
    mod_count: int
    impact: int
    urgency: int
    priority: int
    group: str
    assigned_to: str
    category: str
    subcategory: str
    symptom: str
    caller: str
    caused_by: str
    closed_code: str
    reopen_count: int


_when_cache: dict[str, datetime] = {}


def parse_when(text: str) -> datetime:
    """The export's d/m/yyyy HH:MM carries no time zone and the source instance's zone is
    unknown (it is not Asia/Jakarta), so the naive wall clock is read as UTC: order and
    durations are kept, which is all the replay needs."""
    value = _when_cache.get(text)
    if value is None:
        date, hm = text.split(" ")
        day, month, year = date.split("/")
        hour, minute = hm.split(":")
        value = datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=UTC)
        _when_cache[text] = value
    return value


def _level(text: str) -> int:
    """ "1 - High", "3 - Moderate" → 1, 3."""
    return int(text.split(" - ", 1)[0])


def read_log(path: Path = LOG_ZIP, limit: int | None = None) -> list[list[LogEvent]]:
    """Incidents in log order, each its events in time order.

    The export lists each incident's events together, so with a limit reading stops at
    the first event of incident limit+1. Events are ordered by time, then sys_mod_count:
    the counter alone is wrong for a few first rows (imported twice), the minute-resolution
    clock alone ties often.
    """
    incidents: dict[str, list[tuple[datetime, int, int, LogEvent]]] = {}
    with zipfile.ZipFile(path) as zf, zf.open(zf.namelist()[0]) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        idx = {name: i for i, name in enumerate(next(reader))}
        for n, row in enumerate(reader):
            number = row[idx["number"]]
            if number not in incidents and limit is not None and len(incidents) >= limit:
                break
            ev = LogEvent(
                number=number, state=row[idx["incident_state"]], at=parse_when(row[idx["sys_updated_at"]]),
                opened_at=parse_when(row[idx["opened_at"]]), mod_count=int(row[idx["sys_mod_count"]]),
                impact=_level(row[idx["impact"]]), urgency=_level(row[idx["urgency"]]),
                priority=_level(row[idx["priority"]]), group=row[idx["assignment_group"]],
                assigned_to=row[idx["assigned_to"]], category=row[idx["category"]],
                subcategory=row[idx["subcategory"]], symptom=row[idx["u_symptom"]], caller=row[idx["caller_id"]],
                caused_by=row[idx["caused_by"]], closed_code=row[idx["closed_code"]],
                reopen_count=int(row[idx["reopen_count"]]),
            )  # fmt: skip
            incidents.setdefault(number, []).append((ev.at, ev.mod_count, n, ev))
    return [[e for *_, e in sorted(events)] for events in incidents.values()]


@dataclass
class Cast:
    """The bench's people and services, derived from the log before the clock starts."""

    operators: dict[str, Person]  # assigned_to → technical manager
    duty: dict[str, Person]  # assignment_group → the group's duty technician
    callers: dict[str, Person]
    services: dict[str, str]  # category → service id

    def operator(self, ev: LogEvent) -> Person:
        """Who acts on this event: the log's assignee, else the group's duty technician."""
        return self.operators.get(ev.assigned_to) or self.duty[ev.group]


def _slug(text: str) -> str:
    return "-".join(text.lower().split())[:40]


def set_up(engine: Engine, incidents: list[list[LogEvent]]) -> Cast:
    """Setup data only (plain inserts): a technical manager per assigned_to, a duty
    technician per assignment group, a pengguna per caller, a service per category whose
    technicians are the people who worked its incidents."""
    names = sorted({e.assigned_to for inc in incidents for e in inc} - {MISSING})
    groups = sorted({e.group for inc in incidents for e in inc})
    callers = sorted({inc[0].caller for inc in incidents})
    categories = sorted({inc[0].category for inc in incidents})
    workers: dict[str, set[str]] = {c: set() for c in categories}
    group_of: dict[str, set[str]] = {c: set() for c in categories}
    for inc in incidents:
        for e in inc:
            if e.assigned_to != MISSING:
                workers[inc[0].category].add(e.assigned_to)
            group_of[inc[0].category].add(e.group)
    services = {c: f"replay-{_slug(c)}" for c in categories}
    skills: dict[str, list[str]] = {}
    for c, ws in workers.items():
        for w in ws:
            skills.setdefault(w, []).append(services[c])
    with session_scope(engine) as s:
        for c in categories:
            label = "tanpa kategori" if c == MISSING else c
            s.add(
                Service(
                    id=services[c], name=f"Replay {label}", provider_unit="replay", keywords=[label]
                )
            )
        operators = {n: Person(name=n, unit="replay", roles=["pengelola_teknis"], skills=skills.get(n, []))
                     for n in names}  # fmt: skip
        duty = {g: Person(name=f"Piket {'tanpa grup' if g == MISSING else g}", unit="replay",
                          roles=["pengelola_teknis"]) for g in groups}  # fmt: skip
        reporters = {c: Person(name=c, unit="replay", roles=["pengguna"]) for c in callers}
        s.add_all([*operators.values(), *duty.values(), *reporters.values()])
        s.flush()
        for prefix, people in (("op", operators), ("duty", duty), ("caller", reporters)):
            for key, p in people.items():
                s.add(
                    Identity(
                        person_id=p.id,
                        channel=REPORTER_CHANNEL,
                        external_id=f"replay-{prefix}:{key}",
                    )
                )
        for c in categories:
            techs = {operators[w].id for w in workers[c]} or {duty[g].id for g in group_of[c]}
            s.add_all(ServiceTechnician(service_id=services[c], person_id=pid) for pid in techs)
    return Cast(operators, duty, reporters, services)


@dataclass
class Stats:
    incidents: int = 0
    events: int = 0
    priority_hits: int = 0
    implicit_takes: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)


def _attempt(
    session: Session, stats: Stats, why: str, step: Callable[..., Any], *args: Any, **kw: Any
) -> bool:
    """One command in a savepoint: a refusal by the core undoes exactly that command (as a
    refused chat turn would) and is counted; the incident's transaction goes on."""
    try:
        with session.begin_nested():
            step(*args, **kw)
        return True
    except InvalidTransition as exc:
        stats.rejected[f"{why} ({exc.key})"] += 1
        return False


def to_log_state(
    session: Session, ticket: Ticket, ev: LogEvent, actor: Actor, stats: Stats
) -> None:
    """The core command(s) an operator gives to move the ticket to the log's new state."""
    now = ev.at
    if ev.state == "Active":
        if ticket.state in (tickets.BARU, tickets.DITUGASKAN):
            tickets.take(session, ticket, actor, now=now)
        elif ticket.state == tickets.SELESAI:
            reason = f"Dibuka kembali menurut log sumber (reopen ke-{ev.reopen_count})"
            tickets.reopen(session, ticket, actor, reason, now=now)
        elif ticket.state != tickets.DIKERJAKAN:
            tickets.start_work(session, ticket, actor, now=now)
    elif ev.state in HOLD_REASONS:
        question = f"{HOLD_REASONS[ev.state]} (log sumber: {ev.state})"
        if ticket.state == tickets.MENUNGGU:  # still waiting, for someone else now
            tickets.comment(session, ticket, actor, question, now=now)
            return
        # Our life cycle holds only a ticket being worked on (baru → menunggu is not a
        # transition), so the operator takes it first, as they would in chat.
        implicit = ticket.state in (tickets.BARU, tickets.DITUGASKAN)
        if implicit:
            tickets.take(session, ticket, actor, now=now)
        tickets.hold_for_user(session, ticket, actor, question, now=now)
        stats.implicit_takes += implicit
    elif ev.state == "Resolved":
        code = "" if ev.closed_code == MISSING else f" (kode penutupan: {ev.closed_code})"
        cause = NO_ROOT_CAUSE if ev.caused_by == MISSING else f"disebabkan oleh {ev.caused_by}"
        tickets.resolve(session, ticket, actor, resolution=f"Diselesaikan menurut log sumber{code}",
                        root_cause=cause, now=now)  # fmt: skip
    elif ev.state == "Closed":
        tickets.close(session, ticket, actor, now=now)


def replay_incident(engine: Engine, cast: Cast, events: list[LogEvent], stats: Stats) -> None:
    first = events[0]
    with session_scope(engine) as s:
        reporter = cast.callers[first.caller]
        title = " / ".join(
            x for x in (first.category, first.subcategory, first.symptom) if x != MISSING
        )
        ticket = tickets.open_ticket(
            s, type_="gangguan", title=title or first.number, description=f"Diimpor dari log sumber {first.number}",
            service_id=cast.services[first.category], impact=first.impact, urgency=first.urgency,
            reporter=reporter, channel=REPORTER_CHANNEL, chat_id=f"replay-caller:{first.caller}",
            category=None if first.category == MISSING else first.category, external_ref=first.number,
            now=first.opened_at,
        )  # fmt: skip
        prev_state, prev_assignee = "New", MISSING
        for ev in events:
            stats.events += 1
            if ev.state not in KNOWN_STATES:
                stats.skipped[f"state {ev.state}"] += 1
                continue
            actor = Actor(cast.operator(ev), CHANNEL)
            if (ev.impact, ev.urgency) != (ticket.impact, ticket.urgency):
                tickets.set_impact_urgency(s, ticket, actor, ev.impact, ev.urgency, now=ev.at)
            if ev.assigned_to not in (MISSING, prev_assignee):
                person, dispatcher = (
                    cast.operators[ev.assigned_to],
                    Actor(cast.duty[ev.group], CHANNEL),
                )
                why = f"reassign while {ev.state}"
                _attempt(s, stats, why, tickets.assign, s, ticket, person, dispatcher, now=ev.at)
                prev_assignee = ev.assigned_to
            if ev.state != prev_state:
                if ev.state == "New":
                    stats.skipped[f"{prev_state}->New (no way back to baru)"] += 1
                else:
                    _attempt(
                        s,
                        stats,
                        f"{prev_state}->{ev.state}",
                        to_log_state,
                        s,
                        ticket,
                        ev,
                        actor,
                        stats,
                    )
                prev_state = ev.state
        stats.incidents += 1
        stats.priority_hits += ticket.priority == events[-1].priority


def replay(
    engine: Engine, incidents: list[list[LogEvent]], *, progress: bool = False
) -> dict[str, Any]:
    """Replay on a migrated database and return the figures (the JSON line's content)."""
    t0 = time.perf_counter()
    cast = set_up(engine, incidents)
    setup_seconds = time.perf_counter() - t0
    stats = Stats()
    start = time.perf_counter()
    for n, events in enumerate(incidents, start=1):
        replay_incident(engine, cast, events, stats)
        if progress and n % 2000 == 0:
            el = time.perf_counter() - start
            line = f"{n} incidents, {stats.events} events, {el:.0f} s, {n / el:.0f}/s"
            print(line, file=sys.stderr, flush=True)
    seconds = time.perf_counter() - start
    with Session(engine) as s:
        ours = select(Ticket.id).where(col(Ticket.external_ref).is_not(None))
        n_tickets = s.exec(select(func.count()).select_from(ours.subquery())).one()
        n_events = s.exec(select(func.count()).where(col(TicketEvent.ticket_id).in_(ours))).one()
        n_notices = s.exec(select(func.count()).select_from(Notice)).one()
    return {
        "backend": engine.dialect.name,
        "incidents": stats.incidents,
        "events": stats.events,
        "tickets": n_tickets,
        "ticket_events": n_events,
        "notices": n_notices,
        "rejected_events": sum(stats.rejected.values()),
        "rejected_by_reason": dict(stats.rejected.most_common()),
        "skipped_events": sum(stats.skipped.values()),
        "skipped_by_reason": dict(stats.skipped.most_common()),
        "implicit_takes": stats.implicit_takes,
        "setup_seconds": round(setup_seconds, 3),
        "seconds": round(seconds, 3),
        "incidents_per_s": round(stats.incidents / seconds, 1) if seconds else None,
        "events_per_s": round(stats.events / seconds, 1) if seconds else None,
        "priority_match": stats.priority_hits / stats.incidents if stats.incidents else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="a PostgreSQL server URL (default: a fresh SQLite file)"
    )
    parser.add_argument("--limit", type=int, help="replay only the first N incidents of the log")
    parser.add_argument("--log", type=Path, default=LOG_ZIP, help="the incident log zip")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    incidents = read_log(args.log, args.limit)
    read_seconds = time.perf_counter() - t0
    print(f"read {len(incidents)} incidents in {read_seconds:.1f} s", file=sys.stderr, flush=True)
    with fresh_database(args.database_url) as (engine, _url):
        result = replay(engine, incidents, progress=True)
    print(json.dumps({**result, "read_seconds": round(read_seconds, 3)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
