"""The public status page (/status, /api/status).

No login: the page shows only what a citizen may see — each service's state, 90 days of
availability bars, ongoing outages (service and since when, no ticket details) and
upcoming maintenance. Indonesian by default, English with ?lang=en.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bot.core import availability, catalog, disruptions, maintenance, outages
from bot.i18n import fmt_dt, fmt_number, fmt_percent, norm_lang, t
from bot.runtime import Helpdesk
from bot.web.status_cache import Snapshot, StatusCache, respond
from storage.db import read_session
from storage.models import Outage, ServiceState, utcnow

log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
DAYS = 90


def _day(d: availability.Day) -> dict[str, Any]:
    value = d.availability
    return {
        "date": d.day.isoformat(),
        "availability": None if value is None else round(value, 3),
        "down_s": int(d.down_s),
        "maintenance_s": int(d.maintenance_s),
        "level": _level(d, value),
    }


def _level(day: availability.Day, value: float | None) -> str:
    if value is None:
        return "nodata"
    if day.down_s > 0:
        return "minor" if value >= 99.0 else "major"
    return "maint" if day.maintenance_s > 0 or day.planned_down_s > 0 else "ok"


def snapshot(engine: Engine, now: datetime, tz: str) -> dict[str, Any]:
    """Everything the page shows, as plain data (also the /api/status body); read beside
    SQLite's writer, not behind it."""
    with read_session(engine) as s:
        return _snapshot(s, now, tz)


def _snapshot(s: Session, now: datetime, tz: str) -> dict[str, Any]:
    services = catalog.list_services(s)
    ids = [svc.id for svc in services]
    states = {st.service_id: st for st in s.exec(select(ServiceState))}
    maint = outages.in_maintenance(s, ids, now)
    zone = ZoneInfo(tz)
    first = datetime.combine(now.astimezone(zone).date() - timedelta(days=DAYS - 1), time(0), zone)
    figs = availability.figures(s, first, now, now, tz)
    bars = availability.daily(s, now, tz, DAYS)
    # an Alertmanager warning is the operators' business, not the public's (settings)
    hidden = set(
        s.exec(
            select(Outage.service_id).where(
                col(Outage.ended_at).is_(None), col(Outage.public).is_(False)
            )
        )
    )
    reported = disruptions.reported_incidents(s, service_ids=ids, open_only=True)
    out_services = []
    for svc in services:
        st = states.get(svc.id)
        state = _state(svc.id in maint, st, svc.id in reported)
        if svc.id in hidden and state in ("down", "degraded"):
            state = "reported" if svc.id in reported else "up"
        f = figs.get(svc.id)
        out_services.append(
            {
                "id": svc.id,
                "name": svc.name,
                "state": state,
                "monitored": st is not None,
                "reported": reported[svc.id].count if svc.id in reported else 0,
                "since": st.since.isoformat() if st else None,
                "target": svc.availability_target,
                "uptime_90d": round(f.without_maintenance, 3)
                if f and f.without_maintenance is not None
                else None,
                "days": [_day(d) for d in bars.get(svc.id, [])],
            }
        )
    names = {svc.id: svc.name for svc in services}
    incidents = [
        {
            "service": o.service_id,
            "service_name": names.get(o.service_id, o.service_id),
            "since": o.started_at.isoformat(),
        }
        for o in s.exec(
            select(Outage)
            .where(col(Outage.ended_at).is_(None), col(Outage.planned).is_(False))
            .where(col(Outage.public).is_(True))
            .order_by(col(Outage.started_at))
        )
    ]
    reports = [
        {
            "service": sid,
            "service_name": names.get(sid, sid),
            "since": item.since.isoformat() if item.since else None,
            "count": item.count,
        }
        for sid, item in reported.items()
    ]
    windows = []
    for w in maintenance.upcoming(s, now, limit=20):
        affected = maintenance.services_of(s, w.id or 0)
        windows.append(
            {
                "id": w.id,
                "services": [x.id for x in affected],
                "service_names": [x.name for x in affected],
                "starts_at": w.starts_at.isoformat(),
                "ends_at": w.ends_at.isoformat(),
                "impact": w.impact,
                "running": w.starts_at <= now,
            }
        )
    return {
        "generated_at": now.isoformat(),
        "overall": _overall(out_services),
        "unmonitored": sum(1 for x in out_services if not x["monitored"]),
        "services": out_services,
        "incidents": incidents,
        "reported": reports,
        "maintenance": windows,
    }


def _state(in_maintenance: bool, st: ServiceState | None, reported: bool) -> str:
    """What the page says of one service. Monitoring's "down" and a running window win;
    otherwise an open incident users reported is a disruption, whether monitoring sees
    the service up or does not watch it at all."""
    if in_maintenance:
        return "maintenance"
    if st is not None and st.state == "down":
        return "down"
    if reported:
        return "reported"
    return st.state if st else "unmonitored"


def _overall(services: list[dict[str, Any]]) -> str:
    """The banner: the worst known state; "unmonitored" when nothing is monitored and
    nothing reported (then nobody knows that all is well)."""
    states = {x["state"] for x in services}
    for state in ("down", "reported", "maintenance", "degraded"):
        if state in states:
            return state
    if services and not any(x["monitored"] for x in services):
        return "unmonitored"
    return "up"


def render_context(data: dict[str, Any], lang: str, tz: str) -> dict[str, Any]:
    """Texts and formatted times for the template; the template itself only loops."""

    def dt(value: str | None) -> str:
        return fmt_dt(datetime.fromisoformat(value), lang, tz) if value else "-"

    def pct(value: float | None) -> str:
        return t("status.no_data", lang) if value is None else fmt_percent(value, lang)

    bar_text = t("status.bar", lang)
    no_data = t("status.no_data", lang)

    def bars_html(days: list[dict[str, Any]]) -> Markup:
        """9,000 bars on a 100-service page: built here, not in Jinja's slower loop."""
        parts = []
        for d in days:
            value = d["availability"]
            shown = no_data if value is None else fmt_percent(value, lang)
            title = escape(bar_text.format(day=d["date"], value=shown))
            parts.append(f'<span class="{d["level"]}" title="{title}"></span>')
        return Markup("".join(parts))

    headline_key = {
        "down": "status.some_down",
        "reported": "status.some_reported",
        "maintenance": "status.some_maintenance",
        "degraded": "status.some_down",
        "unmonitored": "status.none_monitored",
    }.get(data["overall"], "status.monitored_up" if data["unmonitored"] else "status.all_up")
    headline = t(headline_key, lang, n=fmt_number(data["unmonitored"], lang))
    services = []
    for svc in data["services"]:
        services.append(
            {
                **svc,
                "state_text": t(f"status.state.{svc['state']}", lang),
                "uptime_text": t(
                    "status.uptime",
                    lang,
                    value=pct(svc["uptime_90d"]),
                    target=fmt_number(svc["target"], lang, 1),
                )
                if svc["monitored"]
                else "",
                "bars_html": bars_html(svc["days"]) if svc["days"] else None,
            }
        )
    return {
        "lang": lang,
        "t": lambda key, **kw: t(key, lang, **kw),
        "overall": data["overall"],
        "headline": headline,
        "updated": t(
            "status.stale" if data.get("stale") else "status.updated",
            lang,
            at=dt(data["generated_at"]),
        ),
        "services": services,
        "incidents": [
            t("status.incident_line", lang, service=i["service_name"], since=dt(i["since"]))
            for i in data["incidents"]
        ]
        + [
            t("status.reported_line", lang, service=r["service_name"], since=dt(r["since"]))
            for r in data["reported"]
        ],
        "maintenance": [
            {
                **w,
                "names": ", ".join(w["service_names"]),
                "start": dt(w["starts_at"]),
                "end": dt(w["ends_at"]),
            }
            for w in data["maintenance"]
        ],
        "switch_href": "/status" if lang == "en" else "/status?lang=en",
    }


def routes(helpdesk: Helpdesk) -> list[Route]:
    settings = helpdesk.settings
    engine = helpdesk.engine
    tz = settings.timezone

    cache = StatusCache(
        lambda: snapshot(engine, utcnow(), tz), utcnow, ttl=settings.status_cache_seconds
    )
    max_age = f"public, max-age={max(1, round(settings.status_cache_seconds))}"

    async def current() -> Snapshot | None:
        try:
            return await cache.get()
        except Exception as exc:  # never read yet: nothing to show, say so
            log.warning("status page: database unreadable: %s", exc.__class__.__name__)
            return None

    async def page(request: Request) -> Response:
        lang = norm_lang(request.query_params.get("lang"))
        snap = await current()
        if snap is None:
            return PlainTextResponse(t("status.unavailable", lang), status_code=503)
        data = {**snap.data, "stale": snap.stale}
        html = templates.get_template("status.html").render(
            request=request, **render_context(data, lang, tz)
        )
        return respond(
            request, html.encode(), "text/html; charset=utf-8", snap, {"Cache-Control": max_age}
        )

    async def api(request: Request) -> Response:
        snap = await current()
        cors = {"Access-Control-Allow-Origin": "*"}
        if snap is None:
            return JSONResponse({"error": "unavailable"}, status_code=503, headers=cors)
        body = json.dumps({**snap.data, "stale": snap.stale}, ensure_ascii=False).encode()
        return respond(request, body, "application/json", snap, {"Cache-Control": max_age, **cors})

    return [
        Route("/status", page),
        Route("/api/status", api),
    ]
