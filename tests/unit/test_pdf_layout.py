"""The PDF layout read back from the PDF itself (pypdf, text and image positions): no
heading ends a page away from its table or chart, ticket numbers stay on one line,
nothing runs past the page; and the charts' labels, order and numbers (matplotlib's own
figure objects, before they become pixels)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pypdf import PageObject, PdfReader
from sqlmodel import Session, select

from bot.core import tickets
from bot.reports import Chart, Report, Table, build_report, charts, to_pdf
from bot.reports.render import _pdf_measure, _pdf_widths
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import Person

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@dataclass
class Page:
    width: float
    #: (y of the baseline, x, text) of every piece of text
    texts: list[tuple[float, float, str]]
    #: (bottom, top) of every image
    images: list[tuple[float, float]]


def read_page(page: PageObject) -> Page:
    texts: list[tuple[float, float, str]] = []
    images: list[tuple[float, float]] = []

    def on_text(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            # the text matrix placed by the current transformation matrix
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            texts.append((y, x, text.strip()))

    def on_operator(op: bytes, args: object, cm: list[float], tm: list[float]) -> None:
        if op == b"Do":
            images.append((cm[5], cm[5] + cm[3]))

    page.extract_text(visitor_text=on_text, visitor_operand_before=on_operator)
    return Page(float(page.mediabox.width), texts, images)


def read_pages(pdf: bytes) -> list[Page]:
    return [read_page(page) for page in PdfReader(io.BytesIO(pdf)).pages]


def _rows(n: int, start: int) -> list[list[object]]:
    return [
        [
            f"INC-2026-{start + i:06d}",
            "Akses Jarak Jauh (VPN)",
            "P2",
            "dikerjakan",
            "Tidak bisa tersambung ke VPN dari rumah sejak pagi, " * (1 + i % 3),
            "2026-03-02 09:00",
            None,
            "2026-03-02 13:00",
            "Budi Santoso",
            "profil VPN diperbarui dan klien dipasang ulang",
            "sertifikat kedaluwarsa",
            i,
        ]
        for i in range(n)
    ]


HEADERS = [
    "Nomor",
    "Layanan",
    "Prioritas",
    "Status",
    "Judul",
    "Dibuat",
    "Ditanggapi",
    "Diselesaikan",
    "Petugas",
    "Penyelesaian",
    "Akar masalah",
    "Jumlah catatan",
]


def long_report() -> Report:
    """Tables of many lengths between charts, so headings fall at every height of a page."""
    png = charts.availability(
        ["Surel", "VPN", "SSO"], [99.9, 98.2, None], [99.5, 99.5, 99.0], "Ketersediaan"
    )
    sections: list[Table | Chart] = []
    start = 1
    for n, length in enumerate((3, 14, 1, 9, 22, 2, 6, 17, 4, 11)):
        sections.append(Table(f"Tabel {n}", HEADERS, _rows(length, start)))
        start += length
        if n % 2:
            sections.append(Chart(f"Grafik {n}", png))
    return Report(
        "uji", "Laporan uji tata letak", NOW, date(2026, 3, 1), date(2026, 3, 7), sections=sections
    )


def test_no_heading_is_the_last_thing_on_a_page() -> None:
    report = long_report()
    pages = read_pages(to_pdf(report))
    assert len(pages) >= 5  # long enough to test anything
    headings = {s.title: s for s in report.sections}
    seen = set()
    for number, page in enumerate(pages):
        for y, _x, text in page.texts:
            section = headings.get(text)
            if section is None:
                continue
            seen.add(text)
            if isinstance(section, Chart):
                below = [top for bottom, top in page.images if top <= y]
                assert below, f"{text}: its chart is not under it on page {number + 1}"
            else:
                # the header row and at least the first row of the table under the heading
                header = [ty for ty, _, tt in page.texts if tt == "Nomor" and ty < y]
                first = section.rows[0][0]
                row = [ty for ty, _, tt in page.texts if tt == first and ty < y]
                assert header and row, f"{text}: stranded at the foot of page {number + 1}"
    assert seen == set(headings)


def test_ticket_numbers_stay_on_one_line_and_nothing_runs_off_the_page() -> None:
    report = long_report()
    pages = read_pages(to_pdf(report))
    pieces = [text for page in pages for _, _, text in page.texts]
    numbers = [r[0] for s in report.tables for r in s.rows]
    # 3+14+1+9+22+2+6+17+4+11 = 89 rows, each number once as one piece of text
    assert len(numbers) == 89
    assert all(pieces.count(n) == 1 for n in numbers)
    # other short cells too: the times (a created and a resolved time in each of 89 rows)
    assert pieces.count("2026-03-02 09:00") == 89 and pieces.count("2026-03-02 13:00") == 89
    # the 12 columns fit in landscape A4 (842 pt) with 1.5 cm margins (42.5 pt)
    assert all(round(page.width) == 842 for page in pages)
    assert all(x <= page.width - 42 for page in pages for _, x, _ in page.texts)
    # the long titles wrapped (a title of three sentences needs more than one line)
    title = _rows(3, 1)[2][4]
    assert isinstance(title, str) and not any(title.strip() in p for p in pieces)


def test_column_widths_follow_the_longest_word() -> None:
    """A column is never narrower than its longest word; the rest of the width goes to the
    columns that wrap."""
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase.pdfmetrics import stringWidth

    style = getSampleStyleSheet()["BodyText"].clone("s", fontSize=7.5)
    cells = [["Nomor", "Judul"], ["INC-2026-000001", "kata " * 60]]
    widths, minimum = _pdf_widths(_pdf_measure(cells, style), 300.0)
    number = stringWidth("INC-2026-000001", style.fontName, 7.5)
    header = stringWidth("Judul", style.fontName, 7.5)
    assert header > stringWidth("kata", style.fontName, 7.5)
    # minimum = longest word (of the header or the rows) + 3 pt padding on each side + 1 pt
    assert minimum == [number + 7, header + 7]
    # the number column needs nothing more (its one line is its one word); the title
    # column takes the rest: 300 - (number + 7)
    assert widths[0] == number + 7 and abs(widths[1] - (300 - number - 7)) < 1e-9


def test_the_handling_records_print_every_ticket_number_whole(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        user = next(p for p in s.exec(select(Person).order_by(Person.id)) if "pengguna" in p.roles)
        for n in range(40):
            tickets.open_ticket(
                s,
                type_="gangguan",
                title=f"Gangguan nomor {n} yang judulnya panjang sekali " * 3,
                service_id="vpn",
                reporter=user,
                now=T0 + timedelta(minutes=n),
            )
    with Session(helpdesk.engine) as s:
        report = build_report(
            "incidents", s, start=date(2026, 3, 1), end=date(2026, 3, 7), tz="Asia/Jakarta", now=NOW
        )
    numbers = [r[0] for r in report.tables[0].rows]
    assert len(numbers) == 40
    pieces = [text for page in read_pages(to_pdf(report)) for _, _, text in page.texts]
    assert all(n in pieces for n in numbers)


def test_week_labels_say_the_dates() -> None:
    assert charts.week_label(date(2026, 11, 24), date(2026, 11, 30), "id") == "24–30 Nov"
    # across months Babel's interval format spaces the dash (thin spaces)
    across = charts.week_label(date(2026, 12, 28), date(2027, 1, 3), "id")
    assert across == "28 Des\u2009–\u20093 Jan"
    assert (
        charts.week_label(date(2026, 11, 24), date(2026, 11, 30), "en") == "Nov 24\u2009–\u200930"
    )


def test_availability_bars_in_table_order_with_a_target_legend() -> None:
    names = ["Surel", "VPN", "SSO"]
    fig = charts.availability_figure(names, [99.95, 98.25, None], [99.5, 99.5, 99.5], "t", "id")
    ax = fig.axes[0]
    # top to bottom as in the table: the axis runs downwards, first name at the top
    assert ax.yaxis_inverted()
    assert [label.get_text() for label in ax.get_yticklabels()] == names
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "target ketersediaan 99,5%"
    ]
    fig.canvas.draw()
    ticks = [label.get_text() for label in ax.get_xticklabels() if label.get_text()]
    assert ticks and all("," in tick and "." not in tick for tick in ticks)
    mixed = charts.availability_figure(names[:2], [99.9, 99.0], [99.5, 99.0], "t", "en")
    legend = [text.get_text() for text in mixed.axes[0].get_legend().get_texts()]
    assert legend == ["each service's availability target (catalogue)"]


def test_count_axes_are_whole_numbers() -> None:
    days = [date(2026, 3, 1) + timedelta(days=i) for i in range(7)]
    fig = charts.volume_figure(days, [0, 1, 2, 1, 0, 3, 1], "t", "id")
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = [label.get_text() for label in ax.get_yticklabels() if label.get_text()]
    # whole numbers only: no "0,5" between the counts
    assert ticks and all(tick.isdigit() for tick in ticks)
    assert [label.get_text() for label in ax.get_xticklabels()][:2] == ["1 Mar", "2 Mar"]


def test_thousands_on_a_count_axis_in_indonesian() -> None:
    fig = charts.volume_figure([date(2026, 3, 1)], [12_000], "t", "id")
    fig.canvas.draw()
    ticks = [label.get_text() for label in fig.axes[0].get_yticklabels() if label.get_text()]
    # steps of 1.500 (the axis runs to 12.000 × 1,1 = 13.200), grouped with a dot
    assert {"1.500", "12.000"} <= set(ticks)
