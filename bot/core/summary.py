"""On-demand status summary for coordinators and service managers (`/ringkasan`).

Every figure is one aggregate query over indexed columns, so the answer stays fast with
100,000 tickets: open tickets by priority and state, SLA at risk and breached,
unacknowledged alerts, availability now and over 7 days, upcoming maintenance and this
week's most frequent categories; optionally narrowed to one service or unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.core import availability, catalog, trends
from bot.core.roles import SUMMARY_ROLES, has_any
from bot.core.ticket_states import OPEN_STATES
from bot.i18n import fmt_dt, fmt_number, fmt_percent, t
from storage.models import (
    Alert,
    MaintenanceService,
    MaintenanceWindow,
    Person,
    Service,
    ServiceState,
    Ticket,
)


@dataclass
class Summary:
    scope: str | None
    service_ids: list[str] | None
    open_by_priority: dict[int, int] = field(default_factory=dict)
    open_by_state: dict[str, int] = field(default_factory=dict)
    at_risk: int = 0
    breached: int = 0
    unacked_alerts: int = 0
    states: dict[str, str] = field(default_factory=dict)
    week_availability: dict[str, float | None] = field(default_factory=dict)
    targets: dict[str, float] = field(default_factory=dict)
    maintenance: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    top_categories: list[tuple[str, int]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    #: last week and this week so far, like for like (`trends.week_to_date`); None: not built
    week_trend: list[trends.Figures] | None = None

    @property
    def open_total(self) -> int:
        return sum(self.open_by_priority.values())


def may_ask(person: Person | None) -> bool:
    return has_any(person, SUMMARY_ROLES)


def scope_for(session: Session, text: str) -> tuple[str | None, list[str] | None]:
    """An argument names a service (fuzzy) or a provider unit; empty means everything."""
    text = text.strip()
    if not text:
        return None, None
    services = catalog.list_services(session)
    units = {s.provider_unit for s in services}
    for unit in units:
        if text.lower() in unit.lower():
            return unit, [s.id for s in services if s.provider_unit == unit]
    found = catalog.search_services(session, text, limit=1)
    if found:
        return found[0][0].name, [found[0][0].id]
    return text, []


#: any SELECT: `narrow` keeps the statement's row type
_Select = TypeVar("_Select", bound="sa.Select[*tuple[Any, ...]]")


#: a scope as `scope_for` resolved it: its canonical name and service ids (None: all)
Scope = tuple[str | None, list[str] | None]


def build(
    session: Session, now: datetime, tz: str, argument: str = "", *, resolved: Scope | None = None
) -> Summary:
    """The summary of the scope `argument` names, or of the scope already `resolved`
    (the public chart draws what its cache key stands for, whatever the spelling was)."""
    scope, ids = resolved if resolved is not None else scope_for(session, argument)
    out = Summary(scope, ids, names={s.id: s.name for s in session.exec(select(Service))})

    def narrow(stmt: _Select, column: Any) -> _Select:
        return stmt if ids is None else stmt.where(col(column).in_(ids))

    open_ = col(Ticket.state).in_(OPEN_STATES)
    for prio, state, n in session.execute(
        narrow(
            sa.select(col(Ticket.priority), col(Ticket.state), sa.func.count()).where(open_),
            Ticket.service_id,
        ).group_by(col(Ticket.priority), col(Ticket.state))
    ).all():
        out.open_by_priority[prio] = out.open_by_priority.get(prio, 0) + n
        out.open_by_state[state] = out.open_by_state.get(state, 0) + n
    running = sa.and_(open_, col(Ticket.sla_paused_at).is_(None))
    response_open = col(Ticket.acknowledged_at).is_(None)
    breached = sa.or_(
        sa.and_(response_open, col(Ticket.response_due_at) < now),
        col(Ticket.resolution_due_at) < now,
    )
    at_risk = sa.and_(
        sa.not_(breached),
        sa.or_(
            sa.and_(response_open, col(Ticket.response_risk_at) <= now),
            col(Ticket.resolution_risk_at) <= now,
        ),
    )
    out.breached = session.execute(
        narrow(sa.select(sa.func.count()).where(open_, breached), Ticket.service_id)
    ).scalar_one()
    out.at_risk = session.execute(
        narrow(sa.select(sa.func.count()).where(running, at_risk), Ticket.service_id)
    ).scalar_one()
    out.unacked_alerts = session.execute(
        narrow(
            sa.select(sa.func.count()).where(col(Alert.acknowledged_at).is_(None)), Alert.service_id
        )
    ).scalar_one()
    out.states = dict(
        session.execute(
            narrow(
                sa.select(col(ServiceState.service_id), col(ServiceState.state)),
                ServiceState.service_id,
            )
        ).all()
    )
    # the last 7 × 24 hours, [now − 7 days, now): the figures cut both edges exactly
    for sid, figures in availability.figures(
        session, now - timedelta(days=7), now, now, tz, ids
    ).items():
        out.week_availability[sid] = figures.without_maintenance
        out.targets[sid] = figures.target
    upcoming = (
        select(MaintenanceWindow)
        .where(col(MaintenanceWindow.ends_at) > now, col(MaintenanceWindow.cancelled_at).is_(None))
        .order_by(col(MaintenanceWindow.starts_at))
        .limit(3)
    )
    if ids is not None:
        upcoming = upcoming.where(
            col(MaintenanceWindow.id).in_(
                select(MaintenanceService.window_id).where(
                    col(MaintenanceService.service_id).in_(ids)
                )
            )
        )
    for w in session.exec(upcoming):
        out.maintenance.append((w.starts_at, w.ends_at, w.impact))
    local = now.astimezone(ZoneInfo(tz))
    monday = (local - timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    label = sa.func.coalesce(Ticket.category, Ticket.service_id, "-")
    out.top_categories = [
        (out.names.get(c, c), n)
        for c, n in session.execute(
            narrow(
                sa.select(label, sa.func.count()).where(col(Ticket.created_at) >= monday),
                Ticket.service_id,
            )
            .group_by(label)
            .order_by(sa.func.count().desc())
            .limit(3)
        ).all()
    ]
    out.week_trend = trends.compute(
        session, trends.week_to_date(now, tz), now, tz, ids, with_availability=False
    ).total
    return out


def render(s: Summary, lang: str, tz: str, now: datetime) -> str:
    """The summary as chat lines: always the open tickets, SLA and alerts; the services,
    availability, maintenance and categories only when there is something to say."""
    header = t(
        "summary.header",
        lang,
        at=fmt_dt(now, lang, tz),
        scope=f" · {s.scope}" if s.scope else "",
    )
    if s.service_ids == []:
        return header + "\n" + t("summary.scope_unknown", lang, text=s.scope or "")
    lines = [header, _open_line(s, lang)]
    lines += _optional(_by_state_line(s, lang))
    lines.append(t("summary.sla", lang, at_risk=s.at_risk, breached=s.breached))
    lines.append(t("summary.alerts", lang, n=s.unacked_alerts))
    lines += _optional(
        _services_now_line(s, lang),
        _week_line(s, lang),
        _maintenance_line(s, lang, tz),
        _categories_line(s, lang),
        _trend_line(s, lang),
    )
    return "\n".join(lines)


def _optional(*lines: str | None) -> list[str]:
    return [line for line in lines if line is not None]


def _open_line(s: Summary, lang: str) -> str:
    prio = " · ".join(f"P{p}: {s.open_by_priority.get(p, 0)}" for p in (1, 2, 3, 4))
    return t("summary.open", lang, total=s.open_total, by_priority=prio)


def _by_state_line(s: Summary, lang: str) -> str | None:
    """Open tickets per state, the largest first."""
    if not s.open_by_state:
        return None
    states = ", ".join(
        f"{t(f'state.{k}', lang)} {v}"
        for k, v in sorted(s.open_by_state.items(), key=lambda kv: -kv[1])
    )
    return t("summary.by_state", lang, states=states)


def _services_now_line(s: Summary, lang: str) -> str | None:
    """How many services are up, and which are down or degraded, by name."""
    if not s.states:
        return None

    def named(state: str) -> str:
        return ", ".join(s.names.get(k, k) for k, v in s.states.items() if v == state) or "-"

    return t(
        "summary.now",
        lang,
        up=sum(1 for v in s.states.values() if v == "up"),
        total=len(s.states),
        down=named("down"),
        degraded=named("degraded"),
    )


def _week_line(s: Summary, lang: str) -> str | None:
    """The five services least available over 7 days (those with a figure)."""
    if not s.week_availability:
        return None
    worst = sorted(((v, k) for k, v in s.week_availability.items() if v is not None))[:5]
    items = ", ".join(f"{s.names.get(k, k)} {fmt_percent(v, lang)}" for v, k in worst) or "-"
    return t("summary.week", lang, items=items)


def _maintenance_line(s: Summary, lang: str, tz: str) -> str | None:
    if not s.maintenance:
        return None
    items = "; ".join(
        f"{fmt_dt(a, lang, tz)}–{fmt_dt(b, lang, tz)} {impact}".strip()
        for a, b, impact in s.maintenance
    )
    return t("summary.maintenance", lang, items=items)


def _categories_line(s: Summary, lang: str) -> str | None:
    if not s.top_categories:
        return None
    items = ", ".join(f"{c} ({n})" for c, n in s.top_categories)
    return t("summary.categories", lang, items=items)


def _trend_line(s: Summary, lang: str) -> str | None:
    """This week against the same stretch of last week: "Tiket baru 12 (↑3 vs minggu
    lalu) · …", so a coordinator sees the direction, not only the level."""
    if not s.week_trend:
        return None
    before, now = s.week_trend
    return t(
        "summary.trend",
        lang,
        tickets=fmt_number(now.tickets, lang),
        tickets_change=_arrow(now.tickets, before.tickets, lang, 0),
        response=fmt_percent(now.response_sla_pct, lang, 1),
        response_change=_arrow(now.response_sla_pct, before.response_sla_pct, lang, 1),
        resolution=fmt_percent(now.resolution_sla_pct, lang, 1),
        resolution_change=_arrow(now.resolution_sla_pct, before.resolution_sla_pct, lang, 1),
        hours=fmt_number(now.mean_resolution_h, lang, 2),
        hours_change=_arrow(now.mean_resolution_h, before.mean_resolution_h, lang, 2),
    )


def _arrow(
    current: float | int | None, previous: float | int | None, lang: str, digits: int
) -> str:
    """ "↑3", "↓1,5" or "="; "–" when one of the weeks has no figure to compare."""
    diff = trends.change(current, previous)
    if diff is None:
        return "–"
    if diff == 0:
        return "="
    size = abs(diff)
    shown = fmt_number(size, lang) if isinstance(size, int) else fmt_number(size, lang, digits)
    return ("↑" if diff > 0 else "↓") + shown
