"""The SPBE evidence pack: every form Level 3 of the guideline asks for, generated from
the records, as HTML, PDF and CSV in one archive with an index page."""

from __future__ import annotations

import html
import io
import zipfile
from datetime import date, datetime

from sqlmodel import Session

from bot.i18n import DEFAULT_LANG, norm_lang, t
from bot.reports.registry import build_report, title
from bot.reports.render import to_csv, to_html, to_pdf

#: The forms of guideline ch. 3.6 (maturity level 3, in its order, then the review record of
#: levels 4 and 5), by the report that is each.
FORM_KINDS = (
    "catalogue",
    "priority",
    "continuity",
    "requests",
    "incidents",
    "availability",
    "evaluation",
    "exception",
    "sla",
    "complaints",
    # levels 4 and 5: the periodic review and its follow-up (ch. 3.6)
    "review",
)


def forms(lang: str = DEFAULT_LANG) -> list[tuple[str, str]]:
    """(name of the form as the guideline calls it, report kind), in the guideline's order."""
    return [(t(f"reports.evidence.forms.{kind}", lang), kind) for kind in FORM_KINDS]


#: The forms with their Indonesian names, the language of the guideline.
FORMS = forms()


def build_pack(
    session: Session,
    *,
    start: date,
    end: date,
    tz: str,
    now: datetime,
    lang: str = DEFAULT_LANG,
) -> bytes:
    lang = norm_lang(lang)
    buf = io.BytesIO()
    items = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (form, kind) in enumerate(forms(lang), start=1):
            report = build_report(kind, session, start=start, end=end, tz=tz, now=now, lang=lang)
            stem = f"{n:02d}-{kind}"
            zf.writestr(f"{stem}.html", to_html(report))
            zf.writestr(f"{stem}.pdf", to_pdf(report))
            zf.writestr(f"{stem}.csv", to_csv(report))
            rows = sum(len(tb.rows) for tb in report.tables)
            items.append((form, title(kind, lang), stem, rows))
        zf.writestr("index.html", _index(items, start, end, now, lang))
    return buf.getvalue()


def _index(
    items: list[tuple[str, str, str, int]], start: date, end: date, now: datetime, lang: str
) -> str:
    def text(key: str, **params: str) -> str:
        return html.escape(t(key, lang, **params))

    rows = "\n".join(
        f"<tr><td>{html.escape(form)}</td><td>{html.escape(doc)}</td><td>{n}</td>"
        f'<td><a href="{stem}.html">HTML</a> · <a href="{stem}.pdf">PDF</a> · <a href="{stem}.csv">CSV</a></td></tr>'
        for form, doc, stem, n in items
    )
    heading = text("reports.evidence.title")
    period = text(
        "reports.evidence.period",
        start=start.isoformat(),
        end=end.isoformat(),
        at=now.isoformat(timespec="minutes"),
    )
    headers = "".join(
        f"<th>{text(key)}</th>"
        for key in (
            "reports.evidence.form",
            "reports.evidence.document",
            "reports.evidence.rows",
            "reports.evidence.files",
        )
    )
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{heading}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:.3rem .6rem}}</style>
</head><body><h1>{heading}</h1>
<p>{period}</p>
<table><thead><tr>{headers}</tr></thead>
<tbody>{rows}</tbody></table></body></html>"""
