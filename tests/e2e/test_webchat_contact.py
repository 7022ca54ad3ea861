"""An unlinked web reporter's contact in headless Chromium: a bad e-mail is refused and
asked again, a good one goes with the ticket, and the operator's chat shows it; a report
document's link still downloads after a reload."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.core import people
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Person
from tests.e2e.test_webchat_browser import page  # noqa: F401  (the fixture)
from tests.helpers import Chat

pytestmark = pytest.mark.browser
DESCRIPTION = "VPN kantor tidak tersambung sejak pagi, muncul galat 809 di laptop"


def send(p, text: str) -> None:  # type: ignore[no-untyped-def]
    p.fill("#input", text)
    p.press("#input", "Enter")


def link(p, helpdesk: Helpdesk, email: str) -> None:  # type: ignore[no-untyped-def]
    with session_scope(helpdesk.engine) as s:
        person = s.exec(select(Person).where(Person.email == email)).one()
        code = people.issue_link_code(s, person, ttl=timedelta(minutes=15))
    send(p, f"/tautkan {code}")
    p.wait_for_selector("text=sekarang tertaut")


def test_bad_email_is_refused_then_the_operator_sees_the_contact(
    page: tuple,  # type: ignore[type-arg]  # noqa: F811
    helpdesk: Helpdesk,
) -> None:
    p, base = page
    p.goto(f"{base}/chat")
    p.wait_for_selector("text=Selamat datang")
    send(p, f"/lapor {DESCRIPTION}")
    p.click("button.choice[data-action='svc:vpn']")
    p.click("button.choice[data-action='type:gangguan']")
    p.click("button.choice[data-action='imp:3']")
    p.click("button.choice[data-action='urg:3']")
    p.wait_for_selector("text=siapa nama Anda?")
    send(p, "Budi Santoso")
    p.wait_for_selector("text=Terima kasih, Budi Santoso")
    send(p, "budi@kominfo")
    p.wait_for_selector('text=Alamat e-mail "budi@kominfo" tidak valid')
    send(p, "budi.santoso@kominfo.go.id")
    p.wait_for_selector("text=Kirim laporan ini?")
    assert "Kontak: Budi Santoso, budi.santoso@kominfo.go.id" in p.inner_text("#messages")
    assert DESCRIPTION in p.inner_text("#messages")  # nothing was lost on the way
    p.click("button.choice[data-action='rep:send']")
    p.wait_for_selector("text=sudah kami terima")
    number = re.findall(r"INC-\d{4}-\d+", p.inner_text("#messages"))[-1]
    # the operator, in another browser, links their chat and opens the ticket
    operator = p.context.browser.new_context().new_page()
    operator.goto(f"{base}/chat")
    operator.wait_for_selector("text=Selamat datang")
    link(operator, helpdesk, Chat.technician_of(helpdesk, "vpn"))
    send(operator, f"/status {number}")
    operator.wait_for_selector(f"text=Tiket {number}")
    operator.wait_for_selector("text=Kontak pelapor: Budi Santoso · budi.santoso@kominfo.go.id")
    # the reporter's own view of the ticket has no operator lines
    send(p, f"/status {number}")
    p.wait_for_selector(f"text=Tiket {number}")
    assert "Kontak pelapor" not in p.inner_text("#messages")
    operator.context.close()


def test_a_report_document_still_downloads_after_a_reload(
    page: tuple,  # type: ignore[type-arg]  # noqa: F811
    helpdesk: Helpdesk,
) -> None:
    p, base = page
    p.goto(f"{base}/chat")
    p.wait_for_selector("text=Selamat datang")
    with session_scope(helpdesk.engine) as s:
        found = s.exec(select(Person).where(Person.email.is_not(None))).all()  # type: ignore[union-attr]
        email = next(x.email for x in found if x.email and "koordinator_layanan" in x.roles)
    link(p, helpdesk, email)
    send(p, "/laporan katalog")
    live = p.locator("a.document").last
    live.wait_for()
    href = live.get_attribute("href")
    assert href and href.startswith("/api/chat/documents/")
    p.reload()
    kept = p.locator("a.document").last
    kept.wait_for()
    assert kept.get_attribute("href") == href
    with p.expect_download() as got:
        kept.click()
    path = got.value.path()
    assert path is not None
    with open(path, "rb") as f:
        assert f.read(5) == b"%PDF-"
