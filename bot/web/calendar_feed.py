"""GET /maintenance.ics: the maintenance windows as an iCalendar feed (RFC 5545), public
like the status page, so staff subscribe in the calendar they already use and see
planned downtime beside their meetings; `?service=ID` gives one service's windows.

Each window is one VEVENT whose UID is built from the window's id and this helpdesk's
host, so a calendar updates the event in place rather than adding a copy; a cancelled
window stays in the feed with STATUS:CANCELLED and a higher SEQUENCE, which is how a
calendar learns to strike it out. Times are written in UTC, which every client reads.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.i18n import t
from bot.runtime import Helpdesk
from storage.models import MaintenanceService, MaintenanceWindow, Service, utcnow

PATH = "/maintenance.ics"
#: windows that ended this long ago drop out of the feed; calendars keep what they saw
PAST = timedelta(days=90)
MAX_EVENTS = 500


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def build(session: Session, now: datetime, host: str, service_id: str | None = None) -> bytes:
    """The feed's bytes; `service_id` must name a catalogued service (the caller checks)."""
    stmt = select(MaintenanceWindow).where(col(MaintenanceWindow.ends_at) > now - PAST)
    if service_id:
        stmt = stmt.join(
            MaintenanceService, col(MaintenanceService.window_id) == col(MaintenanceWindow.id)
        ).where(MaintenanceService.service_id == service_id)
    windows = list(session.exec(stmt.order_by(col(MaintenanceWindow.starts_at)).limit(MAX_EVENTS)))
    names: dict[int, list[str]] = {}
    if windows:
        rows = session.execute(
            select(MaintenanceService.window_id, Service.name)
            .join(Service, col(Service.id) == col(MaintenanceService.service_id))
            .where(col(MaintenanceService.window_id).in_([w.id for w in windows]))
            .order_by(col(Service.name))
        ).all()
        for window_id, name in rows:
            names.setdefault(window_id, []).append(name)
    cal = Calendar()
    cal.add("prodid", "-//SPBE Helpdesk//maintenance//ID")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", t("calendar.name"))
    for w in windows:
        services = ", ".join(names.get(w.id or 0, [])) or "-"
        event = Event()
        event.add("uid", f"maintenance-{w.id}@{host}")
        event.add("dtstamp", _utc(w.cancelled_at or w.created_at))
        event.add("created", _utc(w.created_at))
        event.add("last-modified", _utc(w.cancelled_at or w.created_at))
        event.add("dtstart", _utc(w.starts_at))
        event.add("dtend", _utc(w.ends_at))
        event.add("summary", t("calendar.summary", services=services))
        event.add(
            "description", t("calendar.description", services=services, impact=w.impact or "-")
        )
        event.add("status", "CANCELLED" if w.cancelled_at else "CONFIRMED")
        event.add("sequence", 1 if w.cancelled_at else 0)
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()


def routes(helpdesk: Helpdesk) -> list[Route]:
    host = urlsplit(helpdesk.settings.public_url).hostname or "helpdesk"

    async def feed(request: Request) -> Response:
        service_id = request.query_params.get("service", "")[:64] or None

        def render() -> bytes | None:
            with Session(helpdesk.engine) as s:
                if service_id and s.get(Service, service_id) is None:
                    return None
                return build(s, utcnow(), host, service_id)

        body = await asyncio.to_thread(render)
        if body is None:
            return Response(status_code=404)
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={
                "Cache-Control": "public, max-age=300",
                "Content-Disposition": 'inline; filename="maintenance.ics"',
            },
        )

    return [Route(PATH, feed)]
