"""The web chat keeps its conversation over a reload, in headless Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.runtime import Helpdesk
from tests.e2e.test_webchat_browser import give_contact, page  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser
DESCRIPTION = "Aplikasi tidak bisa dibuka sejak pagi, muncul pesan galat 502"


def test_reload_mid_report_shows_the_history_and_the_report_goes_on(
    page: tuple,  # type: ignore[type-arg]  # noqa: F811
    helpdesk: Helpdesk,
) -> None:
    p, base = page
    article = next(a for a in helpdesk.kb.matcher().articles if a.lang == "id" and a.service)
    p.goto(f"{base}/chat")
    p.wait_for_selector("text=Selamat datang")
    p.fill("#input", f"/lapor {DESCRIPTION}")
    p.press("#input", "Enter")  # Enter sends
    p.click(f"button.choice[data-action='svc:{article.service}']")
    p.wait_for_selector("button.choice[data-action='type:gangguan']")
    p.reload()
    # the greeting, the visitor's "/lapor" and the service they picked are drawn again
    p.wait_for_selector("button.choice[data-action='type:gangguan']")
    text = p.inner_text("#messages")
    assert text.count("Selamat datang") == 1  # no second /mulai on the reload
    assert DESCRIPTION in text
    # the report goes on where it stood: type, impact, urgency, then the summary
    p.locator("button.choice[data-action='type:gangguan']").last.click()
    p.click("button.choice[data-action='imp:2']")
    p.click("button.choice[data-action='urg:1']")
    give_contact(p)
    p.click("button.choice[data-action='rep:send']")
    p.wait_for_selector("text=sudah kami terima")
    assert "INC-" in p.inner_text("#messages")
    # a second reload shows the whole report, once
    p.reload()
    p.wait_for_selector("text=sudah kami terima")
    assert p.inner_text("#messages").count("sudah kami terima") == 1


def test_keyboard_only_and_screen_reader_labels(page: tuple) -> None:  # type: ignore[type-arg]  # noqa: F811
    p, base = page
    p.goto(f"{base}/chat")
    p.wait_for_selector("text=Selamat datang")
    assert p.get_attribute("#messages", "aria-live") == "polite"
    assert p.get_attribute("#messages", "role") == "log"
    assert p.locator("label[for='input']").inner_text() == "Pesan"
    assert p.get_attribute("link[rel='icon']", "href") == "/static/favicon.svg"
    assert p.evaluate("document.activeElement.id") == "input"  # focus after the reply
    p.keyboard.type(f"/lapor {DESCRIPTION}")
    p.keyboard.press("Enter")
    p.wait_for_selector("button.choice[data-action^='svc:']")
    assert p.evaluate("document.activeElement.id") == "input"
    group = p.locator(".choices[role='group']").last
    assert group.get_attribute("aria-label") == "Pilihan jawaban"
    # the buttons come before the composer: Shift+Tab from the input walks back to them
    service = p.get_attribute(".choices button.choice[data-action^='svc:']", "data-action")
    for _ in range(30):
        p.keyboard.press("Shift+Tab")
        if p.evaluate("document.activeElement.dataset.action") == service:
            break
    assert "choice" in p.evaluate("document.activeElement.className")
    p.keyboard.press("Enter")  # picks the focused service
    p.wait_for_selector("button.choice[data-action='type:gangguan']")
    # the newest buttons are in view
    assert p.locator("button.choice[data-action='type:gangguan']").last.is_visible()
    box = p.locator("button.choice[data-action='type:gangguan']").last.bounding_box()
    assert box is not None and 0 <= box["y"] <= 780  # 780: the viewport's height


def axe_source() -> str | None:
    """axe-core's script, from npm (`npm install axe-core` in the checkout, or its path in
    AXE_CORE_JS); None when neither is there."""
    candidates = [os.environ.get("AXE_CORE_JS", "")]
    candidates.append(str(Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"))
    for path in candidates:
        if path and os.path.exists(path):
            return Path(path).read_text(encoding="utf-8")
    return None


def test_axe_finds_no_serious_or_critical_violations(page: tuple) -> None:  # type: ignore[type-arg]  # noqa: F811
    source = axe_source()
    if source is None:
        pytest.skip("axe-core not installed (npm install axe-core, or set AXE_CORE_JS)")
    p, base = page
    p.goto(f"{base}/chat")
    p.wait_for_selector("text=Selamat datang")
    p.fill("#input", f"/lapor {DESCRIPTION}")
    p.press("#input", "Enter")
    p.wait_for_selector("button.choice[data-action^='svc:']")  # buttons drawn, too
    p.evaluate(source)  # evaluated by the driver: the page's CSP allows no added script
    result = p.evaluate("async () => await window.axe.run(document)")
    bad = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == []
