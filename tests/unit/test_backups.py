"""Backups, restores and copies (storage.backup) and their scheduled runs
(bot.core.backups), on SQLite and PostgreSQL: what the manifest says, what a restore
refuses, the restore test's record and the admins' alert."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings
from bot.core import backups, tickets
from bot.i18n import t
from bot.runtime import Helpdesk
from storage import backup, migrate
from storage.db import make_engine, session_scope
from storage.models import (
    BackupRun,
    Identity,
    Notice,
    Person,
    RestoreTest,
    Service,
    Ticket,
    TicketEvent,
)
from tests.unit.test_cli import env

NOW = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
runner = CliRunner()


def _open(engine: Engine, n: int) -> list[str]:
    numbers = []
    for i in range(n):
        with session_scope(engine) as s:
            ticket = tickets.open_ticket(
                s, type_="permintaan", title=f"akun {i}", service_id="email", now=NOW
            )
            numbers.append(ticket.number)
    return numbers


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return backup.row_counts(conn)
    finally:
        engine.dispose()


def _numbers(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(Ticket.number).order_by(Ticket.number)).scalars())
    finally:
        engine.dispose()


def pg_tools_or_skip(url: str) -> None:
    """On PostgreSQL, pg_dump and pg_restore of the server's major version (or newer) are
    needed; without them the test is skipped with the reason the product would give."""
    if not url.startswith("postgresql"):
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for tool in ("pg_dump", "pg_restore"):
                try:
                    backup.pg_tool(tool, conn)
                except backup.BackupError as exc:
                    pytest.skip(t(exc.key, "en", **exc.params))
    finally:
        engine.dispose()


def _admin_identity(engine: Engine) -> Person:
    with session_scope(engine) as s:
        admin = next(p for p in s.exec(select(Person)) if "admin" in (p.roles or []))
        s.add(Identity(person_id=admin.id, channel="console", external_id="admin-1"))
        return admin


def test_backup_manifest_and_restore(
    helpdesk: Helpdesk, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    pg_tools_or_skip(db_url)
    numbers = _open(engine, 3)
    path, manifest = backup.backup(db_url, tmp_path / "bk", now=NOW)
    with Session(engine) as s:
        services = len(s.exec(select(Service)).all())
        events = len(s.exec(select(TicketEvent)).all())
    # each ticket: "created" and, with a technician of the e-mail service, "assign"
    assert manifest.tables["ticket"] == 3
    assert manifest.tables["ticketevent"] == events
    assert manifest.tables["service"] == services == 12  # the sample catalog's 12 entries
    assert manifest.revision == backup.head_revision()
    assert manifest.sha256 == backup.sha256_of(path)
    assert manifest.bytes == path.stat().st_size
    saved = json.loads(backup.manifest_path(path).read_text())
    assert saved["tables"] == manifest.tables and saved["created_at"] == NOW.isoformat()
    assert path.suffix == (".db" if engine.dialect.name == "sqlite" else ".dump")
    with backup.scratch_database(db_url) as fresh:
        result = backup.restore(path, fresh)
        assert result.tables == manifest.tables
        assert _numbers(fresh) == numbers
        # restored into a database that now holds data: refused, then forced
        with pytest.raises(backup.BackupError) as refused:
            backup.restore(path, fresh)
        assert refused.value.key == "backup.target_not_empty"
        assert refused.value.params["rows"] == manifest.rows
        assert backup.restore(path, fresh, force=True).tables == manifest.tables


def test_restore_checks_the_checksum_and_the_schema_first(
    helpdesk: Helpdesk, db_url: str, tmp_path: Path
) -> None:
    pg_tools_or_skip(db_url)
    path, manifest = backup.backup(db_url, tmp_path / "bk", now=NOW)
    with backup.scratch_database(db_url) as fresh:
        meta = backup.manifest_path(path)
        data = json.loads(meta.read_text())
        meta.write_text(json.dumps({**data, "revision": "9999"}))
        with pytest.raises(backup.BackupError) as newer:
            backup.restore(path, fresh)
        assert newer.value.key == "backup.newer_schema"
        assert newer.value.params == {"revision": "9999", "head": backup.head_revision()}
        meta.write_text(json.dumps(data))
        with path.open("ab") as fh:
            fh.write(b"\0")  # one byte more: the file is not the one the manifest names
        with pytest.raises(backup.BackupError) as damaged:
            backup.restore(path, fresh)
        assert damaged.value.key == "backup.checksum_mismatch"
        assert _counts(fresh) == {}  # nothing was written to the target
        meta.unlink()
        with pytest.raises(backup.BackupError) as unfinished:
            backup.restore(path, fresh)
        assert unfinished.value.key == "backup.no_manifest"
    for key in ("backup.newer_schema", "backup.checksum_mismatch", "backup.no_manifest"):
        assert "{" not in t(key, "id", revision="9999", head="0014", path=str(path))


def test_pg_dump_missing_is_said_plainly(
    helpdesk: Helpdesk, engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite needs no external tool")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(backup.BackupError) as missing:
        backup.backup(db_url, tmp_path / "bk", now=NOW)
    assert missing.value.key == "backup.pg_tool_missing"
    assert "pg_dump" in t(missing.value.key, "en", **missing.value.params)
    assert list((tmp_path / "bk").glob("*")) == []  # no half backup left behind


def test_a_pg_dump_backup_restores_only_into_postgresql(
    helpdesk: Helpdesk, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    pg_tools_or_skip(db_url)
    if engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL half")
    path, _ = backup.backup(db_url, tmp_path / "bk", now=NOW)
    with pytest.raises(backup.BackupError) as refused:
        backup.restore(path, f"sqlite:///{tmp_path}/x.db")
    assert refused.value.key == "backup.restore_needs_postgresql"


def test_copy_sqlite_to_postgresql_and_back(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    pg_url: str = request.getfixturevalue("pg_database")
    sqlite_url = f"sqlite:///{tmp_path}/a.db"
    source = make_engine(sqlite_url)
    migrate.upgrade(source)
    from bot.runtime import load_samples

    load_samples(Settings(data_dir=tmp_path, _env_file=None), source)
    numbers = _open(source, 4)
    with source.begin() as conn:  # the ORM writes None as a JSON null; make one a SQL NULL
        conn.exec_driver_sql("UPDATE service SET probe = NULL WHERE id = 'vpn'")
    with backup.scratch_database(pg_url) as pg:
        target = make_engine(pg)
        counts = backup.copy_database(source, target, batch=3)
        assert counts == _counts(sqlite_url) == _counts(pg)
        assert _numbers(pg) == numbers
        # a SQL NULL stays NULL: only vpn's, the others (JSON null or objects) are not
        null_probe = "SELECT count(*) FROM service WHERE probe IS NULL"
        assert _scalar(target, null_probe) == _scalar(source, null_probe) == 1
        # the sequences continue after the copied ids: a new ticket gets max(id) + 1
        top = max(ids(source))
        with session_scope(target) as s:
            new = tickets.open_ticket(s, type_="gangguan", title="setelah pindah", now=NOW)
            assert new.id == top + 1  # 4 copied tickets: ids 1..4, the next is 5
            assert top == 4
        # a non-empty target is refused
        with pytest.raises(backup.BackupError) as refused:
            backup.copy_database(source, target)
        assert refused.value.key == "backup.target_not_empty"
        # and back into a fresh SQLite file: the 5 tickets, the new one included
        back_url = f"sqlite:///{tmp_path}/back.db"
        back = make_engine(back_url)
        backup.copy_database(target, back)
        assert _numbers(back_url) == sorted([*numbers, new.number])
        assert _counts(back_url) == _counts(pg)
        back.dispose()
        target.dispose()
    source.dispose()


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(sql).scalar_one())


def ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(sa.select(Ticket.id)).scalars()]


def test_scheduled_backup_keeps_its_folder_and_copies_off_site(
    helpdesk: Helpdesk, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    pg_tools_or_skip(db_url)
    hook_log = tmp_path / "hook.log"
    hook = f"{sys.executable} -c \"import sys; open({str(hook_log)!r}, 'a').write(sys.argv[1] + '\\n')\""
    policy = backups.Policy(
        folder=tmp_path / "bk", keep=2, copy_dir=tmp_path / "offsite", hook=hook
    )
    runs = [
        backups.run_backup(engine, db_url, policy, datetime(2026, 12, day, 1, 0, tzinfo=UTC))
        for day in (1, 2, 3)
    ]
    assert [r.ok for r in runs] == [True, True, True], [r.error for r in runs]
    assert all(r.offsite == "ok" for r in runs)
    # keep=2: the first of the three went, in both folders
    kept = [m.file for m in backup.list_backups(policy.folder)]
    assert kept == [Path(r.path or "").name for r in runs[1:]]
    assert [m.file for m in backup.list_backups(tmp_path / "offsite")] == kept
    assert hook_log.read_text().split() == [r.path for r in runs]
    with Session(engine) as s:
        recorded = s.exec(select(BackupRun).order_by(col(BackupRun.id))).all()
    assert [r.sha256 for r in recorded] == [r.sha256 for r in runs]


def test_a_failing_hook_alerts_the_admins(
    helpdesk: Helpdesk, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    pg_tools_or_skip(db_url)
    _admin_identity(engine)
    policy = backups.Policy(
        folder=tmp_path / "bk", hook=f"{sys.executable} -c 'raise SystemExit(3)'"
    )
    run = backups.run_backup(engine, db_url, policy, NOW)
    assert not run.ok and run.path is not None  # the backup itself is there
    assert run.error == t("backup.hook_failed", "id", code=3, error="")
    with Session(engine) as s:
        sent = s.exec(select(Notice).where(Notice.kind == "backup.failed")).all()
    assert [(n.channel, n.target) for n in sent] == [("console", "admin-1")]
    assert run.error in sent[0].payload["text"]


def test_restore_test_records_the_result_and_alerts_on_failure(
    helpdesk: Helpdesk, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    pg_tools_or_skip(db_url)
    _admin_identity(engine)
    policy = backups.Policy(folder=tmp_path / "bk")
    none = backups.restore_test(engine, db_url, policy, NOW)
    assert not none.ok and none.error == t("backup.none_to_test", "id", folder=str(policy.folder))
    _open(engine, 2)
    run = backups.run_backup(engine, db_url, policy, NOW)
    assert run.ok, run.error
    good = backups.restore_test(engine, db_url, policy, NOW)
    assert good.ok, good.error
    assert good.rows == run.rows and good.mismatches == {}
    assert good.restore_seconds is not None and good.restore_seconds >= 0
    assert good.backup_path == run.path
    # the backup damaged on disk: the next test fails and the admin hears of it
    with Path(run.path or "").open("ab") as fh:
        fh.write(b"rusak")
    bad = backups.restore_test(engine, db_url, policy, NOW)
    assert not bad.ok
    assert bad.error == t("backup.checksum_mismatch", "id", path=run.path)
    with Session(engine) as s:
        recorded = s.exec(select(RestoreTest).order_by(col(RestoreTest.id))).all()
        sent = s.exec(select(Notice).where(Notice.kind == "backup.failed")).all()
    assert [r.ok for r in recorded] == [False, True, False]
    # two failures (no backup yet, the damaged one), one notice each to the admin's chat
    assert len(sent) == 2 and {n.target for n in sent} == {"admin-1"}


def test_cli_backup_restore_and_copy(
    settings: Settings, helpdesk: Helpdesk, tmp_path: Path
) -> None:
    pg_tools_or_skip(settings.resolved_database_url)
    _open(helpdesk.engine, 2)
    out = tmp_path / "out"
    result = runner.invoke(app, ["db", "backup", "--out", str(out)], env=env(settings))
    assert result.exit_code == 0, result.output
    (manifest,) = backup.list_backups(out)
    assert str(out / manifest.file) in result.output
    # into the configured database, which holds data: refused, with the reason
    result = runner.invoke(app, ["db", "restore", str(out / manifest.file)], env=env(settings))
    assert result.exit_code == 1
    assert "--force" in result.output
    with backup.scratch_database(settings.resolved_database_url) as fresh:
        result = runner.invoke(
            app, ["db", "restore", str(out / manifest.file), "--to", fresh], env=env(settings)
        )
        assert result.exit_code == 0, result.output
        assert _counts(fresh) == manifest.tables
    copy_url = f"sqlite:///{tmp_path}/copy.db"
    result = runner.invoke(app, ["db", "copy", "--to", copy_url], env=env(settings))
    assert result.exit_code == 0, result.output
    assert _counts(copy_url) == _counts(settings.resolved_database_url)
    result = runner.invoke(
        app, ["db", "copy", "--to", settings.resolved_database_url], env=env(settings)
    )
    assert result.exit_code == 1 and t("backup.same_database", "id") in result.output
    result = runner.invoke(
        app, ["db", "restore-test"], env={**env(settings), "BACKUP_DIR": str(out)}
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["db", "backups"], env=env(settings))
    assert result.exit_code == 0 and str(out / manifest.file) in result.output


def test_replicas_take_one_scheduled_backup_and_test_between_them(
    helpdesk: Helpdesk, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    pg_tools_or_skip(db_url)
    policy = backups.Policy(folder=tmp_path / "bk")
    slot = backups.slot_of("backup", datetime(2026, 12, 3, 1, 0, 0, 400_000, tzinfo=UTC))
    assert slot == "backup:2026-12-03T01:00:00+00:00"  # the minute, not the instant
    first = backups.run_backup(engine, db_url, policy, NOW, slot=slot)
    second = backups.run_backup(engine, db_url, policy, NOW, slot=slot)
    assert first is not None and first.ok and second is None
    assert len(backup.list_backups(policy.folder)) == 1
    test_slot = backups.slot_of("restore-test", NOW)
    assert backups.restore_test(engine, db_url, policy, NOW, slot=test_slot) is not None
    assert backups.restore_test(engine, db_url, policy, NOW, slot=test_slot) is None
    with Session(engine) as s:
        assert len(s.exec(select(BackupRun)).all()) == 1
        assert [r.ok for r in s.exec(select(RestoreTest))] == [True]


def test_the_jobs_follow_the_cron_settings(helpdesk: Helpdesk) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.jobs import add_backup_jobs

    scheduler = AsyncIOScheduler(timezone="Asia/Jakarta")
    add_backup_jobs(scheduler, helpdesk)
    assert sorted(j.id for j in scheduler.get_jobs()) == ["backup", "restore-test"]
    off = AsyncIOScheduler(timezone="Asia/Jakarta")
    helpdesk.settings.backup_cron = ""
    add_backup_jobs(off, helpdesk)
    assert [j.id for j in off.get_jobs()] == ["restore-test"]


def test_an_older_schemas_backup_restores_and_is_migrated_at_start(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pg_url: str = request.getfixturevalue("pg_database")
    old = backup.known_revisions()[-2]  # the revision before this code's newest
    sqlite_url = f"sqlite:///{tmp_path}/old.db"
    source = make_engine(sqlite_url)
    migrate.upgrade(source, old)
    with source.begin() as conn:
        conn.exec_driver_sql("INSERT INTO ticketcounter (key, value) VALUES ('INC-2026', 7)")
    source.dispose()
    path, manifest = backup.backup(sqlite_url, tmp_path / "bk", now=NOW)
    assert manifest.revision == old and manifest.rows == 1
    with backup.scratch_database(pg_url) as pg:
        result = backup.restore(path, pg)
        assert result.revision == old and result.tables["ticketcounter"] == 1
        target = make_engine(pg)
        migrate.upgrade(target)  # what the product does at start
        with target.connect() as conn:
            assert backup.current_revision(conn) == backup.head_revision()
            assert conn.exec_driver_sql("SELECT value FROM ticketcounter").scalar_one() == 7
        target.dispose()
