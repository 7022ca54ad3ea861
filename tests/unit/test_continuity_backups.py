"""The service continuity plan form shows the helpdesk's own backups and the last restore
tests beside the RTO/RPO, plans and exercises: figures worked by hand, in both languages,
labels and not codes. On both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.reports.model import Report
from bot.reports.registry import build_report
from bot.reports.render import to_csv
from bot.runtime import Helpdesk
from storage.db import session_scope
from storage.models import BackupRun, RestoreTest

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 1 Dec 09.00 WIB
FIRST = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)  # 29 Nov 01.00 WIB
SECOND = FIRST + timedelta(days=1)  # 30 Nov 01.00 WIB


def record(helpdesk: Helpdesk) -> None:
    with session_scope(helpdesk.engine) as s:
        s.add(
            BackupRun(
                started_at=FIRST,
                finished_at=FIRST + timedelta(seconds=12.5),
                ok=True,
                bytes=3_670_016,  # 3.5 × 1024 × 1024
                rows=1234,
                seconds=12.5,
                offsite="ok",
            )
        )
        s.add(BackupRun(started_at=SECOND, ok=False, error="pg_dump gagal: disk penuh"))
        s.add(
            RestoreTest(
                started_at=FIRST + timedelta(hours=2, minutes=30),
                backup_taken_at=FIRST,
                ok=True,
                restore_seconds=42.26,
                rows=1234,
                mismatches={},
            )
        )
        s.add(
            RestoreTest(
                started_at=SECOND + timedelta(hours=2, minutes=30),
                backup_taken_at=FIRST,
                ok=False,
                restore_seconds=40.04,
                rows=1233,
                mismatches={"ticket": [10, 9]},
                error="Hasil pemulihan berbeda dari manifest",
            )
        )


def continuity(helpdesk: Helpdesk, lang: str) -> Report:
    with Session(helpdesk.engine) as s:
        return build_report(
            "continuity", s, start=NOW, end=NOW, tz="Asia/Jakarta", now=NOW, lang=lang
        )


def test_the_continuity_plan_shows_backups_and_restore_tests(helpdesk: Helpdesk) -> None:
    record(helpdesk)
    report = continuity(helpdesk, "id")
    tables = {table.name: table for table in report.tables}
    assert {"recovery", "targets", "exercises", "backups", "restore_tests"} <= set(tables)
    backups = tables["backups"]
    assert backups.headers == [
        "Waktu cadangan",
        "Hasil",
        "Ukuran (MB)",
        "Baris",
        "Durasi (detik)",
        "Salinan luar lokasi",
        "Keterangan",
    ]
    assert backups.rows == [  # newest first
        [
            "30 Nov 2026 01.00 WIB",
            "gagal",
            "-",
            "-",
            "-",
            "tidak diatur",
            "pg_dump gagal: disk penuh",
        ],
        ["29 Nov 2026 01.00 WIB", "berhasil", "3,5", "1.234", "12,5", "tersalin", "-"],
    ]
    # 29 Nov 01.00.12,5 → 1 Dec 09.00 WIB: 56 hours less 12.5 seconds
    assert backups.note == (
        "Cadangan berhasil terakhir: 29 Nov 2026 01.00 WIB (56,0 jam sebelum dokumen ini dibuat)."
    )
    tests = tables["restore_tests"]
    assert tests.headers == [
        "Waktu uji",
        "Cadangan yang diuji",
        "Hasil",
        "Waktu pemulihan terukur (detik)",
        "Baris diperiksa",
        "Tabel berbeda",
    ]
    assert tests.rows == [
        ["30 Nov 2026 03.30 WIB", "29 Nov 2026 01.00 WIB", "gagal", "40,0", "1.233", "ticket 10→9"],
        ["29 Nov 2026 03.30 WIB", "29 Nov 2026 01.00 WIB", "berhasil", "42,3", "1.234", "-"],
    ]
    # the RTO/RPO per service stay on the same form
    targets = {row[0]: row for row in tables["targets"].rows}
    assert targets["Akun Tunggal Pegawai (Single Sign-On)"][1:3] == ["120", "15"]
    assert "Uji pemulihan cadangan terakhir" in to_csv(report)


def test_the_same_figures_in_english(helpdesk: Helpdesk) -> None:
    record(helpdesk)
    tables = {table.name: table for table in continuity(helpdesk, "en").tables}
    assert tables["backups"].title == "Backup status of the service management application"
    assert tables["backups"].rows[1] == [
        "29 Nov 2026 01:00 WIB",
        "succeeded",
        "3.5",
        "1,234",
        "12.5",
        "copied",
        "-",
    ]
    assert tables["backups"].rows[0][1] == "failed"
    assert tables["backups"].rows[0][5] == "not set up"
    assert tables["restore_tests"].headers[3] == "Measured restore time (seconds)"
    assert tables["restore_tests"].rows[1] == [
        "29 Nov 2026 03:30 WIB",
        "29 Nov 2026 01:00 WIB",
        "succeeded",
        "42.3",
        "1,234",
        "-",
    ]


def test_without_backups_the_form_says_so(helpdesk: Helpdesk) -> None:
    tables = {table.name: table for table in continuity(helpdesk, "id").tables}
    assert (tables["backups"].rows, tables["backups"].note) == (
        [],
        "Belum ada cadangan yang tercatat.",
    )
    assert (tables["restore_tests"].rows, tables["restore_tests"].note) == (
        [],
        "Belum ada uji pemulihan yang tercatat.",
    )
