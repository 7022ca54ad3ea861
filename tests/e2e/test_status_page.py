"""The public status page in headless Chromium on a phone-sized screen, and /api/status."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import httpx
import pytest

from bot.core import maintenance, outages
from bot.runtime import Helpdesk
from bot.web.app import create_app
from storage.db import session_scope
from storage.models import ServiceState, utcnow
from tests.e2e.test_webchat_browser import CHROMIUM, FLAGS
from tests.servers import serve

pytestmark = pytest.mark.browser


def seed(helpdesk: Helpdesk) -> None:
    """VPN down for the last 20 minutes, e-mail up for 10 days, a window tomorrow."""
    now = utcnow()
    with session_scope(helpdesk.engine) as s:
        s.add(
            ServiceState(
                service_id="email",
                state="up",
                since=now - dt.timedelta(days=10),
                monitored_since=now - dt.timedelta(days=10),
            )
        )
        st = ServiceState(
            service_id="vpn",
            state="up",
            since=now - dt.timedelta(days=40),
            monitored_since=now - dt.timedelta(days=40),
        )
        s.add(st)
        s.flush()
        outages.change(
            s,
            st,
            "down",
            now - dt.timedelta(minutes=20),
            source="probe",
            reason="HTTP 502",
            planned=False,
            tz="Asia/Jakarta",
        )
        maintenance.schedule(
            s,
            None,
            ["email"],
            now + dt.timedelta(days=1),
            now + dt.timedelta(days=1, hours=2),
            "Surel tidak dapat diakses",
            now=now,
        )


@pytest.fixture
def browser_page(helpdesk: Helpdesk) -> Iterator[tuple[object, str]]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"chromium not found at {CHROMIUM}")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    seed(helpdesk)
    with serve(create_app(helpdesk, run_jobs=False)) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 390, "height": 780})
        try:
            yield context.new_page(), base
        finally:
            context.close()
            browser.close()


def test_status_page_on_a_phone(browser_page: tuple) -> None:  # type: ignore[type-arg]
    p, base = browser_page
    p.goto(f"{base}/status")
    assert p.inner_text("#overall") == "Sebagian layanan mengalami gangguan"
    vpn = p.locator(".service[data-service='vpn']")
    assert vpn.get_attribute("data-state") == "down" and "Tidak tersedia" in vpn.inner_text()
    assert vpn.locator(".bars span").count() == 90
    assert vpn.locator(".bars span.nodata").count() >= 49  # monitored for 40 days only
    assert vpn.locator(".bars span.major, .bars span.minor").count() >= 1
    assert p.locator(".service[data-service='email']").get_attribute("data-state") == "up"
    assert (
        p.locator(".service[data-service='jaringan']").get_attribute("data-state") == "unmonitored"
    )
    assert "Akses Jarak Jauh (VPN) tidak tersedia sejak" in p.inner_text("#incidents")
    assert "Surel tidak dapat diakses" in p.inner_text("#maintenance")
    assert p.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"
    )  # no sideways scrolling
    p.screenshot(
        path=os.path.join(os.environ.get("HELPDESK_SCREENSHOTS", "/tmp"), "status.png"),
        full_page=True,
    )
    p.click("#lang-switch")
    p.wait_for_url("**/status?lang=en")
    assert p.inner_text("#overall") == "Some services are disrupted"
    assert "Unavailable" in p.locator(".service[data-service='vpn']").inner_text()
    assert p.get_attribute("html", "lang") == "en"


def test_status_json(helpdesk: Helpdesk) -> None:
    seed(helpdesk)
    with serve(create_app(helpdesk, run_jobs=False)) as base:
        data = httpx.get(f"{base}/api/status").json()
        page = httpx.get(f"{base}/status")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert data["overall"] == "down"
    services = {s["id"]: s for s in data["services"]}
    assert services["vpn"]["state"] == "down" and len(services["vpn"]["days"]) == 90
    assert services["vpn"]["uptime_90d"] < 100 and services["email"]["uptime_90d"] == 100
    assert [i["service"] for i in data["incidents"]] == ["vpn"]
    assert data["maintenance"][0]["services"] == ["email"] and not data["maintenance"][0]["running"]
