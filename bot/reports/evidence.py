"""The SPBE evidence pack: every form Level 3 of the guideline asks for, generated from
the records, as HTML, PDF and CSV in one archive with an index page."""

from __future__ import annotations

import html
import io
import zipfile
from datetime import date, datetime

from sqlmodel import Session

from bot.reports.registry import KINDS, build_report
from bot.reports.render import to_csv, to_html, to_pdf

#: The forms of guideline ch. 3.6 (maturity level 3), in its order, and which report is each.
FORMS = [
    ("Katalog layanan", "catalogue"),
    ("Prioritas penanganan insiden", "priority"),
    ("Rencana keberlangsungan layanan", "continuity"),
    ("Permintaan layanan", "requests"),
    ("Penanganan insiden", "incidents"),
    ("Laporan ketersediaan layanan", "availability"),
    ("Laporan evaluasi layanan", "evaluation"),
    ("Laporan pengecualian (exception report)", "exception"),
    ("Dokumen SLA (data pendukung)", "sla"),
    ("Catatan keluhan (data pendukung)", "complaints"),
]


def build_pack(session: Session, *, start: date, end: date, tz: str, now: datetime) -> bytes:
    buf = io.BytesIO()
    items = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (form, kind) in enumerate(FORMS, start=1):
            report = build_report(kind, session, start=start, end=end, tz=tz, now=now)
            stem = f"{n:02d}-{kind}"
            zf.writestr(f"{stem}.html", to_html(report))
            zf.writestr(f"{stem}.pdf", to_pdf(report))
            zf.writestr(f"{stem}.csv", to_csv(report))
            rows = sum(len(t.rows) for t in report.tables)
            items.append((form, KINDS[kind][0], stem, rows))
        zf.writestr("index.html", _index(items, start, end, now))
    return buf.getvalue()


def _index(items: list[tuple[str, str, str, int]], start: date, end: date, now: datetime) -> str:
    rows = "\n".join(
        f"<tr><td>{html.escape(form)}</td><td>{html.escape(title)}</td><td>{n}</td>"
        f'<td><a href="{stem}.html">HTML</a> · <a href="{stem}.pdf">PDF</a> · <a href="{stem}.csv">CSV</a></td></tr>'
        for form, title, stem, n in items
    )
    return f"""<!doctype html><html lang="id"><head><meta charset="utf-8"><title>Bukti Manajemen Layanan SPBE</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:.3rem .6rem}}</style>
</head><body><h1>Bukti Manajemen Layanan SPBE</h1>
<p>Periode {start.isoformat()} s.d. {end.isoformat()} · dibuat {now.isoformat(timespec="minutes")} dari catatan aplikasi manajemen layanan.</p>
<table><thead><tr><th>Formulir (Pedoman, tingkat 3)</th><th>Dokumen</th><th>Baris data</th><th>Berkas</th></tr></thead>
<tbody>{rows}</tbody></table></body></html>"""
