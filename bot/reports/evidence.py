"""The SPBE evidence pack: every form the guideline (ch. 3.6) asks for and every report
kind its criteria name (criteria.yaml), generated from the records as HTML, PDF and CSV,
with a self-assessment front page (index.html and index.pdf) and a SHA-256 manifest
(SHA256SUMS, `sha256sum -c` reads it) in one zip archive."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.config import Settings
from bot.i18n import DEFAULT_LANG, norm_lang, t
from bot.reports import criteria, self_assessment
from bot.reports.registry import KINDS, build_report, title
from bot.reports.render import to_csv, to_html, to_pdf
from bot.reports.self_assessment import Approval, Document, FrontPage

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
MANIFEST = "SHA256SUMS"


def forms(lang: str = DEFAULT_LANG) -> list[tuple[str, str]]:
    """(name of the form as the guideline calls it, report kind), in the guideline's order."""
    return [(t(f"reports.evidence.forms.{kind}", lang), kind) for kind in FORM_KINDS]


#: The forms with their Indonesian names, the language of the guideline.
FORMS = forms()


def pack_kinds(spec: criteria.Criteria) -> list[str]:
    """The forms first (their numbers never move), then what else the criteria name."""
    return list(dict.fromkeys([*FORM_KINDS, *spec.kinds()]))


def build_pack(
    session: Session,
    *,
    start: date,
    end: date,
    tz: str,
    now: datetime,
    lang: str = DEFAULT_LANG,
    settings: Settings | None = None,
) -> bytes:
    """`settings` gives the agency and the approval block; without them the front page
    says which settings are not filled in."""
    lang = norm_lang(lang)
    spec = criteria.load()
    names = dict((kind, form) for form, kind in forms(lang))
    files: dict[str, bytes] = {}
    documents: dict[str, Document] = {}
    for kind in (k for k in pack_kinds(spec) if k in KINDS):
        report = build_report(kind, session, start=start, end=end, tz=tz, now=now, lang=lang)
        stem = f"{len(documents) + 1:02d}-{kind}"
        files[f"{stem}.html"] = to_html(report).encode()
        files[f"{stem}.pdf"] = to_pdf(report)
        files[f"{stem}.csv"] = to_csv(report).encode()
        documents[kind] = Document(kind, title(kind, lang), stem, report)
    page = FrontPage(
        lang=lang,
        start=start,
        end=end,
        tz=tz,
        generated_at=now,
        approval=Approval.from_settings(settings, now, tz),
        figures=_figures(documents, lang),
        assessed=self_assessment.assess(spec, documents, lang),
        documents=[(names.get(kind, doc.title), doc) for kind, doc in documents.items()],
        manifest=[(name, sha256(data)) for name, data in files.items()],
    )
    files["index.html"] = self_assessment.to_index_html(page).encode()
    files["index.pdf"] = to_pdf(self_assessment.as_report(page))
    files[MANIFEST] = "".join(f"{sha256(data)}  {name}\n" for name, data in files.items()).encode()
    stamp = now.astimezone(ZoneInfo(tz)).timetuple()[:6]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=stamp), data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _figures(documents: dict[str, Document], lang: str) -> list[list[object]]:
    """The key figures of the front page: the usage summary, the size of the cross-unit
    map and the incident drawn on the swimlane (each when the pack holds its report)."""
    rows: list[list[object]] = []
    if "usage" in documents:
        usage = documents["usage"].report
        rows += [list(r) for tb in usage.tables if tb.name == "summary" for r in tb.rows]
    if "crossunit" in documents:
        units = documents["crossunit"].report
        counts = {tb.name: len(tb.rows) for tb in units.tables}
        rows.append([t("reports.evidence.figure.services", lang), counts.get("map", 0)])
        rows.append([t("reports.evidence.figure.units", lang), counts.get("units", 0)])
    if "trail" in documents:
        steps = [tb for tb in documents["trail"].report.tables if tb.name == "steps"]
        shown = steps[0].title if steps and steps[0].rows else t("reports.trail.none", lang)
        rows.append([t("reports.evidence.figure.trail", lang), shown])
    return rows
