"""`helpdesk report` and `helpdesk availability` through typer's CliRunner against a
real database: one-line errors with their exit status, calendar periods, and saying
when nothing is monitored."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.report import _period
from bot.config import Settings
from bot.i18n import t
from tests.unit.test_cli import env

runner = CliRunner()


def _period_line(path: Path) -> list[str]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return next(r for r in rows if r and r[0] == "# periode")[1:]


def test_unwritable_out_is_one_line_not_a_traceback(settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "tidak-ada" / "r.csv"
    result = runner.invoke(app, ["report", "sla", "--out", str(missing)], env=env(settings))
    assert result.exit_code == 1 and result.exception is not None  # typer's Exit, nothing else
    assert isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Tidak dapat menulis {missing}: ")
    assert "Traceback" not in result.output
    folder = tmp_path / "folder.html"
    folder.mkdir()
    result = runner.invoke(app, ["report", "sla", "--out", str(folder)], env=env(settings))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.strip().startswith(f"Tidak dapat menulis {folder}: ")


def test_unknown_service_is_refused(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = runner.invoke(
        app, ["report", "availability", "--out", str(out), "--service", "nope"], env=env(settings)
    )
    assert result.exit_code == 2
    assert result.output.strip() == t("cli.report.unknown_service", service="nope")
    assert not out.exists()
    ok = runner.invoke(
        app, ["report", "availability", "--out", str(out), "--service", "vpn"], env=env(settings)
    )
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize(
    ("kind", "name", "allowed"),
    [
        ("sla", "r.docx", ".html, .pdf, .csv"),
        ("sla", "r", ".html, .pdf, .csv"),
        ("spbe-evidence", "bukti.html", ".zip"),
    ],
)
def test_unknown_extension_is_refused(
    settings: Settings, tmp_path: Path, kind: str, name: str, allowed: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / name
    result = runner.invoke(app, ["report", kind, "--out", str(out)], env=env(settings))
    assert result.exit_code == 2
    suffix = out.suffix or "-"
    assert result.output.strip() == t("cli.report.bad_extension", suffix=suffix, allowed=allowed)
    assert list(folder.iterdir()) == []


def test_periods_are_calendar_months_quarters_and_years() -> None:
    today = date(2026, 12, 3)
    assert _period(today, None, None, None) == (date(2026, 11, 1), date(2026, 11, 30))
    assert _period(date(2026, 3, 31), None, None, None) == (date(2026, 2, 1), date(2026, 2, 28))
    assert _period(date(2027, 1, 1), None, None, None) == (date(2026, 12, 1), date(2026, 12, 31))
    assert _period(today, "quarter", None, None) == (date(2026, 7, 1), date(2026, 9, 30))
    assert _period(date(2027, 2, 1), "triwulan", None, None) == (
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    assert _period(today, "year", None, None) == (date(2025, 1, 1), date(2025, 12, 31))
    assert _period(today, "month", "2026-02-14", None) == (date(2026, 2, 1), date(2026, 2, 28))
    assert _period(today, "quarter", "2026-11-15", None) == (date(2026, 10, 1), date(2026, 12, 31))
    assert _period(today, "tahun", "2024-06-01", None) == (date(2024, 1, 1), date(2024, 12, 31))
    # explicit dates stay as given; --to alone: from the first of its month
    assert _period(today, None, "2026-11-05", "2026-11-20") == (
        date(2026, 11, 5),
        date(2026, 11, 20),
    )
    assert _period(today, None, None, "2026-11-20") == (date(2026, 11, 1), date(2026, 11, 20))


def test_default_and_named_periods_reach_the_document(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = runner.invoke(app, ["report", "availability", "--out", str(out)], env=env(settings))
    assert result.exit_code == 0, result.output
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    last = today.replace(day=1) - timedelta(days=1)  # the day before the 1st of this month
    assert _period_line(out) == [last.replace(day=1).isoformat(), last.isoformat()]
    quarter = runner.invoke(
        app,
        [
            "report",
            "availability",
            "--out",
            str(out),
            "--period",
            "quarter",
            "--from",
            "2026-11-15",
        ],
        env=env(settings),
    )
    assert quarter.exit_code == 0, quarter.output
    assert _period_line(out) == ["2026-10-01", "2026-12-31"]
    bad = runner.invoke(
        app, ["report", "sla", "--out", str(out), "--period", "minggu"], env=env(settings)
    )
    assert bad.exit_code == 2 and bad.output.strip() == t(
        "cli.report.bad_period_word", word="minggu"
    )
    both = runner.invoke(
        app,
        ["report", "sla", "--out", str(out), "--period", "month", "--to", "2026-11-30"],
        env=env(settings),
    )
    assert both.exit_code == 2 and both.output.strip() == t("cli.report.period_and_to")


def test_availability_says_when_nothing_is_monitored(settings: Settings) -> None:
    from storage.db import make_engine, session_scope
    from storage.models import ServiceState, utcnow

    result = runner.invoke(app, ["availability"], env=env(settings))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == t("cli.availability.none_monitored")
    engine = make_engine(settings.resolved_database_url)
    since = utcnow() - timedelta(days=40)
    with session_scope(engine) as s:
        s.add(ServiceState(service_id="vpn", state="up", since=since, monitored_since=since))
    engine.dispose()
    result = runner.invoke(app, ["availability"], env=env(settings))
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    # today, this week, this month for VPN, nothing down: 100 % of each, target 99 %
    assert [line.split()[:4] for line in lines[:3]] == [
        [period, "vpn", "100,000%", "100,000%"] for period in ("day", "week", "month")
    ]
    assert all(line.rstrip().endswith("target 99,0%") for line in lines[:3])
    assert lines[3].startswith("Tidak dipantau: ") and "vpn" not in lines[3].split(": ")[1]
    assert len(lines[3].split(": ")[1].split(", ")) == 11  # the other 11 of the 12 services
