"""The SPBE evidence pack (bot/reports/evidence.py) on a small, fully known set of records:
the cross-unit map, the usage figures, the swimlane trail, the self-assessment front page
and its manifest, every figure worked out by hand."""

from __future__ import annotations

import hashlib
import html
import io
import os
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.core import tickets
from bot.core.tickets import Actor
from bot.i18n import t
from bot.reports import Report, Table, build_report, criteria, registry
from bot.reports.criteria import load
from bot.reports.evidence import MANIFEST, build_pack, pack_kinds
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Person, Service, ServiceTechnician

TZ = "Asia/Jakarta"
# Monday 2 March 2026, 09:00 WIB = 02:00 UTC
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
START, END = date(2026, 3, 1), date(2026, 3, 7)
AGENCY = Settings(
    _env_file=None,
    agency_name="Kementerian Contoh",
    agency_place="Jakarta",
    preparer_name="Nur Hidayati",
    preparer_title="Koordinator Layanan",
    approver_name="Agus Setiawan",
    approver_title="Kepala Pusat Data dan Informasi",
)


def _by_email(s: Session, email: str) -> Person:
    return s.exec(select(Person).where(Person.email == email)).one()


@pytest.fixture
def activity(helpdesk: Helpdesk) -> Helpdesk:
    """In the week of 2 March 2026 (events by channel in brackets):
    A incident, VPN, reported on Telegram [telegram 1]; taken by its technical manager on
      the console [console 4: assign, state, ack, state]; a comment by the VPN service
      manager on Slack [slack 1]; resolved on the console [console 2: resolution, state]
    B incident, reported on Telegram [telegram 1]
    C request, e-mail, reported in the web chat [web 1]
    D incident imported by the incident-log replay [replay 1], taken there [replay 4]
    E incident on 20 February, outside the period.
    """
    with session_scope(helpdesk.engine) as s:
        user = next(p for p in s.exec(select(Person).order_by(Person.id)) if "pengguna" in p.roles)
        tech = _by_email(s, "budi.santoso@kementerian.go.id")  # a VPN technical manager
        manager = _by_email(s, "bambang.susilo@kementerian.go.id")  # the VPN service manager

        def open_(title: str, type_: str, service: str, channel: str, at: datetime) -> Any:
            return tickets.open_ticket(
                s,
                type_=type_,
                title=title,
                service_id=service,
                reporter=user,
                channel=channel,
                auto_assign=False,
                alert=False,
                now=at,
            )

        a = open_("A", "gangguan", "vpn", "telegram", T0)
        tickets.take(s, a, Actor(tech, "console"), now=T0 + timedelta(minutes=30))
        tickets.comment(s, a, Actor(manager, "slack"), "sudah dicek", now=T0 + timedelta(hours=1))
        tickets.resolve(
            s,
            a,
            Actor(tech, "console"),
            resolution="profil VPN diperbarui",
            root_cause="sertifikat kedaluwarsa",
            now=T0 + timedelta(hours=2),
        )
        open_("B", "gangguan", "vpn", "telegram", T0 + timedelta(hours=1))
        open_("C", "permintaan", "email", "web", T0 + timedelta(days=1))
        d = open_("D", "gangguan", "vpn", "replay", T0 + timedelta(hours=2))
        tickets.take(s, d, Actor(tech, "replay"), now=T0 + timedelta(hours=3))
        open_("E", "gangguan", "vpn", "telegram", datetime(2026, 2, 20, 2, 0, tzinfo=UTC))
    return helpdesk


def _table(report: Report, name: str) -> Table:
    return next(tb for tb in report.tables if tb.name == name)


def test_cross_unit_map_of_a_small_catalogue(engine: Engine) -> None:
    with session_scope(engine) as s:
        ani = Person(name="Ani", email="ani@x.go.id", unit="Biro Umum", roles=["pengelola_layanan"])
        budi = Person(
            name="Budi", email="budi@x.go.id", unit="Pusdatin", roles=["pengelola_teknis"]
        )
        cici = Person(name="Cici", email="cici@x.go.id", unit="Biro TI", roles=["pengelola_teknis"])
        s.add_all([ani, budi, cici])
        s.flush()
        s.add_all(
            [
                Service(id="a", name="Alpha", provider_unit="Biro Umum", service_manager_id=ani.id),
                Service(id="b", name="Beta", provider_unit="Pusdatin", service_manager_id=budi.id),
                Service(id="g", name="Gamma"),
                Service(id="z", name="Zeta", provider_unit="Biro TI", active=False),
            ]
        )
        s.flush()
        s.add_all(
            [
                ServiceTechnician(service_id="a", person_id=cici.id),
                ServiceTechnician(service_id="a", person_id=budi.id),
                ServiceTechnician(service_id="b", person_id=budi.id),
            ]
        )
    with Session(engine) as s:
        report = build_report("crossunit", s, start=START, end=END, tz=TZ, now=NOW)
    none = "(belum ditetapkan)"
    # Alpha: Biro Umum (provider, manager), Pusdatin and Biro TI (technical) = 3 units;
    # Beta: Pusdatin in every role = 1; Gamma: nobody yet = 0; Zeta is inactive
    assert _table(report, "map").rows == [
        ["Alpha", "Biro Umum", "Ani", "Biro Umum", "Budi, Cici", "Biro TI, Pusdatin", 3],
        ["Beta", "Pusdatin", "Budi", "Pusdatin", "Budi", "Pusdatin", 1],
        ["Gamma", none, none, none, none, none, 0],
    ]
    # by unit: services as provider / as service manager / as technical manager
    assert _table(report, "units").rows == [
        ["Biro TI", 0, 0, 1],  # technical on Alpha
        ["Biro Umum", 1, 1, 0],  # Alpha
        ["Pusdatin", 1, 1, 2],  # Beta; technical on Alpha and Beta
    ]
    assert report.notes == [
        "3 unit kerja terlibat; 1 dari 3 layanan melibatkan lebih dari satu unit kerja."
    ]


def test_usage_tickets_per_channel_and_changes_made_in_the_application(
    activity: Helpdesk,
) -> None:
    with Session(activity.engine) as s:
        report = build_report("usage", s, start=START, end=END, tz=TZ, now=NOW)
    # tickets in the period: A, B (telegram), C (web), D (replay) = 4; E is in February
    assert _table(report, "channels").rows == [
        ["Telegram", 2, 50.0],  # 2/4
        ["impor log insiden", 1, 25.0],  # 1/4; "replay" sorts before "web"
        ["obrolan web", 1, 25.0],
    ]
    # changes: console 4 + 2 = 6, replay 1 + 4 = 5, telegram 2, slack 1, web 1 = 15
    assert _table(report, "changes").rows == [
        ["konsol", "aplikasi", 6, 40.0],  # 6/15
        ["impor log insiden", "impor", 5, 33.3],  # 5/15 = 33.33
        ["Telegram", "aplikasi", 2, 13.3],  # 2/15 = 13.33
        ["Slack", "aplikasi", 1, 6.7],  # 1/15 = 6.67
        ["obrolan web", "aplikasi", 1, 6.7],
    ]
    summary = dict((r[0], r[1]) for r in _table(report, "summary").rows)
    assert summary == {
        "Tiket masuk": 4,
        "Gangguan / permintaan / keluhan": "3 / 1 / 0",  # A, B, D / C / none
        "Perubahan tiket tercatat": 15,
        "Dikerjakan di aplikasi": 10,  # 15 - 5 imported
        "Diimpor dari sistem lain": 5,
        "Bagian perubahan di aplikasi (%)": 66.7,  # 10/15 = 66.67
    }


def test_trail_of_the_busiest_incident_by_role(activity: Helpdesk) -> None:
    with Session(activity.engine) as s:
        report = build_report("trail", s, start=START, end=END, tz=TZ, now=NOW)
        number = s.exec(select(tickets.Ticket).where(tickets.Ticket.title == "A")).one().number
    # A has 1 + 4 + 1 + 2 = 8 events, D 5, B 1: A is drawn
    steps = _table(report, "steps")
    assert steps.title == f"Insiden {number}: A"
    lanes = [r[1] for r in steps.rows]
    assert lanes == [
        "Pelapor",  # reported on Telegram
        *["Pengelola teknis"] * 4,  # taken: assigned, state, acknowledged, state
        "Pengelola layanan",  # the service manager's comment
        *["Pengelola teknis"] * 2,  # resolution, state
    ]
    assert [r[2] for r in steps.rows][4:6] == ["Budi Santoso", "Bambang Susilo"]
    assert [r[3] for r in steps.rows][:3] == ["dilaporkan", "ditugaskan", t("state.ditugaskan")]
    assert steps.rows[0][0] == "2 Mar 2026 09.00 WIB" and steps.rows[0][5] == "Telegram"
    chart = report.charts[0]
    assert chart.title == "Diagram swimlane per peran" and chart.png.startswith(b"\x89PNG")


def _stem(files: dict[str, bytes], kind: str) -> str:
    """The numbered name of a document in the pack ("12-crossunit")."""
    return next(n[: -len(".html")] for n in files if n.endswith(f"-{kind}.html"))


def _pack(helpdesk: Helpdesk, **kwargs: Any) -> dict[str, bytes]:
    with Session(helpdesk.engine) as s:
        data = build_pack(s, start=START, end=END, tz=TZ, now=NOW, **kwargs)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_manifest_covers_every_file(activity: Helpdesk) -> None:
    files = _pack(activity, settings=AGENCY)
    sums = dict(reversed(line.split("  ", 1)) for line in files[MANIFEST].decode().splitlines())
    # every file but the manifest itself, each digest recomputed here
    assert set(sums) == set(files) - {MANIFEST}
    assert all(sums[name] == hashlib.sha256(files[name]).hexdigest() for name in sums)
    index = files["index.html"].decode()
    shown = set(files) - {MANIFEST, "index.html", "index.pdf"}  # a page cannot hold its own
    assert all(f"<code>{sums[name]}</code>" in index for name in shown)
    # each document 3 files (on this branch: 10 forms + usage, crossunit, trail = 13), the
    # index twice, the sums
    kinds = [k for k in pack_kinds(load()) if k in registry.KINDS]
    assert len(files) == len(kinds) * 3 + 3 and len(kinds) >= 13


def test_front_page_maps_every_criterion_and_says_what_is_missing(activity: Helpdesk) -> None:
    files = _pack(activity, settings=AGENCY)
    index = html.unescape(files["index.html"].decode())
    # every criterion of levels 3, 4 and 5 in the guideline's order
    names = [f"Tingkat {c.level} ({c.code[-1]})" for c in load().criteria]
    assert names == [f"Tingkat 3 ({x})" for x in "bcde"] + [
        "Tingkat 4 (a)",
        "Tingkat 4 (b)",
        "Tingkat 5 (a)",
        "Tingkat 5 (b)",
    ]
    positions = [index.index(n) for n in names]
    assert positions == sorted(positions)
    # generated 10 March 2026 02:00 UTC = 09.00 WIB; approval from the settings
    assert "Dibuat: 10 Mar 2026 09.00 WIB" in index and "2026-03-10T02:00" not in index
    assert "Kementerian Contoh" in index and "Jakarta, 10 Maret 2026" in index
    assert "Agus Setiawan" in index and "Kepala Pusat Data dan Informasi" in index
    # what has no records in the week
    assert "Catatan keluhan: tidak ada catatan pada periode ini." in index
    assert "Belum diisi di pengaturan" not in index
    # the links of the cross-unit criterion (3 e): both documents present, nothing to attach
    crossunit, trail = _stem(files, "crossunit"), _stem(files, "trail")
    assert f'<a href="{crossunit}.html">' in index and f'<a href="{trail}.html">' in index
    row = index[index.index('<tr id="l3e">') : index.index('<tr id="l4a">')]
    assert "terpenuhi dari catatan" in row
    # key figure: 10 of 15 changes made in the application = 66,7 %
    assert "<td>Bagian perubahan di aplikasi (%)</td><td>66,7</td>" in index
    front = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(files["index.pdf"])).pages)
    assert "Bukti Manajemen Layanan SPBE · Kementerian Contoh" in front
    assert "Disetujui oleh" in front and "Agus Setiawan" in front
    assert hashlib.sha256(files["01-catalogue.html"]).hexdigest() in front


def test_front_page_names_the_settings_not_filled_in(activity: Helpdesk) -> None:
    index = html.unescape(_pack(activity)["index.html"].decode())
    assert (
        "Belum diisi di pengaturan: HELPDESK_AGENCY_NAME, HELPDESK_AGENCY_PLACE, "
        "HELPDESK_PREPARER_NAME, HELPDESK_PREPARER_TITLE, HELPDESK_APPROVER_NAME, "
        "HELPDESK_APPROVER_TITLE."
    ) in index
    assert "(belum diisi)" in index


SMALL = """
criteria:
  - code: l4b
    level: 4
    evidence:
      - {report: review, table: actions}
      - {report: evaluation, table: no_such_table}
      - {report: complaints}
  - code: l5a
    level: 5
    evidence:
      - {report: crossunit}
    attach: [previous_pack]
imported_channels: [replay]
"""


def _review(session: Session, start: date, end: date, **kwargs: Any) -> Report:
    """A stand-in for the review report another part of the product adds: two actions."""
    actions = Table("Tindak lanjut", ["Tindakan", "Status"], [["x", "terbuka"]] * 2)
    actions.name = "actions"
    return Report("reviu", "Reviu", kwargs["now"], start, end, sections=[actions])


def test_what_the_application_does_not_hold_is_listed_as_missing(
    activity: Helpdesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(criteria, "load", lambda: criteria.parse(SMALL))
    monkeypatch.delitem(registry.KINDS, "review", raising=False)
    files = _pack(activity, settings=AGENCY)
    index = html.unescape(files["index.html"].decode())
    assert not any(name.endswith("-review.html") for name in files)
    assert 'Laporan "review" belum tersedia di aplikasi ini.' in index
    assert 'Laporan evaluasi layanan: bagian "no_such_table" belum tersedia' in index
    assert "Catatan keluhan: tidak ada catatan pada periode ini." in index
    assert "Perlu dilampirkan: paket bukti periode sebelumnya, sebagai pembanding." in index
    row = index[index.index('<tr id="l4b">') : index.index('<tr id="l5a">')]
    assert "belum ada bukti" in row  # none of the three holds a record
    row = index[index.index('<tr id="l5a">') :]
    assert "sebagian" in row  # the map is there, the previous pack is to be attached


def test_a_kind_the_registry_has_is_included(
    activity: Helpdesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(criteria, "load", lambda: criteria.parse(SMALL))
    monkeypatch.setitem(registry.KINDS, "review", ("reports.kind.evaluation", _review, True))
    files = _pack(activity)
    index = html.unescape(files["index.html"].decode())
    # the forms 01-10, then the kinds of the criteria: review (4 b), crossunit (5 a)
    assert {"11-review.html", "11-review.pdf", "11-review.csv", "12-crossunit.html"} <= set(files)
    assert 'Laporan "review" belum tersedia' not in index
    row = index[index.index('<tr id="l4b">') : index.index('<tr id="l5a">')]
    assert "sebagian" in row and "2 baris data" in row  # the actions are there


@pytest.mark.browser
def test_the_pack_opens_in_a_browser(activity: Helpdesk, tmp_path: Path) -> None:
    from tests.e2e.test_webchat_browser import CHROMIUM, FLAGS

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"chromium not found at {CHROMIUM}")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    for name, data in _pack(activity, settings=AGENCY, lang="en").items():
        (tmp_path / name).write_bytes(data)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page()
            page.goto((tmp_path / "index.html").as_uri())
            assert page.inner_text("h1") == "SPBE Service Management Evidence"
            links = page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.getAttribute('href'))"
            )
            # every link names a file of the pack
            assert links and all((tmp_path / href).exists() for href in links)
            page.click("a[href$='-trail.html']")
            assert page.inner_text("h1") == "Incident Handling Trail (Swimlane)"
            assert page.eval_on_selector("img", "img => img.naturalWidth") > 0
        finally:
            browser.close()
