"""The review record (dokumen reviu) of a period, evidence of guideline ch. 3.6 levels 4
and 5: each review with its frozen figures, attendees, findings, decisions and the
follow-up actions with their states and every change, as recorded."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot import i18n
from bot.core import review_actions, review_figures, reviews
from bot.reports.follow_up import DIGITS, target_label, ticket_numbers
from bot.reports.model import Report, Table
from storage.models import Person, ReviewAction, ReviewEvent, Service


def _local(value: datetime | None, tz: str) -> str | None:
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if value else None


#: every column the review tables (and the follow-up tables) name
COLUMNS = (
    "action", "review", "period", "state", "opened", "opened_by", "closed", "closed_by",
    "name", "unit", "service", "finding", "by", "decision", "owner", "due", "target",
    "updated", "at", "event", "old", "new", "measure", "before", "after", "follow_up",
)  # fmt: skip


def _headers(lang: str, *names: str) -> list[str]:
    return [i18n.t(f"reports.review.column.{n}", lang) for n in names]


def review_report(
    session: Session,
    start: date,
    end: date,
    *,
    tz: str,
    now: datetime,
    service_id: str | None = None,
    lang: str = i18n.DEFAULT_LANG,
) -> Report:
    """Reviews of a period overlapping [start, end] or held in it; with `service_id`,
    only the findings, actions and figures about that service."""
    held = reviews.of_period(session, start, end, tz)
    names = {s.id: s.name for s in session.exec(select(Service))}
    people = {p.id: p for p in session.exec(select(Person))}

    def who(pid: int | None) -> str:
        return people[pid].name if pid in people else "-"

    def state(value: str) -> str:
        return i18n.t(f"review.state.{value}", lang)

    ids = [r.id for r in held]
    overview, attendees, findings, figures = [], [], [], []
    for r in held:
        rid = r.id or 0
        overview.append(
            [
                rid,
                reviews.label(r),
                state(r.state),
                _local(r.opened_at, tz),
                who(r.opened_by),
                _local(r.closed_at, tz),
                who(r.closed_by) if r.closed_at else None,
            ]
        )
        attendees += [[rid, p.name, p.unit or "-"] for p in reviews.attendees(session, rid)]
        findings += [
            [
                rid,
                names.get(f.service_id, f.service_id) if f.service_id else "-",
                f.text,
                who(f.created_by),
            ]
            for f in reviews.findings(session, rid)
            if not service_id or f.service_id == service_id
        ]
        for sid, f in sorted(
            reviews.frozen(session, rid).items(), key=lambda kv: names.get(kv[0], kv[0])
        ):
            if (service_id and sid != service_id) or not (
                f.tickets or f.availability_pct is not None
            ):
                continue
            figures.append(
                [rid, names.get(sid, sid)]
                + [
                    round(v, DIGITS[m]) if isinstance(v, float) and m in DIGITS else v
                    for m in review_figures.MEASURES
                    for v in [getattr(f, m)]
                ]
            )
    stmt = select(ReviewAction).where(col(ReviewAction.review_id).in_(ids))
    if service_id:
        stmt = stmt.where(ReviewAction.service_id == service_id)
    acts = list(session.exec(stmt.order_by(col(ReviewAction.id)))) if ids else []
    numbers = ticket_numbers(session, acts)
    actions = [
        [
            a.id,
            a.review_id,
            a.decision,
            who(a.owner_id),
            a.due_on.isoformat(),
            target_label(a, names, numbers),
            state(a.state),
            _local(a.updated_at, tz),
        ]
        for a in acts
    ]
    events = [
        [
            e.review_id,
            e.action_id,
            _local(e.at, tz),
            who(e.actor_id),
            i18n.t(f"reports.review.event.{e.kind}", lang),
            state(e.old) if e.old in STATE_VALUES else e.old,
            state(e.new) if e.new in STATE_VALUES else e.new,
        ]
        for e in (
            session.exec(
                select(ReviewEvent)
                .where(col(ReviewEvent.review_id).in_(ids))
                .order_by(col(ReviewEvent.at), col(ReviewEvent.id))
            )
            if ids
            else []
        )
        if not service_id or e.action_id is None or e.action_id in {a.id for a in acts}
    ]
    measures = [i18n.t(f"reports.review.measure.{m}", lang) for m in review_figures.MEASURES]
    report = Report(
        "reviu",
        i18n.t("reports.review.title", lang),
        now,
        start,
        end,
        service_id,
        intro=i18n.t("reports.review.intro", lang),
        sections=[
            Table(
                i18n.t("reports.review.reviews", lang),
                _headers(
                    lang, "review", "period", "state", "opened", "opened_by", "closed", "closed_by"
                ),
                overview,
                name="reviews",
            ),
            Table(
                i18n.t("reports.review.figures", lang),
                _headers(lang, "review", "service") + measures,
                figures,
                note=i18n.t("reports.review.figures_note", lang),
                name="figures",
            ),
            Table(
                i18n.t("reports.review.attendees", lang),
                _headers(lang, "review", "name", "unit"),
                attendees,
                name="attendees",
            ),
            Table(
                i18n.t("reports.review.findings", lang),
                _headers(lang, "review", "service", "finding", "by"),
                findings,
                name="findings",
            ),
            Table(
                i18n.t("reports.review.actions", lang),
                _headers(
                    lang,
                    "action",
                    "review",
                    "decision",
                    "owner",
                    "due",
                    "target",
                    "state",
                    "updated",
                ),
                actions,
                name="actions",
            ),
            Table(
                i18n.t("reports.review.events", lang),
                _headers(lang, "review", "action", "at", "by", "event", "old", "new"),
                events,
                name="events",
            ),
        ],
        lang=lang,
    )
    if not held:
        report.notes.append(i18n.t("reports.review.none", lang))
    return report


#: states a review event's old / new may hold, shown by their label
STATE_VALUES = frozenset({reviews.DIBUKA, reviews.DITUTUP, *review_actions.STATES})
