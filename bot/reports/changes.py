"""The change log of a period (catatan perubahan) for the SPBE evidence pack: every
change request whose window or submission falls in the period, with its kind, state,
approvals (who, what, when), window, result, the incidents opened during its window,
its review and release. Guideline ch. 7.1.5 a asks that changes are recorded,
evaluated, authorised and reviewed: this is that record."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core import change_results, changes, releases
from bot.i18n import DEFAULT_LANG, fmt_dt, t
from bot.reports.model import Report, Table
from bot.reports.period import bounds
from storage.models import ChangeRequest, Person, Service

HEADERS = ("number", "service", "kind", "state", "requester", "approvals", "window", "result",
           "incidents", "review", "release")  # fmt: skip


def changes_in(
    session: Session, start: datetime, end: datetime, service_id: str | None
) -> list[ChangeRequest]:
    """Submitted in the period, or with a window overlapping it."""
    stmt = select(ChangeRequest).where(
        sa.or_(
            sa.and_(col(ChangeRequest.created_at) >= start, col(ChangeRequest.created_at) < end),
            sa.and_(col(ChangeRequest.planned_start) < end, col(ChangeRequest.planned_end) > start),
        )
    )
    if service_id:
        stmt = stmt.where(ChangeRequest.service_id == service_id)
    return list(
        session.exec(stmt.order_by(col(ChangeRequest.planned_start), col(ChangeRequest.id)))
    )


def change_log(
    session: Session,
    start: date,
    end: date,
    *,
    tz: str,
    now: datetime,
    service_id: str | None = None,
    lang: str = DEFAULT_LANG,
) -> Report:
    lo, hi = bounds(start, end, tz)
    names = {s.id: s.name for s in session.exec(select(Service))}
    people = {p.id: p.name for p in session.exec(select(Person))}
    cli = t("changes.cli_actor", lang)
    rows = []
    for c in changes_in(session, lo, hi, service_id):
        decided = "; ".join(
            t(
                "reports.changes.approval",
                lang,
                who=people.get(a.person_id, "?"),
                decision=t(f"reports.changes.decision.{a.decision}", lang),
                at=fmt_dt(a.at, lang, tz),
            )
            for a in changes.approvals(session, c)
        )
        release = releases.release_of(session, c)
        rows.append(
            [
                c.number,
                names.get(c.service_id, c.service_id),
                t(f"changes.kind.{c.kind}", lang),
                t(f"changes.state.{c.state}", lang),
                people.get(c.requested_by, cli) if c.requested_by else cli,
                decided or "-",
                f"{fmt_dt(c.planned_start, lang, tz)} – {fmt_dt(c.planned_end, lang, tz)}",
                t(f"changes.result.{c.result}", lang) if c.result else "-",
                ", ".join(tk.number for tk in change_results.incidents_of(session, c)) or "-",
                (c.review or "-")[:300],
                fmt_dt(release.published_at, lang, tz) if release else "-",
            ]
        )
    table = Table(
        title=t("reports.changes.table", lang),
        headers=[t(f"reports.changes.col.{h}", lang) for h in HEADERS],
        rows=rows,
        note=t("reports.changes.note", lang),
        name="changes",
    )
    return Report(
        kind="changes",
        title=t("reports.kind.changes", lang),
        generated_at=now,
        start=start,
        end=end,
        service=names.get(service_id) if service_id else None,
        intro=t("reports.changes.intro", lang, n=len(rows)),
        sections=[table],
        lang=lang,
    )
