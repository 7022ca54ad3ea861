"""Renderers: printable HTML (Jinja2), PDF (reportlab) and CSV, all from one `Report`,
with their own labels (generated, period, no data) in the report's language."""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import dataclass
from numbers import Number
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.i18n import fmt_dt, fmt_number, t
from bot.reports.model import Chart, Report, Table

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
    autoescape=select_autoescape(["html"]),
)


def cell_text(value: Any, lang: str) -> str:
    """A table cell as every document and the chat show it. Numbers as the reader writes
    them (`bot.i18n.fmt_number`): 1.234,50 in Indonesian, 1,234.50 in English; a figure
    with its own precision (`Fixed`) keeps it."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return fmt_number(value, lang, getattr(value, "digits", 2))
    if isinstance(value, int):
        return fmt_number(value, lang)
    return str(value)


_cell = cell_text  # the name the PDF and HTML renderers use


def _period(report: Report) -> str:
    """The period as "2026-03-01 s.d. 2026-03-07"; empty for documents without one."""
    if not (report.start and report.end):
        return ""
    return t(
        "reports.meta.range",
        report.lang,
        start=report.start.isoformat(),
        end=report.end.isoformat(),
    )


def to_html(report: Report) -> str:
    lang = report.lang
    sections = []
    for s in report.sections:
        if isinstance(s, Chart):
            sections.append(
                {
                    "chart": True,
                    "title": s.title,
                    "src": "data:image/png;base64," + base64.b64encode(s.png).decode(),
                }
            )
        else:
            sections.append(
                {
                    "chart": False,
                    "title": s.title,
                    "headers": s.headers,
                    "rows": [[_cell(c, lang) for c in r] for r in s.rows],
                    "note": s.note,
                }
            )
    labels = {
        "generated": t("reports.meta.generated", lang),
        "period": t("reports.meta.period", lang),
        "service": t("reports.meta.service", lang),
        "no_data": t("reports.meta.no_data", lang),
    }
    return _env.get_template("report.html").render(
        report=report,
        sections=sections,
        labels=labels,
        generated=fmt_dt(report.generated_at, lang),
        period=_period(report),
    )


def to_csv(report: Report) -> str:
    """Tables one after another, each headed by a '# title' line; charts are left out.
    Cells keep raw numbers (a spreadsheet reads 99.854 as a number); the '#' lines
    (title, period, generated, notes) are written in the report's language."""
    lang = report.lang
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"# {report.title}"])
    if report.start and report.end:
        label = t("reports.meta.period_csv", lang)
        writer.writerow([f"# {label}", report.start.isoformat(), report.end.isoformat()])
    writer.writerow(
        [f"# {t('reports.meta.generated_csv', lang)}", fmt_dt(report.generated_at, lang)]
    )
    for table in report.tables:
        writer.writerow([])
        writer.writerow([f"# {table.title}"])
        writer.writerow([_csv_cell(h) for h in table.headers])
        for row in table.rows:
            writer.writerow([_csv_cell(c) for c in row])
        if table.note:
            writer.writerow([f"# {table.note}"])
    if report.notes:
        writer.writerow([])
        for note in report.notes:
            writer.writerow([f"# {note}"])
    return out.getvalue()


#: a spreadsheet reads a cell starting with these as a formula (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """Text a user typed (a ticket title) must not run as a formula when the report is
    opened: it gets a leading quote. Numbers stay numbers, negative ones included."""
    if value is None:
        return ""
    if isinstance(value, Number):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_pdf(report: Report) -> bytes:
    """A4, landscape when a table needs the width. A heading always stands on the page of
    the chart or the first rows of the table it names; columns are as wide as their
    longest word (ticket numbers and other codes stay on one line) and long texts wrap."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    lang = report.lang
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    texts = [_pdf_texts(s, lang) for s in report.sections]
    measures = [_pdf_measure(cells, small) if cells else None for cells in texts]
    margin = 1.5 * cm
    portrait = A4[0] - 2 * margin
    wide = any(
        len(s.headers) > 6 or sum(_pdf_widths(m, portrait)[1]) > portrait
        for s, m in zip(report.sections, measures, strict=True)
        if isinstance(s, Table) and m is not None
    )
    size = landscape(A4) if wide else A4
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=size,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=report.title,
    )
    story: list[Any] = [Paragraph(_esc(report.title), styles["Title"])]
    meta = [f"{t('reports.meta.generated', lang)}: {fmt_dt(report.generated_at, lang)}"]
    if report.start and report.end:
        meta.append(f"{t('reports.meta.period', lang)}: {_period(report)}")
    if report.service:
        meta.append(f"{t('reports.meta.service', lang)}: {report.service}")
    story.append(Paragraph(_esc(" · ".join(meta)), styles["BodyText"]))
    if report.intro:
        story.append(Paragraph(_esc(report.intro), styles["BodyText"]))
    frame = (doc.width, doc.height)
    for s, cells, m in zip(report.sections, texts, measures, strict=True):
        heading = Paragraph(_esc(s.title), styles["Heading3"])
        if isinstance(s, Chart):
            story.append(_pdf_chart(heading, s, frame))
        elif m is not None:
            story += _pdf_table(heading, s, cells, m, frame, small, lang)
    for note in report.notes:
        story.append(Paragraph(_esc(note), small))
    doc.build(story)
    return buf.getvalue()


#: points between a cell's text and its border, left and right (and above and below)
_PAD = 3.0


def _pdf_texts(section: Table | Chart, lang: str) -> list[list[str]]:
    """A table's header and rows as the texts the PDF prints, every row as long as the
    header; nothing for a chart."""
    if isinstance(section, Chart):
        return []
    n = len(section.headers)
    rows = [[_cell(c, lang) for c in row][:n] for row in section.rows]
    return [list(section.headers)] + [row + [""] * (n - len(row)) for row in rows]


@dataclass(frozen=True)
class _Measure:
    """A table's text widths per column, measured once for every page width tried."""

    body_word: list[float]  # the longest word of the rows
    body_short: list[float]  # ... or the longest short cell (a date and time, a name)
    head_word: list[float]  # the longest word of the header
    line: list[float]  # the longest cell on one line
    cells: list[list[float]]  # every row's cells on one line


#: a cell this short (a ticket number, "2026-03-02 09:00", "2 Mar 2026 09.00 WIB", a
#: person's name) is kept on one line when the page is wide enough
_SHORT = 20


def _pdf_measure(cells: list[list[str]], style: Any) -> _Measure:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    def width(text: str) -> float:
        return float(stringWidth(text, style.fontName, style.fontSize))

    header, *rows = cells
    columns = range(len(header))
    lines = [[width(c) for c in row] for row in rows]
    word = [0.0] * len(header)
    short = [0.0] * len(header)
    for row, widths in zip(rows, lines, strict=True):
        for i in columns:
            if widths[i] > short[i] and len(row[i]) <= _SHORT:
                short[i] = widths[i]
            if widths[i] > word[i]:  # a word is never longer than its cell
                word[i] = max([word[i], *(width(w) for w in row[i].split())])
    head_line = [width(h) for h in header]
    return _Measure(
        word,
        [max(w, sh) for w, sh in zip(word, short, strict=True)],
        [max((width(w) for w in h.split()), default=0.0) for h in header],
        [max([head_line[i], *(w[i] for w in lines)]) for i in columns],
        lines,
    )


def _pdf_widths(m: _Measure, avail: float) -> tuple[list[float], list[float]]:
    """Column widths the way a browser lays out an automatic table: each column at least
    as wide as its longest word and its short cells (its minimum), at most as its longest
    line; the room left goes to the columns whose text would wrap. A code such as a
    ticket number is one word, so it is never split. Returns (widths, minimums)."""
    slack = 2 * _PAD + 1
    # what may wrap when the page is too narrow, in this order: the short cells and the
    # headers' words first, the rows' words (the codes) last
    for body, head in ((m.body_short, m.head_word), (m.body_short, None), (m.body_word, None)):
        low = [max(b, h) + slack for b, h in zip(body, head or body, strict=True)]
        if sum(low) <= avail:
            break
    high = [max(lo, w + slack) for lo, w in zip(low, m.line, strict=True)]
    if sum(high) <= avail:
        extra = avail - sum(high)
        return [w + extra * w / sum(high) for w in high], low
    if sum(low) <= avail:
        give = [h - lo for h, lo in zip(high, low, strict=True)]
        spare = avail - sum(low)
        return [lo + spare * g / sum(give) for lo, g in zip(low, give, strict=True)], low
    return [lo * avail / sum(low) for lo in low], low


def _pdf_chart(heading: Any, chart: Chart, frame: tuple[float, float]) -> Any:
    """A chart and its heading move to the next page together."""
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, KeepTogether, Spacer

    img = Image(io.BytesIO(chart.png))
    _, head_h = heading.wrap(frame[0], frame[1])
    scale = min(1.0, frame[0] / img.drawWidth, (frame[1] - head_h - cm) / img.drawHeight)
    img.drawWidth, img.drawHeight = img.drawWidth * scale, img.drawHeight * scale
    return KeepTogether([Spacer(1, 0.4 * cm), heading, img])


def _pdf_table(
    heading: Any,
    section: Table,
    cells: list[list[str]],
    measure: _Measure,
    frame: tuple[float, float],
    style: Any,
    lang: str,
) -> list[Any]:
    """A short table moves to the next page whole, with its heading; a long one starts on
    a page with room for its heading, its header row and its first rows (the header row
    is repeated on every page)."""
    from reportlab.lib import colors
    from reportlab.lib.units import cm
    from reportlab.platypus import CondPageBreak, KeepTogether, LongTable, Paragraph, Spacer
    from reportlab.platypus import TableStyle as Style

    width, height = frame
    widths, _ = _pdf_widths(measure, width)
    # a cell that fits on one line is drawn as a plain string: a Paragraph per cell is
    # what makes a table of thousands of tickets slow, and only wrapping needs one
    room = [w - 2 * _PAD for w in widths]
    data: list[list[Any]] = [[Paragraph(_esc(c), style) for c in cells[0]]]
    data += [
        [
            c if w <= room[i] and "\n" not in c else Paragraph(_esc(c), style)
            for i, (c, w) in enumerate(zip(row, line, strict=True))
        ]
        for row, line in zip(cells[1:], measure.cells, strict=True)
    ]
    if len(data) == 1:
        empty = Paragraph(_esc(t("reports.meta.no_data", lang)), style)
        data.append([empty] + [""] * (len(cells[0]) - 1))
    style_commands = Style(
        [
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("FONT", (0, 0), (-1, -1), style.fontName, style.fontSize, style.leading),
            ("LEFTPADDING", (0, 0), (-1, -1), _PAD),
            ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
            ("TOPPADDING", (0, 0), (-1, -1), _PAD / 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), _PAD / 2),
        ]
    )
    table = LongTable(data, repeatRows=1, colWidths=widths, style=style_commands)
    block: list[Any] = [Spacer(1, 0.4 * cm), heading, table]
    if section.note:
        block.append(Paragraph(_esc(section.note), style))
    # the first rows alone are measured: wrapping a table of thousands of rows here
    # would lay it out twice
    probe = LongTable(data[:_SHORT_ROWS], colWidths=widths, style=style_commands)
    _, probe_h = probe.wrap(width, height)
    _, head_h = heading.wrap(width, height)
    if len(data) <= _SHORT_ROWS and probe_h + head_h <= height / 3:
        return [KeepTogether(block)]
    first_rows = sum(probe._rowHeights[:3])  # the header row and two rows
    room = 0.4 * cm + heading.getSpaceBefore() + head_h + heading.getSpaceAfter() + first_rows
    return [CondPageBreak(room), *block]


#: a table of at most this many rows (with its header) that takes a third of a page or
#: less moves to the next page whole rather than split
_SHORT_ROWS = 12


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
