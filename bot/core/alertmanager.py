"""Prometheus Alertmanager webhooks: an agency that already monitors feeds its alerts in.

Each alert names a catalog service by a label (default `service`, matching Service.id).
Firing opens an outage exactly as our probes do (incident, alert, coordinators); the
outage stays open while any alert of it fires (tracked by fingerprint) and closes on the
last "resolved". Alertmanager already waits before firing, so no streak is applied.

The body is checked before anything acts on it (`parse`): a webhook is an HTTP surface,
and a body nested thousands deep or with alerts that are not objects must be a 400 for
the sender, not a RecursionError or AttributeError halfway through a transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from bot.core import outages
from storage.models import Outage, Service

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


def ingest(
    session: Session,
    payload: dict[str, Any],
    now: datetime,
    *,
    label: str = "service",
    policy: outages.Policy | None = None,
) -> dict[str, list[str]]:
    """Apply one webhook; returns which services opened, closed, and which alerts were ignored."""
    check(payload)
    policy = policy or outages.Policy()
    result: dict[str, list[str]] = {"opened": [], "closed": [], "ignored": []}
    for alert in payload["alerts"]:
        service_id = str((alert.get("labels") or {}).get(label, ""))
        service = session.get(Service, service_id) if service_id else None
        if service is None:
            result["ignored"].append(service_id or "?")
            continue
        fp = _fingerprint(alert)
        status = alert.get("status") or payload.get("status")
        st = outages.state_of(session, service.id, now)
        open_ = outages.open_outage_of(session, service.id)
        if status == "firing":
            if open_ is None:
                at = min(_time(alert.get("startsAt"), now), now)
                planned = service.id in outages.in_maintenance(session, [service.id], at)
                outages.change(
                    session,
                    st,
                    "down",
                    at,
                    source="alertmanager",
                    reason=_reason(alert),
                    planned=planned,
                    tz=policy.timezone,
                    external_key=fp,
                )
                result["opened"].append(service.id)
            elif open_.source == "alertmanager" and fp not in open_.external_keys:
                open_.external_keys = [*open_.external_keys, fp]
                session.add(open_)
        elif status == "resolved" and open_ is not None and open_.source == "alertmanager":
            _resolve(session, st, open_, fp, alert, now, policy, result)
    session.flush()
    return result


def _resolve(
    session: Session,
    st: Any,
    outage: Outage,
    fp: str,
    alert: dict[str, Any],
    now: datetime,
    policy: outages.Policy,
    result: dict[str, list[str]],
) -> None:
    keys = [k for k in outage.external_keys if k != fp]
    if keys:
        outage.external_keys = keys
        session.add(outage)
        return
    at = max(min(_time(alert.get("endsAt"), now), now), outage.started_at)
    outages.change(
        session,
        st,
        "up",
        at,
        source="alertmanager",
        reason=_reason(alert),
        planned=False,
        tz=policy.timezone,
    )
    result["closed"].append(outage.service_id)
