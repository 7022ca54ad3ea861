"""The evaluation report's trends: twelve periods as long as the report's, per service,
with the change against the period before (bot.core.trends computes them; `/ringkasan`
reads the same module), and the SLA compliance of all services as a chart."""

from __future__ import annotations

from datetime import date

from bot.core import trends
from bot.i18n import t
from bot.reports import charts
from bot.reports.model import Chart, Table

#: the measures of the table, each followed by its change column, with their headers
_COLUMNS = (
    ("tickets", "reports.column.tickets"),
    ("response_sla_pct", "reports.column.response_sla_pct"),
    ("resolution_sla_pct", "reports.column.resolution_sla_pct"),
    ("availability", "reports.column.availability_pct"),
    ("mean_response_h", "reports.column.mean_response_h"),
    ("mean_resolution_h", "reports.column.mean_resolution_h"),
)


def label(period: trends.Period, lang: str) -> str:
    """ "2026-02" for a calendar month, "2026-01 s.d. 2026-03" for months, else the days."""
    first, last = period.first, period.last
    if first.day == 1 and date.fromordinal(last.toordinal() + 1).day == 1:
        if (first.year, first.month) == (last.year, last.month):
            return f"{first:%Y-%m}"
        return t("reports.meta.range", lang, start=f"{first:%Y-%m}", end=f"{last:%Y-%m}")
    return t("reports.meta.range", lang, start=first.isoformat(), end=last.isoformat())


def trend_table(trend: trends.Trend, names: dict[str, str], lang: str) -> Table:
    """Per service (by name; tickets without a service last), one row per period, oldest
    first: each figure and its change (None where a period has no figure)."""
    headers = [t("reports.column.service", lang), t("reports.column.period", lang)]
    for _, key in _COLUMNS:
        headers += [t(key, lang), t("reports.column.change", lang)]
    no_service = t("reports.meta.no_service", lang)
    ordered = sorted(
        trend.services.items(), key=lambda kv: (kv[0] is None, names.get(kv[0] or "", ""))
    )
    rows: list[list[object]] = []
    for sid, series in ordered:
        changes = {m: trend.changes(series, m) for m, _ in _COLUMNS}
        for i, figures in enumerate(series):
            row: list[object] = [names.get(sid, sid) if sid else no_service]
            row.append(label(trend.periods[i], lang))
            for measure, _ in _COLUMNS:
                row += [figures.value(measure), changes[measure][i]]
            rows.append(row)
    return Table(
        t("reports.evaluation.trends", lang, n=len(trend.periods)),
        headers,
        rows,
        note=t("reports.evaluation.trends_note", lang),
        name="trends",
    )


def trend_charts(trend: trends.Trend, lang: str) -> list[Chart]:
    """Response and resolution SLA compliance of all services per period; nothing when
    no period has a ticket."""
    if not any(f.tickets for f in trend.total):
        return []
    png = charts.compliance(
        [p.first.isoformat() for p in trend.periods],
        [f.response_sla_pct for f in trend.total],
        [f.resolution_sla_pct for f in trend.total],
        t("reports.evaluation.trend_chart_title", lang, n=len(trend.periods)),
        lang,
    )
    return [Chart(t("reports.evaluation.trend_chart", lang), png)]
