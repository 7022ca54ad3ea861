"""Availability probes: HTTP(S), TCP connect and DNS, run concurrently on asyncio.

Which services are due is kept in `ServiceState.next_check_at` and claimed with a
conditional UPDATE, so two replicas never probe the same service in the same round.
Readings go to `bot.core.outages`, which owns the up/degraded/down state machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import outages
from bot.core.readings import Reading
from storage.db import session_scope
from storage.models import Service, ServiceState, utcnow

if TYPE_CHECKING:
    from bot.config import Settings

DEFAULT_INTERVAL = 60
MIN_INTERVAL = 10
DEFAULT_LATENCY_MS = 2000
MAX_BODY = 512 * 1024
_URL = re.compile(r"https?://[^\s\"'<>()]+", re.I)
_HOSTPORT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9]|\[[0-9a-fA-F:]+\]):(\d{1,5})$")


@dataclass(frozen=True)
class ProbeSpec:
    type: str  # http | tcp | dns
    target: str
    interval: int = DEFAULT_INTERVAL
    expect_status: int | None = None
    keyword: str | None = None
    latency_ms: int = DEFAULT_LATENCY_MS


def spec_for(service: Service) -> ProbeSpec | None:
    """The catalog's `probe:` entry, else derived from the access field: a URL → HTTP,
    host:port → TCP. Access text that names neither ("Wi-Fi …") is not probed."""
    raw: dict[str, Any] = dict(service.probe or {})
    if raw.get("type") == "none":
        return None
    target = raw.get("target")
    kind = raw.get("type")
    if not target:
        url = _URL.search(service.access or "")
        first = (service.access or "").split(" ", 1)[0].strip()
        if url:
            target, kind = url.group(0).rstrip(".,;"), kind or "http"
        elif _HOSTPORT.match(first):
            target, kind = first, kind or "tcp"
        else:
            return None
    if not kind:
        kind = (
            "http"
            if str(target).startswith(("http://", "https://"))
            else "tcp"
            if _HOSTPORT.match(str(target))
            else "dns"
        )
    if kind not in ("http", "tcp", "dns"):
        return None
    interval = max(MIN_INTERVAL, int(raw.get("interval") or DEFAULT_INTERVAL))
    return ProbeSpec(
        type=kind,
        target=str(target),
        interval=interval,
        expect_status=int(raw["expect_status"]) if raw.get("expect_status") else None,
        keyword=raw.get("keyword") or None,
        latency_ms=int(raw.get("latency_ms") or DEFAULT_LATENCY_MS),
    )


def _error(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"[:300]


def _cert_expiry(response: httpx.Response) -> datetime | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    not_after = cert.get("notAfter") if cert else None
    if not not_after:
        return None
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC)


async def probe_http(client: httpx.AsyncClient, spec: ProbeSpec, service_id: str) -> Reading:
    started = time.perf_counter()
    try:
        async with client.stream("GET", spec.target) as response:
            expires = _cert_expiry(response)
            body = b""
            if spec.keyword:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY:
                        break
    except httpx.HTTPError as exc:
        return Reading(service_id, "down", error=_error(exc))
    latency = (time.perf_counter() - started) * 1000
    reading = Reading(service_id, "up", latency_ms=latency, cert_expires_at=expires)
    ok_status = (
        response.status_code == spec.expect_status
        if spec.expect_status
        else response.status_code < 400
    )
    if not ok_status:
        reading.state, reading.error = "down", f"HTTP {response.status_code}"
    elif spec.keyword and spec.keyword.encode() not in body:
        reading.state, reading.error = "down", f"keyword {spec.keyword!r} not found"
    elif latency > spec.latency_ms:
        reading.state, reading.error = (
            "degraded",
            f"latency {latency:.0f} ms > {spec.latency_ms} ms",
        )
    return reading


async def probe_tcp(spec: ProbeSpec, service_id: str, timeout: float) -> Reading:
    host, _, port = spec.target.rpartition(":")
    started = time.perf_counter()
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host.strip("[]"), int(port)), timeout
        )
    except (OSError, TimeoutError, ValueError) as exc:
        return Reading(service_id, "down", error=_error(exc))
    latency = (time.perf_counter() - started) * 1000
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    state = "degraded" if latency > spec.latency_ms else "up"
    return Reading(
        service_id,
        state,
        latency_ms=latency,
        error=f"latency {latency:.0f} ms > {spec.latency_ms} ms" if state == "degraded" else None,
    )


async def probe_dns(spec: ProbeSpec, service_id: str, timeout: float) -> Reading:
    """Resolves the name; with `keyword`, that address must be among the answers."""
    host = urlsplit(spec.target).hostname if "://" in spec.target else spec.target.rsplit(":", 1)[0]
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout
        )
    except (OSError, TimeoutError, UnicodeError) as exc:
        return Reading(service_id, "down", error=_error(exc))
    latency = (time.perf_counter() - started) * 1000
    addresses = {str(info[4][0]) for info in infos}
    if spec.keyword and spec.keyword not in addresses:
        return Reading(
            service_id,
            "down",
            latency_ms=latency,
            error=f"{host} → {sorted(addresses)}, not {spec.keyword}",
        )
    return Reading(service_id, "up", latency_ms=latency)


class Prober:
    """Probes due services with at most `concurrency` checks in flight."""

    def __init__(
        self,
        engine: Engine,
        *,
        concurrency: int = 100,
        timeout: float = 10.0,
        verify: ssl.SSLContext | str | bool = True,
        timezone: str = "Asia/Jakarta",
        down_after: int = 3,
        up_after: int = 2,
        cert_warn_days: int = 14,
    ) -> None:
        self.engine = engine
        self.concurrency = concurrency
        self.timeout = timeout
        self.verify = verify
        self.timezone = timezone
        self.down_after = down_after
        self.up_after = up_after
        self.cert_warn_days = cert_warn_days
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> Prober:
        verify: ssl.SSLContext | bool = True
        if settings.probe_ca_bundle:
            verify = ssl.create_default_context(cafile=str(settings.probe_ca_bundle))
        return cls(
            engine,
            concurrency=settings.probe_concurrency,
            timeout=settings.probe_timeout_seconds,
            verify=verify,
            timezone=settings.timezone,
            down_after=settings.probe_down_after,
            up_after=settings.probe_up_after,
            cert_warn_days=settings.probe_cert_warn_days,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=0)
            self._client = httpx.AsyncClient(
                timeout=self.timeout,
                verify=self.verify,
                follow_redirects=True,
                limits=limits,
                headers={"User-Agent": "spbe-helpdesk-probe/1"},
                trust_env=False,
            )
        return self._client

    async def tick(self, now: datetime | None = None) -> list[Reading]:
        """One round: claim the due services, probe them, record what was seen."""
        now = now or utcnow()
        due = await asyncio.to_thread(claim_due, self.engine, now)
        if not due:
            return []
        sem = asyncio.Semaphore(self.concurrency)

        async def one(service_id: str, spec: ProbeSpec) -> Reading:
            async with sem:
                try:
                    return await asyncio.wait_for(self.probe(service_id, spec), self.timeout + 1)
                except TimeoutError as exc:
                    return Reading(service_id, "down", error=_error(exc))

        readings = await asyncio.gather(*(one(sid, spec) for sid, spec in due))
        warn_before = timedelta(days=self.cert_warn_days)
        for r in readings:
            if r.cert_expires_at is not None and r.cert_expires_at - now < warn_before:
                r.warnings.append("cert")
        policy = outages.Policy(
            down_after=self.down_after, up_after=self.up_after, timezone=self.timezone
        )
        await asyncio.to_thread(outages.record_readings, self.engine, list(readings), now, policy)
        return list(readings)

    async def probe(self, service_id: str, spec: ProbeSpec) -> Reading:
        if spec.type == "http":
            return await probe_http(self._http(), spec, service_id)
        if spec.type == "tcp":
            return await probe_tcp(spec, service_id, self.timeout)
        return await probe_dns(spec, service_id, self.timeout)


def claim_due(engine: Engine, now: datetime) -> list[tuple[str, ProbeSpec]]:
    """Services whose next check is due (or never ran); their next check moves forward
    in the same statement, which is the claim."""
    with session_scope(engine) as s:
        services = {svc.id: svc for svc in s.exec(select(Service).where(col(Service.active)))}
        specs = {sid: spec for sid, svc in services.items() if (spec := spec_for(svc)) is not None}
        if not specs:
            return []
        known = set(
            s.exec(select(ServiceState.service_id).where(col(ServiceState.service_id).in_(specs)))
        )
        for sid in specs.keys() - known:
            s.add(ServiceState(service_id=sid, since=now, monitored_since=now, next_check_at=now))
        s.flush()
        claimed: list[tuple[str, ProbeSpec]] = []
        by_interval: dict[int, list[str]] = {}
        for sid, spec in specs.items():
            by_interval.setdefault(spec.interval, []).append(sid)
        for interval, ids in by_interval.items():
            rows = s.execute(
                sa.update(ServiceState)
                .where(col(ServiceState.service_id).in_(ids))
                .where(
                    sa.or_(
                        col(ServiceState.next_check_at).is_(None),
                        col(ServiceState.next_check_at) <= now,
                    )
                )
                .values(next_check_at=now + timedelta(seconds=interval))
                .returning(col(ServiceState.service_id)),
                execution_options={"synchronize_session": False},
            ).scalars()
            claimed += [(sid, specs[sid]) for sid in rows]
        return sorted(claimed)


def monitored(session: Session) -> dict[str, ProbeSpec]:
    return {
        svc.id: spec
        for svc in session.exec(select(Service).where(col(Service.active)))
        if (spec := spec_for(svc)) is not None
    }
