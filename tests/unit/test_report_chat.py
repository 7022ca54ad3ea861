"""`/laporan` in chat: every table with its column names next to its values, in the
chat's language and number format, calendar periods by default; the terminal chat saves
the PDF it is sent and prints where."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.channels import console
from bot.runtime import Helpdesk
from storage.models import Person
from tests.helpers import Chat
from tests.unit.test_availability_periods import NOW, sso  # noqa: F401  (the fixture)

WIB = ZoneInfo("Asia/Jakarta")


def coordinator_email(helpdesk: Helpdesk) -> str:
    with Session(helpdesk.engine) as s:
        return next(
            p.email
            for p in s.exec(select(Person).order_by(Person.id))
            if "koordinator_layanan" in p.roles and p.email
        )


def test_laporan_shows_headers_with_values(sso: Helpdesk) -> None:  # noqa: F811
    chat = Chat.as_person(sso, "web", coordinator_email(sso))
    chat.say("/laporan ketersediaan 2026-11-01 2026-11-30", now=NOW)
    text = chat.replies[-1].text
    assert "Periode 2026-11-01 s.d. 2026-11-30" in text
    assert "Ketersediaan per layanan: 12 baris" in text
    # SSO in November: 63 min down of 43,200 → 99.854 % (see test_availability_periods)
    sso_line = next(line for line in text.splitlines() if "Single Sign-On" in line)
    assert sso_line == (
        "• Layanan: Akun Tunggal Pegawai (Single Sign-On) · Target (%): 99,9"
        " · Ketersediaan tanpa pemeliharaan (%): 99,854"
        " · Ketersediaan dengan pemeliharaan (%): 99,854"
        " · Waktu tidak tersedia (menit): 63,0 · Pemeliharaan (menit): 0,0"
        " · Jumlah gangguan: 3 · Memenuhi target: tidak"
    )
    # 12 services, 5 shown: 7 more in the PDF; 11 are not monitored
    assert "… dan 7 baris lagi dalam PDF terlampir" in text
    assert "11 layanan tidak dipantau otomatis" in text
    assert chat.replies[-1].document is not None
    chat.say("/language en")
    chat.say("/laporan availability 2026-11-01 2026-11-30", now=NOW)
    english = next(line for line in chat.text.splitlines() if "Single Sign-On" in line)
    assert "Availability excluding maintenance (%): 99.854" in english
    assert "63.0" in english and "99,854" not in english


def test_laporan_default_period_is_the_last_full_month(helpdesk: Helpdesk) -> None:
    chat = Chat.as_person(helpdesk, "web", coordinator_email(helpdesk))
    now = datetime(2026, 12, 3, 10, 0, tzinfo=WIB)
    chat.say("/laporan evaluasi", now=now)
    assert "Periode 2026-11-01 s.d. 2026-11-30" in chat.text
    assert chat.replies[-1].document is not None
    assert chat.replies[-1].document[0] == "evaluation-2026-11-01-2026-11-30.pdf"
    chat.say("/laporan evaluasi triwulan", now=now)
    assert "Periode 2026-07-01 s.d. 2026-09-30" in chat.text
    chat.say("/laporan evaluasi 2026-02-10", now=now)  # one day: its month
    assert "Periode 2026-02-01 s.d. 2026-02-28" in chat.text
    chat.say("/laporan evaluasi tahun 2025-06-01", now=now)
    assert "Periode 2025-01-01 s.d. 2025-12-31" in chat.text
    # a table without rows says so, under its name
    assert "Kategori yang berulang: 0 baris" in chat.text and "(tidak ada data)" in chat.text


def test_console_saves_the_pdf_and_prints_its_path(helpdesk: Helpdesk, tmp_path: Path) -> None:
    folder = tmp_path / "dokumen"
    folder.mkdir()
    email = coordinator_email(helpdesk)
    Chat.as_person(helpdesk, "console", email)  # links console-<email> to the coordinator
    lines = iter(["/laporan katalog", "/laporan katalog"])
    out: list[str] = []

    def read(_: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    console.run(
        helpdesk.conversations,
        f"console-{email}",
        read=read,
        write=out.append,
        documents=folder,
    )
    saved = {p.name for p in folder.iterdir()}
    stem = min(saved, key=len).removesuffix(".pdf")
    assert stem.startswith("catalogue-") and saved == {f"{stem}.pdf", f"{stem}-2.pdf"}
    for name in saved:
        assert (folder / name).read_bytes().startswith(b"%PDF")
        assert any(f"📎 Dokumen disimpan: {folder / name}" in o for o in out)
    # the same document twice: the second is saved beside the first, not over it


def test_console_says_when_it_cannot_save(helpdesk: Helpdesk, tmp_path: Path) -> None:
    from bot.dialogue.messages import Reply

    missing = tmp_path / "tidak-ada"
    text = console.render([Reply("📑 x", document=("../../r.pdf", b"%PDF-1.4"))], missing)
    assert f"❗ Dokumen tidak dapat disimpan di {missing / 'r.pdf'}: " in text
    ok = console.render([Reply("📑 x", document=("../../r.pdf", b"%PDF-1.4"))], tmp_path)
    assert ok.endswith(f"📎 Dokumen disimpan: {tmp_path / 'r.pdf'}")  # no way out of the folder


def test_ketersediaan_says_what_is_known(helpdesk: Helpdesk, chat: Chat) -> None:
    from datetime import timedelta

    from bot.core import tickets
    from storage.db import session_scope
    from storage.models import ServiceState

    now = datetime(2026, 12, 3, 10, 0, tzinfo=WIB)
    with session_scope(helpdesk.engine) as s:
        user = next(p for p in s.exec(select(Person)) if p.roles == ["pengguna"])
        tickets.open_ticket(
            s, type_="gangguan", title="x", service_id="simpeg", reporter=user,
            now=now - timedelta(hours=1),
        )  # fmt: skip
    chat.say("/ketersediaan", now=now)
    assert chat.text.splitlines() == [
        "Belum ada layanan yang dipantau otomatis.",
        "🟠 Sistem Informasi Kepegawaian (SIMPEG): 1 gangguan dilaporkan pengguna,"
        " sejak 3 Des 2026 09.00 WIB",
    ]
    chat.say("/ketersediaan simpeg", now=now)
    assert "belum dipantau otomatis" in chat.text
    assert "🟠 Sistem Informasi Kepegawaian (SIMPEG): 1 gangguan dilaporkan pengguna" in chat.text
    with session_scope(helpdesk.engine) as s:
        since = now - timedelta(days=2)
        s.add(ServiceState(service_id="vpn", state="up", since=since, monitored_since=since))
    chat.say("/ketersediaan", now=now)
    lines = chat.text.splitlines()
    assert lines[1] == "🟢 Akses Jarak Jauh (VPN): 100,00% (target 99,0%)"
    unmonitored = next(line for line in lines if line.startswith("⚪"))
    assert len(unmonitored.split(": ", 1)[1].split(", ")) == 11  # the other 11 services
