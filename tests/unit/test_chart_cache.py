"""The public availability chart is drawn once per resolved scope, the cache is
bounded, and a scope that names no service is refused (bot.web.chart_cache)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from bot.runtime import Helpdesk
from bot.web.app import create_app
from bot.web.chart_cache import ChartCache
from storage.db import session_scope
from storage.models import ServiceState, utcnow

URL = "/charts/availability-7d.png"


@pytest.fixture
def client(helpdesk: Helpdesk) -> Iterator[TestClient]:
    with session_scope(helpdesk.engine) as s:
        for service in ("vpn", "email"):
            s.add(
                ServiceState(
                    service_id=service, state="up", monitored_since=utcnow() - timedelta(days=2)
                )
            )
    with TestClient(create_app(helpdesk, run_jobs=False)) as c:
        yield c


def test_spellings_of_one_scope_share_one_draw(client: TestClient) -> None:
    charts: ChartCache = client.app.state.charts  # type: ignore[attr-defined]
    for scope in ("vpn", "VPN", "  vpn ", "Akses Jarak Jauh (VPN)"):
        res = client.get(URL, params={"scope": scope})
        assert res.status_code == 200 and res.content.startswith(b"\x89PNG"), scope
    assert charts.stats.draws == 1 and charts.stats.hits == 3
    assert client.get(URL).status_code == 200  # everything: a scope of its own
    assert charts.stats.draws == 2


@pytest.mark.parametrize("scope", ["zzqx-nothing", "qqqq", "xyz123"])
def test_an_unknown_scope_is_404_without_a_draw(client: TestClient, scope: str) -> None:
    assert client.get(URL, params={"scope": scope}).status_code == 404
    assert client.app.state.charts.stats.draws == 0  # type: ignore[attr-defined]


async def test_the_cache_is_bounded_and_keeps_five_minutes() -> None:
    now = [0.0]
    cache = ChartCache(size=4, max_age=300, clock=lambda: now[0])
    for n in range(10):
        await cache.get((f"svc{n}",), lambda n=n: f"png{n}".encode())  # type: ignore[misc]
        assert len(cache) <= 4
    assert cache.stats.draws == 10
    assert await cache.get(("svc9",), lambda: b"new") == b"png9"  # fresh: no draw
    assert await cache.get(("svc0",), lambda: b"again") == b"again"  # evicted: drawn again
    now[0] = 301.0
    assert await cache.get(("svc9",), lambda: b"later") == b"later"  # stale after 5 minutes
    assert cache.stats.draws == 12 and len(cache) == 4


async def test_concurrent_requests_for_a_new_scope_draw_once() -> None:
    cache = ChartCache()
    results = await asyncio.gather(*(cache.get(("vpn",), lambda: b"png") for _ in range(8)))
    assert results == [b"png"] * 8 and cache.stats.draws == 1 and cache.stats.hits == 7


def test_the_chart_is_drawn_from_the_resolved_scope_not_the_spelling(
    client: TestClient,
) -> None:
    """Two spellings of one scope, each drawn afresh, give the same picture: the draw
    works from the resolved scope, so the raw text never reaches it."""
    charts: ChartCache = client.app.state.charts  # type: ignore[attr-defined]
    pictures = []
    for spelling in ("  VPN ", "Akses Jarak Jauh (VPN)"):
        charts._charts.clear()  # no cached picture: each spelling is drawn
        res = client.get(URL, params={"scope": spelling})
        assert res.status_code == 200 and res.content.startswith(b"\x89PNG")
        pictures.append(res.content)
    assert pictures[0] == pictures[1]
