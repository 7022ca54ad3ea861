"""The front page of the evidence pack: a self-assessment that maps each criterion of
guideline ch. 3.6 (levels 3–5) to its files in the pack, with the period, key figures,
an honest list of what is missing, the approval block and the SHA-256 manifest. One set
of data, printed twice: as the index page (HTML, with links) and as a PDF."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.config import Settings
from bot.i18n import fmt_dt, fmt_number, t
from bot.reports.criteria import Criteria, Criterion
from bot.reports.model import Report, Table

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
    autoescape=select_autoescape(["html"]),
)

OK, EMPTY, UNAVAILABLE = "ok", "empty", "unavailable"
_STATUS = {
    "complete": "reports.evidence.status.complete",
    "partial": "reports.evidence.status.partial",
    "missing": "reports.evidence.status.missing",
}
_FILE_TYPES = ("html", "pdf", "csv")


@dataclass
class Document:
    """A report of the pack and the stem of its files (`05-incidents` → .html/.pdf/.csv)."""

    kind: str
    title: str
    stem: str
    report: Report

    def rows(self, table: str | None) -> int | None:
        """Rows of the named table (None when the report has no such table), or of all."""
        if table is None:
            return sum(len(tb.rows) for tb in self.report.tables)
        found = [tb for tb in self.report.tables if tb.name == table]
        return len(found[0].rows) if found else None

    def table_title(self, table: str) -> str:
        return next(tb.title for tb in self.report.tables if tb.name == table)


@dataclass
class Found:
    """One piece of evidence a criterion asks for, as the pack holds it."""

    label: str
    state: str
    stem: str | None = None
    rows: int | None = None


@dataclass
class Assessed:
    criterion: Criterion
    text: str
    found: list[Found]
    attach: list[str]

    @property
    def status(self) -> str:
        good = [f for f in self.found if f.state == OK]
        if good and len(good) == len(self.found) and not self.attach:
            return "complete"
        return "partial" if good else "missing"


@dataclass
class Approval:
    """Who prepared and who approved the pack, where and when (from the settings)."""

    agency: str
    place: str
    day: date
    prepared: tuple[str, str]
    approved: tuple[str, str]
    unset: list[str] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings | None, now: datetime, tz: str) -> Approval:
        values = {
            "HELPDESK_AGENCY_NAME": settings.agency_name if settings else "",
            "HELPDESK_AGENCY_PLACE": settings.agency_place if settings else "",
            "HELPDESK_PREPARER_NAME": settings.preparer_name if settings else "",
            "HELPDESK_PREPARER_TITLE": settings.preparer_title if settings else "",
            "HELPDESK_APPROVER_NAME": settings.approver_name if settings else "",
            "HELPDESK_APPROVER_TITLE": settings.approver_title if settings else "",
        }
        return cls(
            agency=values["HELPDESK_AGENCY_NAME"],
            place=values["HELPDESK_AGENCY_PLACE"],
            day=now.astimezone(ZoneInfo(tz)).date(),
            prepared=(values["HELPDESK_PREPARER_NAME"], values["HELPDESK_PREPARER_TITLE"]),
            approved=(values["HELPDESK_APPROVER_NAME"], values["HELPDESK_APPROVER_TITLE"]),
            unset=[name for name, value in values.items() if not value],
        )


@dataclass
class FrontPage:
    lang: str
    start: date
    end: date
    tz: str
    generated_at: datetime
    approval: Approval
    figures: list[list[object]]
    assessed: list[Assessed]
    documents: list[tuple[str, Document]]
    manifest: list[tuple[str, str]] = field(default_factory=list)

    @property
    def missing(self) -> list[tuple[str, str]]:
        """(criterion, what is missing), in the criteria's order, then the approval block."""
        out = []
        for a in self.assessed:
            name = criterion_name(a.criterion, self.lang)
            for f in a.found:
                if f.state == UNAVAILABLE:
                    out.append(
                        (name, t("reports.evidence.gap.unavailable", self.lang, what=f.label))
                    )
                elif f.state == EMPTY:
                    out.append(
                        (name, t("reports.evidence.gap.no_records", self.lang, what=f.label))
                    )
            out += [(name, t("reports.evidence.gap.attach", self.lang, what=w)) for w in a.attach]
        if self.approval.unset:
            out.append(
                (
                    t("reports.evidence.approval", self.lang),
                    t(
                        "reports.evidence.gap.unset",
                        self.lang,
                        names=", ".join(self.approval.unset),
                    ),
                )
            )
        return out


def _figure(value: object, lang: str) -> str:
    """A key figure as the documents print it (shares are rounded to one decimal)."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return fmt_number(value, lang, 1)


def criterion_name(c: Criterion, lang: str) -> str:
    """ "Tingkat 3 (c)": the level and the item letter of the guideline."""
    return t("reports.evidence.criterion_name", lang, level=c.level, item=c.code[-1])


def assess(spec: Criteria, documents: dict[str, Document], lang: str) -> list[Assessed]:
    out = []
    for c in spec.criteria:
        found = []
        for e in c.evidence:
            doc = documents.get(e.report)
            if doc is None:
                label = t("reports.evidence.kind_unavailable", lang, kind=e.report)
                found.append(Found(label, UNAVAILABLE))
                continue
            rows = doc.rows(e.table)
            if rows is None:
                label = t("reports.evidence.table_unavailable", lang, doc=doc.title, table=e.table)
                found.append(Found(label, UNAVAILABLE, doc.stem))
                continue
            label = f"{doc.title}: {doc.table_title(e.table)}" if e.table else doc.title
            state = OK if rows or e.empty_ok else EMPTY
            found.append(Found(label, state, doc.stem, rows))
        attach = [t(f"reports.evidence.attach.{key}", lang) for key in c.attach]
        out.append(Assessed(c, t(f"reports.evidence.criterion.{c.code}", lang), found, attach))
    return out


def _approval_rows(page: FrontPage) -> list[list[object]]:
    lang, a = page.lang, page.approval
    unset = t("reports.evidence.unset", lang)
    when = format_date(a.day, "d MMMM y", locale=lang)
    place_date = f"{a.place}, {when}" if a.place else when
    return [
        [t(role, lang), name or unset, title or unset, place_date, ""]
        for role, (name, title) in (
            ("reports.evidence.prepared_by", a.prepared),
            ("reports.evidence.approved_by", a.approved),
        )
    ]


def _approval_headers(lang: str) -> list[str]:
    return [
        t(key, lang)
        for key in (
            "reports.evidence.role",
            "reports.column.name",
            "reports.evidence.position",
            "reports.evidence.place_date",
            "reports.evidence.signature",
        )
    ]


def _criteria_headers(lang: str) -> list[str]:
    return [
        t(key, lang)
        for key in (
            "reports.evidence.level",
            "reports.evidence.criterion_column",
            "reports.evidence.evidence_column",
            "reports.evidence.status_column",
        )
    ]


def _found_text(f: Found, lang: str) -> str:
    if f.state == UNAVAILABLE:
        return f.label
    rows = t("reports.evidence.records", lang, n=_figure(f.rows, lang))
    return f"{f.label} ({f.stem}; {rows})"


def title(page: FrontPage) -> str:
    """The pack's title; the PDF adds the agency, the index names it under the title."""
    return t("reports.evidence.title", page.lang)


def as_report(page: FrontPage) -> Report:
    """The front page as a `Report`, so the PDF is laid out like every other document."""
    lang = page.lang
    criteria_rows: list[list[object]] = [
        [
            a.criterion.level,
            f"{criterion_name(a.criterion, lang)}: {a.text}",
            "; ".join(_found_text(f, lang) for f in a.found)
            + "".join(f"; {t('reports.evidence.to_attach', lang)}: {w}" for w in a.attach),
            t(_STATUS[a.status], lang),
        ]
        for a in page.assessed
    ]
    agency = page.approval.agency
    return Report(
        "penilaian-mandiri",
        f"{title(page)} · {agency}" if agency else title(page),
        page.generated_at,
        page.start,
        page.end,
        intro=f"{t('reports.evidence.self_assessment', lang)}. {t('reports.evidence.intro', lang)}",
        sections=[
            Table(
                t("reports.evidence.figures", lang),
                [t("reports.column.measure", lang), t("reports.column.value", lang)],
                [[_figure(c, lang) for c in row] for row in page.figures],
                name="figures",
            ),
            Table(
                t("reports.evidence.mapping", lang),
                _criteria_headers(lang),
                criteria_rows,
                name="criteria",
            ),
            Table(
                t("reports.evidence.missing", lang),
                [
                    t("reports.evidence.criterion_column", lang),
                    t("reports.evidence.gap_column", lang),
                ],
                [list(m) for m in page.missing],
                name="missing",
            ),
            Table(
                t("reports.evidence.approval", lang),
                _approval_headers(lang),
                _approval_rows(page),
                name="approval",
            ),
            Table(
                t("reports.evidence.manifest", lang),
                [t("reports.evidence.file", lang), "SHA-256"],
                [list(m) for m in page.manifest],
                note=t("reports.evidence.manifest_note", lang),
                name="manifest",
            ),
        ],
        lang=lang,
    )


def to_index_html(page: FrontPage) -> str:
    """The index page of the archive: the same content as the PDF, with links."""
    lang = page.lang
    labels = {
        key: t(f"reports.evidence.{key}", lang)
        for key in (
            "period_label",
            "generated",
            "figures",
            "mapping",
            "missing",
            "nothing_missing",
            "approval",
            "manifest",
            "manifest_note",
            "documents",
            "form",
            "document",
            "rows",
            "files",
            "file",
            "to_attach",
            "front_pdf",
        )
    }
    return _env.get_template("self_assessment.html").render(
        page=page,
        title=title(page),
        labels=labels,
        subtitle=t("reports.evidence.self_assessment", lang),
        measure=[t("reports.column.measure", lang), t("reports.column.value", lang)],
        criteria_headers=_criteria_headers(lang),
        criterion_names={
            a.criterion.code: criterion_name(a.criterion, lang) for a in page.assessed
        },
        statuses={a.criterion.code: t(_STATUS[a.status], lang) for a in page.assessed},
        gap_headers=[
            t("reports.evidence.criterion_column", lang),
            t("reports.evidence.gap_column", lang),
        ],
        approval_headers=_approval_headers(lang),
        approval_rows=_approval_rows(page),
        figures=[[_figure(c, lang) for c in row] for row in page.figures],
        records={
            a.criterion.code: [
                t("reports.evidence.records", lang, n=_figure(f.rows, lang)) for f in a.found
            ]
            for a in page.assessed
        },
        documents=[(name, doc, _figure(doc.rows(None), lang)) for name, doc in page.documents],
        file_types=_FILE_TYPES,
        generated=fmt_dt(page.generated_at, lang, page.tz),
        period=t(
            "reports.meta.range", lang, start=page.start.isoformat(), end=page.end.isoformat()
        ),
    )
