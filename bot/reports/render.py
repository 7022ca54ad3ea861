"""Renderers: printable HTML (Jinja2), PDF (reportlab) and CSV, all from one `Report`,
with their own labels (generated, period, no data) in the report's language."""

from __future__ import annotations

import base64
import csv
import io
from numbers import Number
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.i18n import fmt_dt, fmt_number, t
from bot.reports.model import Chart, Report

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
    lang = report.lang
    meta = [f"{t('reports.meta.generated', lang)}: {fmt_dt(report.generated_at, lang)}"]
    if report.start and report.end:
        meta.append(f"{t('reports.meta.period', lang)}: {_period(report)}")
    if report.service:
        meta.append(f"{t('reports.meta.service', lang)}: {report.service}")
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
        data += [[Paragraph(_esc(_cell(c, lang)), small) for c in row] for row in s.rows] or [
            [Paragraph(_esc(t("reports.meta.no_data", lang)), small)] + [""] * (len(s.headers) - 1)
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
