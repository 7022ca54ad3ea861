"""Renderers: printable HTML (Jinja2), PDF (reportlab) and CSV, all from one `Report`."""

from __future__ import annotations

import base64
import csv
import io
from numbers import Number
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.i18n import fmt_dt
from bot.reports.model import Chart, Report

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
    autoescape=select_autoescape(["html"]),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", "·").replace(".", ",").replace("·", ".")
    return str(value)


def to_html(report: Report) -> str:
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
                    "rows": [[_cell(c) for c in r] for r in s.rows],
                    "note": s.note,
                }
            )
    return _env.get_template("report.html").render(
        report=report, sections=sections, generated=fmt_dt(report.generated_at, "id")
    )


def to_csv(report: Report) -> str:
    """Tables one after another, each headed by a '# title' line; charts are left out."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"# {report.title}"])
    if report.start and report.end:
        writer.writerow(["# periode", report.start.isoformat(), report.end.isoformat()])
    for table in report.tables:
        writer.writerow([])
        writer.writerow([f"# {table.title}"])
        writer.writerow([_csv_cell(h) for h in table.headers])
        for row in table.rows:
            writer.writerow([_csv_cell(c) for c in row])
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
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import (
        Image,
        LongTable,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )

    buf = io.BytesIO()
    wide = any(len(t.headers) > 6 for t in report.tables)
    size = landscape(A4) if wide else A4
    doc = SimpleDocTemplate(
        buf,
        pagesize=size,
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.5 * cm,
        title=report.title,
    )
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    story: list[Any] = [Paragraph(_esc(report.title), styles["Title"])]
    meta = [f"Dibuat: {fmt_dt(report.generated_at, 'id')}"]
    if report.start and report.end:
        meta.append(f"Periode: {report.start.isoformat()} s.d. {report.end.isoformat()}")
    if report.service:
        meta.append(f"Layanan: {report.service}")
    story.append(Paragraph(_esc(" · ".join(meta)), styles["BodyText"]))
    if report.intro:
        story.append(Paragraph(_esc(report.intro), styles["BodyText"]))
    width = size[0] - 3 * cm
    for s in report.sections:
        story.append(Spacer(1, 0.4 * cm))
        story.append(Paragraph(_esc(s.title), styles["Heading3"]))
        if isinstance(s, Chart):
            img = Image(io.BytesIO(s.png))
            scale = min(1.0, width / img.drawWidth)
            img.drawWidth, img.drawHeight = img.drawWidth * scale, img.drawHeight * scale
            story.append(img)
            continue
        data = [[Paragraph(_esc(h), small) for h in s.headers]]
        data += [[Paragraph(_esc(_cell(c)), small) for c in row] for row in s.rows] or [
            [Paragraph("(tidak ada data)", small)] + [""] * (len(s.headers) - 1)
        ]
        table = LongTable(
            data, repeatRows=1, colWidths=[width / max(1, len(s.headers))] * len(s.headers)
        )
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
        if s.note:
            story.append(Paragraph(_esc(s.note), small))
    for note in report.notes:
        story.append(Paragraph(_esc(note), small))
    doc.build(story)
    return buf.getvalue()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
