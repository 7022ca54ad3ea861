"""The `helpdesk` commands test_cli.py does not reach: kb, report, maintenance,
availability and `chat --as`. They pin the command line's behaviour (names, exit codes,
what goes to stdout) so that reorganising the CLI's modules cannot change it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings
from bot.i18n import t
from tests.unit.test_cli import env

runner = CliRunner()


def test_every_command_is_registered_in_help_order() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    names = re.findall(r"^│ ([a-z-]+) ", result.output, re.M)
    assert names[-15:] == [
        "run",
        "chat",
        "worker",
        "report",
        "availability",
        "db",
        "catalog",
        "people",
        "kb",
        "telegram",
        "maintenance",
        "inbox",
        "review",
        "problem",
        "change",
    ]


def test_subcommands() -> None:
    expected = {
        "db": ["upgrade", "backup", "restore", "copy", "restore-test", "backups"],
        "catalog": ["import", "list"],
        "people": ["import", "link-code"],
        "kb": ["check", "eval", "candidates"],
        "telegram": ["set-webhook"],
        "maintenance": ["schedule", "list", "cancel"],
        "inbox": ["status", "dead", "retry"],
        "review": ["open", "list", "show", "attend", "finding", "decide", "action", "close"],
        "problem": ["list", "show"],
        "change": ["new", "list", "show", "approve", "reject", "result", "review", "release"],
    }
    for group, commands in expected.items():
        result = runner.invoke(app, [group, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert re.findall(r"^│ ([a-z-]+) ", result.output, re.M)[-len(commands) :] == commands


def test_kb_check_bundled_articles(settings: Settings) -> None:
    result = runner.invoke(app, ["kb", "check"], env=env(settings))
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("ok")


def test_kb_check_names_the_broken_file(settings: Settings, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "rusak.yaml").write_text("id: [\n", encoding="utf-8")
    result = runner.invoke(app, ["kb", "check", str(articles)], env=env(settings))
    assert result.exit_code == 1
    assert "rusak.yaml" in result.output


def test_kb_candidates(settings: Settings) -> None:
    result = runner.invoke(app, ["kb", "candidates"], env=env(settings))
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["kb", "candidates", "--approve", "999999"], env=env(settings))
    assert result.exit_code == 1


def test_report_refuses_bad_input(settings: Settings, tmp_path: Path) -> None:
    out = str(tmp_path / "r.csv")
    bad_date = runner.invoke(
        app, ["report", "sla", "--out", out, "--from", "kemarin"], env=env(settings)
    )
    assert bad_date.exit_code == 1 and "bad date" in bad_date.output
    reversed_ = runner.invoke(
        app,
        ["report", "sla", "--out", out, "--from", "2024-12-10", "--to", "2024-12-01"],
        env=env(settings),
    )
    assert reversed_.exit_code == 1 and "--from is after --to" in reversed_.output
    unknown = runner.invoke(app, ["report", "nope", "--out", out], env=env(settings))
    assert unknown.exit_code == 1 and "unknown report 'nope'" in unknown.output
    assert not Path(out).exists()


def test_report_csv(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "sla.csv"
    result = runner.invoke(app, ["report", "sla", "--out", str(out)], env=env(settings))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    assert out.read_text(encoding="utf-8")


def test_maintenance_schedule_list_cancel(settings: Settings) -> None:
    scheduled = runner.invoke(
        app,
        ["maintenance", "schedule", "vpn", "besok 22.00-23.00", "--impact", "VPN putus"],
        env=env(settings),
    )
    assert scheduled.exit_code == 0, scheduled.output
    found = re.search(r"#(\d+)", scheduled.output)
    assert found is not None, scheduled.output
    window_id = int(found.group(1))
    listed = runner.invoke(app, ["maintenance", "list"], env=env(settings))
    assert listed.exit_code == 0, listed.output
    assert f"#{window_id:>4}" in listed.output and "(VPN putus)" in listed.output
    overlap = runner.invoke(
        app, ["maintenance", "schedule", "vpn", "besok 22.30-23.30"], env=env(settings)
    )
    assert overlap.exit_code == 1
    cancelled = runner.invoke(app, ["maintenance", "cancel", str(window_id)], env=env(settings))
    assert cancelled.exit_code == 0, cancelled.output
    assert t("maintenance.cancelled_done", id=window_id) in cancelled.output
    again = runner.invoke(app, ["maintenance", "cancel", str(window_id)], env=env(settings))
    assert again.exit_code == 1


def test_maintenance_unreadable_time(settings: Settings) -> None:
    result = runner.invoke(app, ["maintenance", "schedule", "vpn", "besok"], env=env(settings))
    assert result.exit_code == 1
    assert t("maintenance.when.no_time") in result.output


def test_availability(settings: Settings) -> None:
    result = runner.invoke(app, ["availability"], env=env(settings))
    assert result.exit_code == 0, result.output


def test_chat_as_unknown_person(settings: Settings) -> None:
    result = runner.invoke(app, ["chat", "--as", "nobody@x.go.id"], env=env(settings))
    assert result.exit_code == 1 and "unknown person nobody@x.go.id" in result.output


def test_inbox_status_dead_and_retry(settings: Settings) -> None:
    from storage import inbox
    from storage.db import make_engine

    engine = make_engine(settings.resolved_database_url)
    inbox.put_many(
        engine,
        [
            inbox.Arrival("telegram", "1:5", "telegram:5", "{}"),
            inbox.Arrival("slack", "Ev1", "s", "{}"),
        ],
    )
    [event] = inbox.claim(engine, "w", limit=1, lease=timedelta(seconds=30), sources=("telegram",))
    inbox.failed(engine, event.id, "ValueError: unreadable", retry_at=None)
    status = runner.invoke(app, ["inbox", "status"], env=env(settings))
    assert status.exit_code == 0, status.output
    assert re.findall(r"^(\w+) +(\d+)$", status.output, re.M) == [
        ("pending", "1"),
        ("processing", "0"),
        ("done", "0"),
        ("dead", "1"),
    ]
    dead = runner.invoke(app, ["inbox", "dead"], env=env(settings))
    assert dead.exit_code == 0 and f"{event.id}\ttelegram\t1:5\t" in dead.output
    assert "1×\tValueError: unreadable" in dead.output
    assert runner.invoke(app, ["inbox", "retry"], env=env(settings)).exit_code == 1
    again = runner.invoke(app, ["inbox", "retry", str(event.id), "999"], env=env(settings))
    assert again.exit_code == 0
    assert "1 of the ids given are not set aside" in again.output
    assert "1 event(s) back in line" in again.output
    none = runner.invoke(app, ["inbox", "dead"], env=env(settings))
    assert none.output.strip() == "no events set aside"
    engine.dispose()


def test_helpdesk_run_starts_workers_beside_postgresql_not_sqlite() -> None:
    """SQLite's one writer is shared best in one process; PostgreSQL's workers get their own."""
    pg = "postgresql+psycopg://helpdesk@db.example/helpdesk"
    assert Settings(_env_file=None, database_url=pg).resolved_worker_processes == 1
    assert Settings(_env_file=None, database_url="sqlite:///x.db").resolved_worker_processes == 0
    assert Settings(_env_file=None).resolved_worker_processes == 0  # the embedded SQLite file
    explicit = Settings(_env_file=None, database_url=pg, worker_processes=0)
    assert explicit.resolved_worker_processes == 0
    assert Settings(_env_file=None, worker_processes=2).resolved_worker_processes == 2
