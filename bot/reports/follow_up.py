"""What reviews decided, as other reports show it (guideline ch. 3.6 level 5, ch. 10):
the evaluation report of a later period lists the follow-up actions of earlier reviews
with their state and, for a targeted service, its figures frozen at the review beside
the same figures in this period; the exception report counts its deviations by service
and kind and names the actions linked to each ticket or service."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime

from sqlmodel import Session, col, select

from bot import i18n
from bot.core import review_actions, review_figures, reviews
from bot.reports.model import Table
from bot.reports.period import bounds
from storage.models import Person, Review, ReviewAction, ReviewEvent, Service, Ticket

#: how many decimals each measure keeps in a report (as the evaluation report rounds)
DIGITS = {
    "response_sla_pct": 1,
    "resolution_sla_pct": 1,
    "availability_pct": 3,
    "mean_response_h": 2,
    "mean_resolution_h": 2,
}


def _round(measure: str, value: float | int | None) -> float | int | None:
    if value is None or measure not in DIGITS:
        return value
    return round(float(value), DIGITS[measure])


def state_at(events: list[ReviewEvent], at: datetime) -> tuple[str | None, datetime | None]:
    """An action's state at `at` and since when, replayed from its events (in order)."""
    state, since = None, None
    for e in events:
        if e.at < at and e.kind in ("decision", "state") and e.new:
            state, since = e.new, e.at
    return state, since


def target_label(action: ReviewAction, names: dict[str, str], numbers: dict[int, str]) -> str:
    parts = [
        numbers.get(action.ticket_id, "") if action.ticket_id else "",
        names.get(action.service_id, action.service_id) if action.service_id else "",
        action.reference or "",
    ]
    return " · ".join(p for p in parts if p) or "-"


def ticket_numbers(session: Session, actions: list[ReviewAction]) -> dict[int, str]:
    ids = {a.ticket_id for a in actions if a.ticket_id}
    if not ids:
        return {}
    return {
        t.id or 0: t.number for t in session.exec(select(Ticket).where(col(Ticket.id).in_(ids)))
    }


def evaluation_sections(
    session: Session,
    start: date,
    end: date,
    *,
    tz: str,
    now: datetime,
    service_id: str | None = None,
    lang: str = i18n.DEFAULT_LANG,
) -> list[Table]:
    """Follow-up of earlier reviews (those of periods that ended before `start`): the
    actions open at some time in this period or finished in it, with their state at the
    period's end, and before / after figures of the services they targeted. Nothing when
    no earlier review decided anything."""
    lo, hi = bounds(start, end, tz)
    asof = min(hi, now)
    earlier = {r.id: r for r in session.exec(select(Review).where(col(Review.period_end) < start))}
    if not earlier:
        return []
    stmt = select(ReviewAction).where(
        col(ReviewAction.review_id).in_(list(earlier)), col(ReviewAction.created_at) < asof
    )
    if service_id:
        stmt = stmt.where(ReviewAction.service_id == service_id)
    candidates = list(session.exec(stmt.order_by(col(ReviewAction.id))))
    if not candidates:
        return []
    events: dict[int, list[ReviewEvent]] = defaultdict(list)
    for e in session.exec(
        select(ReviewEvent)
        .where(col(ReviewEvent.action_id).in_([a.id for a in candidates]))
        .order_by(col(ReviewEvent.at), col(ReviewEvent.id))
    ):
        events[e.action_id or 0].append(e)
    shown: list[tuple[ReviewAction, str]] = []
    for action in candidates:
        state, since = state_at(events[action.id or 0], asof)
        if state is None:
            continue
        if state in review_actions.FINAL_STATES and (since is None or since < lo):
            continue  # finished before this period: reported in an earlier one
        shown.append((action, state))
    if not shown:
        return []
    names = {s.id: s.name for s in session.exec(select(Service))}
    people = {p.id: p.name for p in session.exec(select(Person))}
    numbers = ticket_numbers(session, [a for a, _ in shown])
    rows = [
        [
            a.id,
            reviews.label(earlier[a.review_id]),
            a.decision,
            people.get(a.owner_id, "-"),
            a.due_on.isoformat(),
            target_label(a, names, numbers),
            i18n.t(f"review.state.{state}", lang),
        ]
        for a, state in shown
    ]
    tables = [
        Table(
            i18n.t("reports.review.follow_up", lang),
            [
                i18n.t(f"reports.review.column.{c}", lang)
                for c in ("action", "review", "decision", "owner", "due", "target", "state")
            ],
            rows,
            note=i18n.t("reports.review.follow_up_note", lang),
            name="follow_up",
        )
    ]
    targeted = [(a, a.service_id) for a, _ in shown if a.service_id]
    if targeted:
        after = review_figures.per_service(
            session, lo, hi, now, tz, sorted({sid for _, sid in targeted})
        )
        effect = []
        for a, sid in targeted:
            before = reviews.frozen(session, a.review_id).get(sid)
            for measure in review_figures.MEASURES:
                effect.append(
                    [
                        a.id,
                        names.get(sid, sid),
                        i18n.t(f"reports.review.measure.{measure}", lang),
                        _round(measure, getattr(before, measure)) if before else None,
                        _round(measure, getattr(after[sid], measure)) if sid in after else None,
                    ]
                )
        tables.append(
            Table(
                i18n.t("reports.review.effect", lang),
                [
                    i18n.t(f"reports.review.column.{c}", lang)
                    for c in ("action", "service", "measure", "before", "after")
                ],
                effect,
                note=i18n.t("reports.review.effect_note", lang),
                name="follow_up_effect",
            )
        )
    return tables


# -- the exception report ----------------------------------------------------------------

#: ticket id → labels of its linked actions; service id → the same
Links = tuple[dict[int, list[str]], dict[str, list[str]]]


def linked_actions(session: Session, lang: str) -> Links:
    """Every review action, as "#12 (terbuka)", by the ticket and the service it targets."""
    by_ticket: dict[int, list[str]] = defaultdict(list)
    by_service: dict[str, list[str]] = defaultdict(list)
    for a in session.exec(select(ReviewAction).order_by(col(ReviewAction.id))):
        text = i18n.t(
            "reports.review.link", lang, id=a.id, state=i18n.t(f"review.state.{a.state}", lang)
        )
        if a.ticket_id:
            by_ticket[a.ticket_id].append(text)
        if a.service_id:
            by_service[a.service_id].append(text)
    return by_ticket, by_service


def follow_up_cell(links: Links, ticket_id: int | None, service_id: str | None) -> str:
    """The actions linked to a ticket, then those linked to its service (each once)."""
    by_ticket, by_service = links
    named = [*by_ticket.get(ticket_id or 0, []), *by_service.get(service_id or "", [])]
    return ", ".join(dict.fromkeys(named)) or "-"


def exception_summary(pairs: list[tuple[str, str]], lang: str) -> Table:
    """How many deviations each service had of each kind: (service, kind) per row."""
    counts = Counter(pairs)
    return Table(
        i18n.t("reports.review.exception_summary", lang),
        [
            i18n.t("reports.column.service", lang),
            i18n.t("reports.column.kind", lang),
            i18n.t("reports.column.count", lang),
        ],
        [[service, kind, n] for (service, kind), n in sorted(counts.items())],
        name="summary",
    )
