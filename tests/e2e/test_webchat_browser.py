"""The web chat in headless Chromium (Debian's package), driven by Playwright."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

import pytest

from bot.runtime import Helpdesk
from bot.web.app import create_app
from tests.servers import serve

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = pytest.mark.browser


@pytest.fixture
def page(helpdesk: Helpdesk) -> Iterator[tuple[object, str]]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"chromium not found at {CHROMIUM}")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with serve(create_app(helpdesk)) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 390, "height": 780})  # a phone
        try:
            yield context.new_page(), base
        finally:
            context.close()
            browser.close()


def give_contact(p, name: str = "Budi Santoso", contact: str = "budi@instansi.go.id") -> None:  # type: ignore[no-untyped-def]
    """An unlinked visitor says who they are and how to be reached before the summary."""
    p.wait_for_selector("text=siapa nama Anda?")
    p.fill("#input", name)
    p.press("#input", "Enter")
    p.wait_for_selector(f"text=Terima kasih, {name}")
    p.fill("#input", contact)
    p.press("#input", "Enter")
    p.wait_for_selector("text=Kirim laporan ini?")


def test_question_answer_then_report_in_the_browser(page: tuple, helpdesk: Helpdesk) -> None:  # type: ignore[type-arg]
    p, base = page
    article = next(a for a in helpdesk.kb.matcher().articles if a.lang == "id" and a.service)
    p.goto(f"{base}/chat")
    p.wait_for_selector("text=Selamat datang")
    p.fill("#input", article.question)
    p.click("#send")
    p.wait_for_selector("text=Apakah ini membantu?")
    assert article.answer.splitlines()[0][:30] in p.inner_text("#messages")
    p.click("button.choice:text-is('Tidak')")
    p.click("button.choice:text-is('Ya, buat laporan')")
    p.click(f"button.choice[data-action='svc:{article.service}']")
    p.click("button.choice[data-action='type:gangguan']")
    p.click("button.choice[data-action='imp:2']")
    p.click("button.choice[data-action='urg:1']")
    give_contact(p)
    p.click("button.choice[data-action='rep:send']")
    p.wait_for_selector("text=sudah kami terima")
    text = p.inner_text("#messages")
    assert "INC-" in text
    number = re.findall(r"INC-\d{4}-\d+", text)[-1]  # "nomor" also asks for a phone number
    p.screenshot(path=os.path.join(os.environ.get("HELPDESK_SCREENSHOTS", "/tmp"), "webchat.png"))
    # the ticket is stored and visible to its reporter
    p.fill("#input", f"/status {number}")
    p.click("#send")
    p.wait_for_selector(f"text=Tiket {number}")


def test_english_switch_and_html_is_not_rendered(page: tuple) -> None:  # type: ignore[type-arg]
    p, base = page
    p.goto(f"{base}/chat?lang=en")
    p.wait_for_selector("text=Welcome")
    p.fill("#input", "<img src=x onerror=alert(1)> /report")
    p.click("#send")
    p.wait_for_timeout(300)
    assert p.locator("#messages img").count() == 0


def test_linking_renews_the_cookie_and_the_page_goes_on(page: tuple, helpdesk: Helpdesk) -> None:  # type: ignore[type-arg]
    """After /tautkan the answer carries a new session cookie (the old token is dead); the
    page's script needs nothing for it: the next message and the notices poll use it."""
    from datetime import timedelta

    from sqlmodel import select

    from bot.core import notices, people, web_sessions
    from storage.db import session_scope
    from storage.models import Person
    from tests.helpers import Chat

    p, base = page
    p.goto(f"{base}/chat")
    p.wait_for_selector("text=Selamat datang")
    (before,) = [c["value"] for c in p.context.cookies() if c["name"] == "hd_sid"]
    email = Chat.technician_of(helpdesk, "vpn")
    with session_scope(helpdesk.engine) as s:
        person = s.exec(select(Person).where(Person.email == email)).one()
        code = people.issue_link_code(s, person, ttl=timedelta(minutes=15))
    p.fill("#input", f"/tautkan {code}")
    p.click("#send")
    p.wait_for_selector("text=sekarang tertaut")
    (after,) = [c["value"] for c in p.context.cookies() if c["name"] == "hd_sid"]
    assert after != before
    p.fill("#input", "/bantuan")
    p.click("#send")
    p.wait_for_selector("text=Untuk pengelola teknis", timeout=10000)
    with session_scope(helpdesk.engine) as s:
        notices.enqueue(
            s,
            channel="web",
            target=web_sessions.chat_key(after),
            kind="test",
            payload={"text": "Pemberitahuan untuk sesi baru"},
            dedupe_key="e2e:rotated",
        )
    p.wait_for_selector("text=Pemberitahuan untuk sesi baru", timeout=12000)  # the 5 s poll
    assert "sekarang tertaut" in p.inner_text("#messages")  # the page never reloaded
