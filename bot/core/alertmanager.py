"""Prometheus Alertmanager webhooks: an agency that already monitors feeds its alerts in.

Each alert names a catalog service by a label (default `service`, matching Service.id).
Its `severity` label says what it does (settings `alertmanager_severities`): critical
opens a P1 outage (down), warning a P3 one (degraded, kept off the public page), info
nothing. The outage stays open while any alert of it fires (tracked by fingerprint) and
closes on the last "resolved"; Alertmanager already waits before firing, so no streak
is applied. Every alert of the group goes into the incident's text (labels,
annotations, the Prometheus link), since that is what the technician works from.

What Alertmanager's own behaviour makes necessary: a lost "resolved" would leave an
outage open for ever, so an outage not repeated within N × the repeat interval expires
(`expire`, a job); an alert that flaps joins the incident its outage had a moment ago
instead of opening one per cycle; alerts for services the catalogue does not know reach
the admins (rate limited), since a silent drop is how a monitored service goes unwatched.

A group of thousands of alerts is one transaction whose queries do not grow with the
alerts: lookups are batched per post, and work is per service.

The body is checked before anything acts on it (`parse`): a webhook is an HTTP surface,
and a body nested thousands deep or with alerts that are not objects must be a 400 for
the sender, not a RecursionError or AttributeError halfway through a transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.config import AlertSeverity, Settings, default_severities
from bot.core import notices, outages, tickets
from bot.core.roles import Role
from bot.core.ticket_states import OPEN_STATES
from bot.i18n import fmt_dt, t
from storage.models import Identity, Outage, Person, Service, ServiceState, Ticket

#: Alertmanager's own payload nests four deep (body, alerts, alert, labels); anything far
#: deeper is not Alertmanager, and is refused before the JSON parser recurses into it
MAX_DEPTH = 16
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(range(256)).translate(None, b"[{]}")
_TEXT_FIELDS = ("status", "startsAt", "endsAt", "fingerprint", "generatorURL")


def _too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than `limit`, brackets in strings aside.
    Stops at the first bracket past the limit, so a deep body costs no more than a flat
    one."""
    depth = 0
    for byte in _STRING.sub(b'""', body).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False


def parse(body: bytes) -> dict[str, Any]:
    """The webhook body as data, or ValueError saying what is wrong with it."""
    if _too_deep(body):
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH}")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise ValueError("invalid JSON") from None
    check(payload)
    return payload


def _strings(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def check(payload: object) -> None:
    """ValueError unless the payload has the shape `ingest` reads: an object whose
    `alerts` is a list of objects, each with labels and annotations mapping to strings."""
    if not isinstance(payload, dict):
        raise ValueError("payload is not an object")
    items = payload.get("alerts")
    if not isinstance(items, list):
        raise ValueError("payload has no 'alerts' list")
    if not isinstance(payload.get("status", ""), str):
        raise ValueError("'status' is not a string")
    for n, alert in enumerate(items):
        if not isinstance(alert, dict):
            raise ValueError(f"alert {n} is not an object")
        for key in ("labels", "annotations"):
            if not _strings(alert.get(key, {})):
                raise ValueError(f"alert {n}: '{key}' is not an object of strings")
        for key in _TEXT_FIELDS:
            if not isinstance(alert.get(key, ""), str):
                raise ValueError(f"alert {n}: '{key}' is not a string")


def _fingerprint(alert: dict[str, Any]) -> str:
    fp = alert.get("fingerprint")
    if isinstance(fp, str) and fp:
        return fp[:64]
    labels = json.dumps(alert.get("labels") or {}, sort_keys=True)
    return hashlib.sha256(labels.encode()).hexdigest()[:16]


def _reason(alert: dict[str, Any]) -> str:
    labels = alert.get("labels") or {}
    notes = alert.get("annotations") or {}
    text = (
        notes.get("summary")
        or notes.get("description")
        or labels.get("alertname")
        or "alertmanager"
    )
    return f"Alertmanager: {text}"[:500]


def _time(value: object, fallback: datetime) -> datetime:
    if not isinstance(value, str) or value.startswith("0001-"):
        return fallback
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


#: alerts listed in an incident's text; a group of thousands is summarised past these
MAX_LISTED = 50
_DOWN_FIRST = {"down": 0, "degraded": 1}


@dataclass(frozen=True)
class Rules:
    """The settings ingest reads, so the core needs no Settings object in tests."""

    label: str = "service"
    severities: Mapping[str, AlertSeverity] = field(default_factory=default_severities)
    default_severity: str = "critical"
    reopen_window: timedelta = timedelta(hours=1)
    notice_interval: timedelta = timedelta(hours=1)
    policy: outages.Policy = field(default_factory=outages.Policy)

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            label=settings.alertmanager_label,
            severities=settings.alertmanager_severities,
            default_severity=settings.alertmanager_default_severity,
            reopen_window=timedelta(seconds=settings.alertmanager_reopen_window_seconds),
            notice_interval=timedelta(seconds=settings.alertmanager_notice_interval_seconds),
            policy=outages.Policy(
                settings.probe_down_after, settings.probe_up_after, settings.timezone
            ),
        )

    def severity(self, alert: dict[str, Any]) -> AlertSeverity:
        name = (alert.get("labels") or {}).get("severity", "").lower()
        found = self.severities.get(name) or self.severities.get(self.default_severity)
        return found or AlertSeverity(state="down", priority=1, public=True)


def _status(alert: dict[str, Any], payload: dict[str, Any]) -> str:
    return str(alert.get("status") or payload.get("status") or "")


def details(alerts: list[dict[str, Any]], lang: str = "id") -> str:
    """The alerts as the incident's text: name, severity, labels, annotations, link."""
    lines = [t("alertmanager.details_header", lang, count=len(alerts))]
    for alert in alerts[:MAX_LISTED]:
        labels = alert.get("labels") or {}
        notes = alert.get("annotations") or {}
        since = _time(alert.get("startsAt"), datetime.min.replace(tzinfo=UTC))
        lines.append(
            t(
                "alertmanager.alert_line",
                lang,
                name=labels.get("alertname", "-"),
                severity=labels.get("severity", "-"),
                status=alert.get("status", "-"),
                since=fmt_dt(since, lang) if since.year > 1 else "-",
            )
        )
        if labels:
            pairs = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
            lines.append(t("alertmanager.labels", lang, labels=pairs[:1000]))
        if notes:
            pairs = "; ".join(f"{k}: {v}" for k, v in sorted(notes.items()))
            lines.append(t("alertmanager.annotations", lang, annotations=pairs[:2000]))
        if alert.get("generatorURL"):
            lines.append(t("alertmanager.source", lang, url=str(alert["generatorURL"])[:1000]))
    if len(alerts) > MAX_LISTED:
        lines.append(t("alertmanager.more", lang, count=len(alerts) - MAX_LISTED))
    return "\n".join(lines)


@dataclass
class _Batch:
    """What one post needs from the database, read in a fixed number of queries."""

    services: dict[str, Service]
    states: dict[str, ServiceState]
    open_: dict[str, Outage]
    recent: dict[str, Outage]
    tickets: dict[int, Ticket]


def _load(session: Session, ids: list[str], now: datetime, window: timedelta) -> _Batch:
    # the catalogue is tens of services, a post may name thousands of unknown ones: read
    # the catalogue rather than bind thousands of parameters
    wanted = set(ids)
    services = {s.id: s for s in session.exec(select(Service)) if s.id in wanted}
    known = list(services)
    states = {
        st.service_id: st
        for st in session.exec(select(ServiceState).where(col(ServiceState.service_id).in_(known)))
    }
    open_: dict[str, Outage] = {}
    for o in session.exec(
        select(Outage)
        .where(col(Outage.ended_at).is_(None), col(Outage.service_id).in_(known))
        .order_by(col(Outage.id))
    ):
        open_[o.service_id] = o  # the newest wins, as outages.open_outage_of
    recent: dict[str, Outage] = {}
    for o in session.exec(
        select(Outage)
        .where(
            col(Outage.service_id).in_(known),
            Outage.source == "alertmanager",
            col(Outage.ended_at) >= now - window,
            col(Outage.ticket_id).is_not(None),
        )
        .order_by(col(Outage.ended_at))
    ):
        recent[o.service_id] = o
    ticket_ids = [o.ticket_id for o in [*open_.values(), *recent.values()] if o.ticket_id]
    found: dict[int, Ticket] = {}
    if ticket_ids:
        found = {
            tk.id or 0: tk
            for tk in session.exec(select(Ticket).where(col(Ticket.id).in_(ticket_ids)))
        }
    return _Batch(services, states, open_, recent, found)


def ingest(
    session: Session,
    payload: dict[str, Any],
    now: datetime,
    *,
    rules: Rules | None = None,
) -> dict[str, list[str]]:
    """Apply one webhook; returns which services opened, closed, which alerts named no
    known service (ignored) and which services had alerts that open nothing (info)."""
    check(payload)
    rules = rules or Rules()
    result: dict[str, list[str]] = {"opened": [], "closed": [], "ignored": [], "info": []}
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in payload["alerts"]:
        groups.setdefault(str((alert.get("labels") or {}).get(rules.label, "")), []).append(alert)
    batch = _load(session, [sid for sid in groups if sid], now, rules.reopen_window)
    for service_id, items in groups.items():
        service = batch.services.get(service_id)
        if service is None:
            result["ignored"].extend([service_id or "?"] * len(items))
            continue
        _apply(session, service, items, payload, now, rules, batch, result)
    if result["ignored"]:
        tell_admins(
            session,
            "unknown_service",
            now,
            rules.notice_interval,
            count=len(result["ignored"]),
            label=rules.label,
            services=", ".join(sorted(set(result["ignored"])))[:1000],
        )
    session.flush()
    return result


def _apply(
    session: Session,
    service: Service,
    items: list[dict[str, Any]],
    payload: dict[str, Any],
    now: datetime,
    rules: Rules,
    batch: _Batch,
    result: dict[str, list[str]],
) -> None:
    """One service's alerts of the post: open, extend, escalate or resolve its outage."""
    firing: dict[str, tuple[dict[str, Any], AlertSeverity]] = {}
    resolved: dict[str, dict[str, Any]] = {}
    for alert in items:
        status, fp = _status(alert, payload), _fingerprint(alert)
        if status == "firing":
            sev = rules.severity(alert)
            if sev.state is None:
                result["info"].append(service.id)
                continue
            firing[fp] = (alert, sev)
            resolved.pop(fp, None)
        elif status == "resolved":
            resolved[fp] = alert
            firing.pop(fp, None)
    outage = batch.open_.get(service.id)
    if outage is not None and outage.source != "alertmanager":
        return  # the probes' outage; they close it
    worst = min(
        (sev for _, sev in firing.values()), key=lambda s: _DOWN_FIRST[s.state or ""], default=None
    )
    if outage is None and worst is None:
        return  # nothing open, nothing to open (info, or a resolved nobody saw fire)
    st = batch.states.get(service.id) or outages.state_of(session, service.id, now)
    if (
        outage is not None
        and worst is not None
        and worst.state == "down"
        and outage.state != "down"
    ):
        # a warning's outage turns into a critical one: the down time starts now, and
        # the warning's incident points at the new one
        _close(session, st, outage, now, now, rules, result, recovered=False)
        opened = _open(session, service, st, firing, worst, now, rules, batch, result)
        _point_to(session, batch.tickets.get(outage.ticket_id or 0), opened, now)
        return
    if outage is None:
        if worst is not None:
            _open(session, service, st, firing, worst, now, rules, batch, result)
        return
    keys = set(outage.external_keys)
    joined = [alert for fp, (alert, _) in firing.items() if fp not in keys]
    keys = (keys | set(firing)) - set(resolved)
    if firing:
        outage.last_seen_at = now
    ticket = batch.tickets.get(outage.ticket_id or 0)
    if joined and ticket is not None and ticket.state in OPEN_STATES:
        note = f"{t('alertmanager.joined')}\n{details(joined)}"
        tickets.comment(session, ticket, tickets.SYSTEM, note, now=now)
    if keys:
        outage.external_keys = sorted(keys)
        session.add(outage)
        return
    ends = [_time(a.get("endsAt"), now) for a in resolved.values()]
    at = max(min(max(ends, default=now), now), outage.started_at)
    _close(session, st, outage, at, now, rules, result)


def _open(
    session: Session,
    service: Service,
    st: ServiceState,
    firing: dict[str, tuple[dict[str, Any], AlertSeverity]],
    worst: AlertSeverity,
    now: datetime,
    rules: Rules,
    batch: _Batch,
    result: dict[str, list[str]],
) -> Outage:
    alerts = [alert for alert, _ in firing.values()]
    at = min(min((_time(a.get("startsAt"), now) for a in alerts), default=now), now)
    planned = service.id in outages.in_maintenance(session, [service.id], at)
    recent = batch.recent.get(service.id)
    linked = None
    if recent is not None and recent.state == worst.state:  # flapping: the same incident
        ticket = batch.tickets.get(recent.ticket_id or 0)
        linked = ticket if ticket is not None and ticket.state in OPEN_STATES else None
    reason = _reason(alerts[0])
    assert worst.state is not None
    outages.record_change(session, st, worst.state, at, source="alertmanager", reason=reason)
    outage = outages.open_outage(
        session,
        st,
        at,
        source="alertmanager",
        cause=reason,
        planned=planned,
        external_keys=sorted(firing),
        opening=outages.Opening(
            state=worst.state,
            priority=worst.priority,
            public=worst.public,
            details=details(alerts),
            ticket=linked,
        ),
    )
    session.flush()
    result["opened"].append(service.id)
    return outage


def _point_to(session: Session, old: Ticket | None, outage: Outage, now: datetime) -> None:
    new = session.get(Ticket, outage.ticket_id) if outage.ticket_id else None
    if old is None or new is None or old.id == new.id or old.state not in OPEN_STATES:
        return
    note = t("alertmanager.escalated", number=new.number)
    tickets.comment(session, old, tickets.SYSTEM, note, now=now)


def _close(
    session: Session,
    st: ServiceState,
    outage: Outage,
    at: datetime,
    now: datetime,
    rules: Rules,
    result: dict[str, list[str]],
    *,
    recovered: bool = True,
) -> None:
    if recovered:
        outages.record_change(session, st, "up", at, source="alertmanager", reason=outage.cause)
    st.outage_id = outage.id
    outages.close_outage(session, st, at, tz=rules.policy.timezone, recovered=recovered)
    if recovered:
        result["closed"].append(outage.service_id)


def expire(session: Session, now: datetime, after: timedelta, *, tz: str) -> list[str]:
    """Close Alertmanager outages not repeated for `after`: their "resolved" was lost
    (Alertmanager repeats a firing alert every repeat interval). Returns the services."""
    stale = session.exec(
        select(Outage).where(
            col(Outage.ended_at).is_(None),
            Outage.source == "alertmanager",
            sa.func.coalesce(col(Outage.last_seen_at), col(Outage.started_at)) < now - after,
        )
    ).all()
    closed = []
    for outage in stale:
        st = outages.state_of(session, outage.service_id, now)
        service = session.get(Service, outage.service_id)
        ticket = session.get(Ticket, outage.ticket_id) if outage.ticket_id else None
        if ticket is not None and ticket.state in OPEN_STATES:
            note = t(
                "availability.outage.expired_note",
                service=service.name if service else outage.service_id,
                at=fmt_dt(now),
            )
            tickets.comment(session, ticket, tickets.SYSTEM, note, now=now)
        outages.record_change(session, st, "up", now, source="alertmanager", reason="expired")
        st.outage_id = outage.id
        outages.close_outage(session, st, now, tz=tz)
        closed.append(outage.service_id)
    session.flush()
    return closed


def admin_chats(session: Session) -> list[Identity]:
    ids = [p.id for p in session.exec(select(Person)) if Role.ADMIN.value in (p.roles or [])]
    if not ids:
        return []
    return list(
        session.exec(
            select(Identity).where(col(Identity.person_id).in_(ids)).order_by(col(Identity.id))
        )
    )


def tell_admins(
    session: Session, kind: str, now: datetime, interval: timedelta, **params: object
) -> int:
    """One notice per admin chat per `interval` and kind (the dedupe key carries the
    interval's number), so a misconfigured Alertmanager posting every few seconds is
    one message an hour, not thousands. Returns how many were queued."""
    bucket = int(now.timestamp() // max(1.0, interval.total_seconds()))
    queued = 0
    for ident in admin_chats(session):
        person = session.get(Person, ident.person_id)
        lang = person.lang if person and person.lang else "id"
        queued += notices.enqueue(
            session,
            channel=ident.channel,
            target=ident.external_id,
            kind="alertmanager.notice",
            payload={"text": t(f"alertmanager.notice.{kind}", lang, **params)},
            dedupe_key=f"alertmanager:{kind}:{bucket}:{ident.channel}:{ident.external_id}",
            now=now,
        )
    return queued
