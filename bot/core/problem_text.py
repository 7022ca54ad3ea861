"""How a problem reads, the same in chat and on the command line: its record, its
incidents and where its life cycle stands, in the reader's language."""

from __future__ import annotations

from sqlmodel import Session

from bot.core.problems import STATE_TEXT, incidents
from bot.i18n import fmt_dt, t
from storage.models import Problem, Service


def detail(session: Session, problem: Problem, lang: str, tz: str = "Asia/Jakarta") -> str:
    service = session.get(Service, problem.service_id) if problem.service_id else None
    linked = incidents(session, problem)
    none = t("common.none", lang)
    lines = [
        t("problem.detail.head", lang, number=problem.number, title=problem.title),
        t("problem.detail.state", lang, state=t(STATE_TEXT[problem.state], lang)),
        t("problem.detail.service", lang, service=service.name if service else "-"),
        t(
            "problem.detail.incidents",
            lang,
            n=len(linked),
            incidents=", ".join(x.number for x in linked) or none,
        ),
        t("problem.detail.diagnosis", lang, text=problem.diagnosis or none),
        t("problem.detail.root_cause", lang, text=problem.root_cause or none),
        t("problem.detail.workaround", lang, text=problem.workaround or none),
        t("problem.detail.fix", lang, text=problem.fix or none),
    ]
    if problem.fixed_at is not None:
        lines.append(t("problem.detail.fixed_at", lang, at=fmt_dt(problem.fixed_at, lang, tz)))
    if problem.verified_at is not None:
        at = fmt_dt(problem.verified_at, lang, tz)
        lines.append(t("problem.detail.verified_at", lang, at=at))
    if problem.recurred_at is not None:
        at = fmt_dt(problem.recurred_at, lang, tz)
        lines.append(t("problem.detail.recurred_at", lang, at=at))
    return "\n".join(lines)


def line(problem: Problem, lang: str) -> str:
    """One problem in a list."""
    return t(
        "problem.list_line",
        lang,
        number=problem.number,
        state=t(STATE_TEXT[problem.state], lang),
        title=problem.title,
    )
