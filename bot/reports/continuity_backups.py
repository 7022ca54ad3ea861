"""The helpdesk's own backups in the service continuity plan (guideline ch. 7.1.4): the
plan is only as good as the records it is restored from, so the form shows the last
backups the product took of itself and the last restore tests that proved one can be
restored (bot.core.backups), with what they measured. Labels, not codes, in the
language asked for."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.core.backups import last_runs
from bot.i18n import fmt_dt, fmt_number, t
from bot.reports.model import Table
from storage.models import BackupRun, RestoreTest

#: how many backups and restore tests the form lists
SHOWN = 5
MEGABYTE = 1024 * 1024


def _result(ok: bool, finished: bool, lang: str) -> str:
    if ok:
        return t("reports.continuity.backup_ok", lang)
    return t(
        "reports.continuity.backup_failed" if finished else "reports.continuity.backup_unfinished",
        lang,
    )


def _offsite(run: BackupRun, lang: str) -> str:
    if run.offsite is None:
        return t("reports.continuity.offsite_none", lang)
    if run.offsite == "ok":
        return t("reports.continuity.offsite_ok", lang)
    return t("reports.continuity.offsite_failed", lang)


def backup_status(session: Session, *, now: datetime, lang: str, tz: str) -> Table:
    """The last backups, newest first; the note says when the last good one was taken."""
    runs, _ = last_runs(session, limit=SHOWN)
    rows = [
        [
            fmt_dt(run.started_at, lang, tz),
            _result(run.ok, run.finished_at is not None or run.error is not None, lang),
            fmt_number(run.bytes / MEGABYTE if run.bytes is not None else None, lang, 1),
            fmt_number(run.rows, lang),
            fmt_number(run.seconds, lang, 1),
            _offsite(run, lang),
            (run.error or "-")[:300],
        ]
        for run in runs
    ]
    good = next((run for run in runs if run.ok), None)
    if good is None:
        note = t("reports.continuity.no_good_backup", lang)
    else:
        hours = (now - (good.finished_at or good.started_at)).total_seconds() / 3600
        note = t(
            "reports.continuity.last_good_backup",
            lang,
            at=fmt_dt(good.finished_at or good.started_at, lang, tz),
            hours=fmt_number(max(0.0, hours), lang, 1),
        )
    return Table(
        t("reports.continuity.backups", lang),
        [
            t("reports.continuity.col_backup_at", lang),
            t("reports.continuity.col_outcome", lang),
            t("reports.continuity.col_size_mb", lang),
            t("reports.continuity.col_rows", lang),
            t("reports.continuity.col_seconds", lang),
            t("reports.continuity.col_offsite", lang),
            t("reports.continuity.col_error", lang),
        ],
        rows,
        note=note if runs else t("reports.continuity.no_backups", lang),
        name="backups",
    )


def _differences(test: RestoreTest) -> str:
    found = test.mismatches or {}
    return ", ".join(f"{name} {pair[0]}→{pair[1]}" for name, pair in sorted(found.items())) or "-"


def restore_tests(session: Session, *, lang: str, tz: str) -> Table:
    """The last restore tests, newest first: when, which backup, the result, how long the
    restore took (the measured restore time) and how many rows were checked."""
    _, tests = last_runs(session, limit=SHOWN)
    rows = [
        [
            fmt_dt(test.started_at, lang, tz),
            fmt_dt(test.backup_taken_at, lang, tz) if test.backup_taken_at else "-",
            _result(test.ok, test.restore_seconds is not None or test.error is not None, lang),
            fmt_number(test.restore_seconds, lang, 1),
            fmt_number(test.rows, lang),
            _differences(test),
        ]
        for test in tests
    ]
    return Table(
        t("reports.continuity.restore_tests", lang),
        [
            t("reports.continuity.col_tested_at", lang),
            t("reports.continuity.col_backup_of", lang),
            t("reports.continuity.col_outcome", lang),
            t("reports.continuity.col_restore_seconds", lang),
            t("reports.continuity.col_rows_checked", lang),
            t("reports.continuity.col_mismatches", lang),
        ],
        rows,
        note="" if rows else t("reports.continuity.no_restore_tests", lang),
        name="restore_tests",
    )
