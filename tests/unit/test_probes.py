"""Probes against real servers on 127.0.0.1: HTTP status, keyword, latency, TLS expiry,
TCP connect, DNS, and the concurrency cap."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from bot.core.probes import Prober, ProbeSpec, probe_dns, probe_http, probe_tcp, spec_for
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Service, ServiceState
from tests.probe_servers import FakeHttp, FakeTcp, make_tls


def test_spec_from_access_and_catalog_entry() -> None:
    assert spec_for(
        Service(id="a", name="A", access="https://eoffice.kementerian.go.id")
    ) == ProbeSpec("http", "https://eoffice.kementerian.go.id")
    spec = spec_for(
        Service(
            id="b", name="B", access="vpn.kementerian.go.id:443 (klien VPN, masuk dengan akun SSO)"
        )
    )
    assert spec is not None and (spec.type, spec.target) == ("tcp", "vpn.kementerian.go.id:443")
    url_later = spec_for(
        Service(
            id="c",
            name="C",
            access="Permohonan melalui helpdesk; konsol https://cloud.go.id untuk admin",
        )
    )
    assert url_later is not None and url_later.target == "https://cloud.go.id"
    assert (
        spec_for(
            Service(id="d", name="D", access='Wi-Fi "KEMENTERIAN-PEGAWAI" (masuk dengan akun SSO)')
        )
        is None
    )
    custom = spec_for(
        Service(
            id="e",
            name="E",
            access="https://x.go.id",
            probe={"type": "dns", "target": "x.go.id", "interval": 3, "keyword": "10.0.0.1"},
        )
    )
    assert custom == ProbeSpec("dns", "x.go.id", interval=10, keyword="10.0.0.1")
    assert (
        spec_for(Service(id="f", name="F", access="https://x.go.id", probe={"type": "none"}))
        is None
    )
    assert (
        spec_for(
            Service(id="g", name="G", access="https://x.go.id", probe={"interval": 30})
        ).interval
        == 30
    )  # type: ignore[union-attr]


async def test_http_status_keyword_latency_and_refused() -> None:
    server = await FakeHttp().start()
    async with httpx.AsyncClient(timeout=2) as client:
        ok = await probe_http(
            client, ProbeSpec("http", server.url, keyword="berjalan normal"), "svc"
        )
        assert ok.state == "up" and ok.latency_ms is not None and ok.error is None
        server.status = 500
        bad = await probe_http(client, ProbeSpec("http", server.url), "svc")
        assert (bad.state, bad.error) == ("down", "HTTP 500")
        expected = await probe_http(client, ProbeSpec("http", server.url, expect_status=500), "svc")
        assert expected.state == "up"
        server.status, server.body = 200, b"<html>Maintenance page</html>"
        wrong = await probe_http(
            client, ProbeSpec("http", server.url, keyword="berjalan normal"), "svc"
        )
        assert wrong.state == "down" and "keyword" in (wrong.error or "")
        server.delay = 0.25
        slow = await probe_http(client, ProbeSpec("http", server.url, latency_ms=100), "svc")
        assert slow.state == "degraded" and "latency" in (slow.error or "")
        await server.stop()
        gone = await probe_http(client, ProbeSpec("http", server.url), "svc")
        assert gone.state == "down" and "ConnectError" in (gone.error or "")


async def test_tls_expiry_is_read_and_untrusted_cert_is_down(tmp_path: Path) -> None:
    server_ctx, client_ctx, not_after = make_tls(tmp_path, days=3)
    server = await FakeHttp(server_ctx).start()
    try:
        async with httpx.AsyncClient(timeout=2, verify=client_ctx) as client:
            reading = await probe_http(client, ProbeSpec("http", server.url), "svc")
        assert reading.state == "up"
        assert reading.cert_expires_at == not_after
        async with httpx.AsyncClient(timeout=2) as client:  # the system CAs do not know ours
            untrusted = await probe_http(client, ProbeSpec("http", server.url), "svc")
        assert untrusted.state == "down" and "CERTIFICATE_VERIFY_FAILED" in (untrusted.error or "")
    finally:
        await server.stop()


async def test_tcp_and_dns() -> None:
    server = await FakeTcp().start()
    assert (await probe_tcp(ProbeSpec("tcp", server.target), "svc", 2)).state == "up"
    await server.stop()
    refused = await probe_tcp(ProbeSpec("tcp", server.target), "svc", 2)
    assert refused.state == "down" and refused.error
    assert (await probe_dns(ProbeSpec("dns", "localhost"), "svc", 5)).state == "up"
    assert (
        await probe_dns(ProbeSpec("dns", "localhost", keyword="127.0.0.1"), "svc", 5)
    ).state == "up"
    assert (
        await probe_dns(ProbeSpec("dns", "localhost", keyword="10.9.9.9"), "svc", 5)
    ).state == "down"
    assert (await probe_dns(ProbeSpec("dns", "no-such-host.invalid"), "svc", 5)).state == "down"


def only_probe(helpdesk: Helpdesk, probes: dict[str, dict[str, object]]) -> None:
    """Sample services name hosts that do not exist: switch their probes off, except these."""
    with session_scope(helpdesk.engine) as s:
        for svc in s.exec(select(Service)):
            svc.probe = probes.get(svc.id, {"type": "none"})
            s.add(svc)


async def test_concurrency_cap_and_claiming(helpdesk: Helpdesk, tmp_path: Path) -> None:
    server = await FakeHttp().start()
    server.delay = 0.05
    with session_scope(helpdesk.engine) as s:
        for i in range(12):
            s.add(
                Service(
                    id=f"svc{i}",
                    name=f"Layanan {i}",
                    provider_unit="x",
                    probe={"type": "http", "target": server.url, "interval": 30},
                )
            )
    only_probe(
        helpdesk,
        {f"svc{i}": {"type": "http", "target": server.url, "interval": 30} for i in range(12)},
    )
    prober = Prober(helpdesk.engine, concurrency=3, timeout=5)
    now = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)
    try:
        readings = await prober.tick(now)
        assert len(readings) == 12 and {r.state for r in readings} == {"up"}
        assert server.max_in_flight <= 3
        assert await prober.tick(now + dt.timedelta(seconds=10)) == []  # not due before 30 s
        assert len(await prober.tick(now + dt.timedelta(seconds=30))) == 12
    finally:
        await prober.aclose()
        await server.stop()
    with Session(helpdesk.engine) as s:
        st = s.get(ServiceState, "svc0")
        assert st is not None and st.state == "up" and st.last_latency_ms is not None


@pytest.mark.parametrize("interval", [1, 10])
def test_interval_floor(interval: int) -> None:
    spec = spec_for(
        Service(id="a", name="A", access="https://a.go.id", probe={"interval": interval})
    )
    assert spec is not None and spec.interval == 10
