"""The evaluation report's satisfaction table: what reporters said of how their tickets
were resolved (bot.core.satisfaction), per service: how many were asked, how many
answered (the response rate), the mean score and how often each score was given."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.core import satisfaction
from bot.i18n import t
from bot.reports.model import Table


def ratings_table(
    session: Session,
    lo: datetime,
    hi: datetime,
    service_id: str | None,
    names: dict[str, str],
    lang: str,
) -> Table:
    """One row per service in the order of their names (tickets without a service last),
    and a row for all services when there is more than one."""
    found = satisfaction.results(session, lo, hi, service_id)
    no_service = t("reports.meta.no_service", lang)
    ordered = sorted(found.items(), key=lambda kv: (kv[0] is None, names.get(kv[0] or "", "")))
    rows = [_row(names.get(sid, sid) if sid else no_service, r) for sid, r in ordered]
    if len(found) > 1:
        total = satisfaction.Results()
        for r in found.values():
            total.add(r)
        rows.append(_row(t("reports.evaluation.all_services", lang), total))
    return Table(
        t("reports.evaluation.ratings", lang),
        [
            t("reports.column.service", lang),
            t("reports.column.asked", lang),
            t("reports.column.rated", lang),
            t("reports.column.response_rate_pct", lang),
            t("reports.column.mean_score", lang),
            *(t("reports.column.score", lang, n=n) for n in satisfaction.SCORES),
        ],
        rows,
        note=t("reports.evaluation.ratings_note", lang),
        name="ratings",
    )


def _row(label: str, r: satisfaction.Results) -> list[object]:
    return [
        label,
        r.asked,
        r.rated,
        r.response_rate,
        r.mean,
        *(r.counts[n] for n in satisfaction.SCORES),
    ]
