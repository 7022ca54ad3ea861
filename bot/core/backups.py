"""The helpdesk's own backups, as scheduled work: take one (with the off-site copy and
the folder kept to its size), and prove the newest can be restored by restoring it into a
scratch database and checking it against its manifest. Each run is recorded (BackupRun,
RestoreTest) with what it measured; a failure reaches the admins and the koordinator
pemulihan through the outbox, since a backup that silently stopped is found out only on
the day it is needed."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.core import reviews
from bot.core.roles import Role
from bot.i18n import t
from storage import backup
from storage.db import insert_for, session_scope
from storage.models import BackupRun, RestoreTest

#: who hears of a failed backup or restore test
ALERT_ROLES = frozenset({Role.ADMIN.value, Role.KOORDINATOR_PEMULIHAN.value})


@dataclass(frozen=True)
class Policy:
    folder: Path
    keep: int = 14
    copy_dir: Path | None = None
    hook: str | None = None
    hook_timeout: float = 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            folder=settings.resolved_backup_dir,
            keep=settings.backup_keep,
            copy_dir=settings.backup_copy_dir,
            hook=settings.backup_hook,
            hook_timeout=settings.backup_hook_timeout_seconds,
        )


def describe(exc: Exception, lang: str = "id") -> str:
    """A failure as the admins read it: our refusals in words, anything else by type."""
    if isinstance(exc, backup.BackupError):
        return refusal(exc, lang)
    return f"{type(exc).__name__}: {exc}"[:1000]


def refusal(exc: backup.BackupError, lang: str = "id") -> str:
    return t(exc.key, lang, **exc.params)


def run_backup(
    engine: Engine, url: str, policy: Policy, now: datetime, *, slot: str | None = None
) -> BackupRun | None:
    """One backup of the database at `url`, its off-site copy and the pruning, recorded
    in the database at `engine` (the same one, except in tests). With a `slot` (the
    scheduled time), None when another replica has already claimed it. The record is
    written before the work, so a backup that never finished shows as such."""
    run_id = _claim(engine, BackupRun, slot, now)
    if run_id is None:
        return None
    with session_scope(engine) as s:
        run = s.get(BackupRun, run_id)
        assert run is not None
    try:
        path, manifest = backup.backup(url, policy.folder, now=now)
        run.path, run.sha256, run.bytes = str(path), manifest.sha256, manifest.bytes
        run.rows, run.revision, run.seconds = manifest.rows, manifest.revision, manifest.seconds
        run.finished_at = now + timedelta(seconds=manifest.seconds)
        run.offsite = offsite_copy(path, policy)
        backup.prune(policy.folder, policy.keep)
        run.ok = run.offsite is None or run.offsite == "ok"
        if not run.ok:
            run.error = run.offsite
    except Exception as exc:  # every failure is recorded and alerted, none is lost in a log
        run.error = describe(exc)
    with session_scope(engine) as s:
        s.add(run)
        if not run.ok:
            alert(s, "backup.notice.backup_failed", f"backup:run:{run.id}", now, error=run.error)
    return run


def _claim(
    engine: Engine, table: type[BackupRun] | type[RestoreTest], slot: str | None, now: datetime
) -> int | None:
    with session_scope(engine) as s:
        stmt = (
            insert_for(s)(table)
            .values(slot=slot, started_at=now, ok=False, **_defaults(table))
            .on_conflict_do_nothing(index_elements=["slot"])
            .returning(table.id)
        )
        return s.execute(stmt).scalar_one_or_none()


def _defaults(table: type[BackupRun] | type[RestoreTest]) -> dict[str, object]:
    return {"mismatches": {}} if table is RestoreTest else {}


def slot_of(job: str, now: datetime) -> str:
    """The scheduled minute a job runs for: the same on every replica that fires it."""
    return f"{job}:{now.replace(second=0, microsecond=0).isoformat()}"


def offsite_copy(path: Path, policy: Policy) -> str | None:
    """The second folder gets the backup and its manifest (the manifest last, as in the
    first), then the hook runs with the path. None: no off-site copy is set up."""
    if policy.copy_dir is None and not policy.hook:
        return None
    try:
        if policy.copy_dir is not None:
            policy.copy_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, policy.copy_dir / path.name)
            manifest = backup.manifest_path(path)
            shutil.copy2(manifest, policy.copy_dir / manifest.name)
            backup.prune(policy.copy_dir, policy.keep)
        if policy.hook:
            done = subprocess.run(
                [*shlex.split(policy.hook), str(path)],
                capture_output=True,
                text=True,
                timeout=policy.hook_timeout,
            )
            if done.returncode != 0:
                return t(
                    "backup.hook_failed",
                    "id",
                    code=done.returncode,
                    error=(done.stderr or done.stdout).strip()[-300:],
                )
    except (OSError, subprocess.SubprocessError) as exc:
        return t("backup.offsite_failed", "id", error=f"{type(exc).__name__}: {exc}"[:300])
    return "ok"


def restore_test(
    engine: Engine, url: str, policy: Policy, now: datetime, *, slot: str | None = None
) -> RestoreTest | None:
    """The newest backup in the folder, restored into a scratch database beside the
    product's and checked: checksum first, then rows per table and the revision. With a
    `slot`, None when another replica has claimed it."""
    test_id = _claim(engine, RestoreTest, slot, now)
    if test_id is None:
        return None
    with session_scope(engine) as s:
        test = s.get(RestoreTest, test_id)
        assert test is not None
    try:
        found = backup.list_backups(policy.folder)
        if not found:
            raise backup.BackupError("backup.none_to_test", folder=str(policy.folder))
        newest = found[-1]
        test.backup_path = str(policy.folder / newest.file)
        test.backup_taken_at = newest.taken_at
        with backup.scratch_database(url) as scratch:
            result = backup.restore(Path(test.backup_path), scratch, verify=False)
        test.restore_seconds = result.seconds
        test.rows = sum(result.tables.values())
        test.mismatches = {n: [a, b] for n, (a, b) in result.mismatches.items()}
        test.ok = not result.mismatches and result.revision == newest.revision
        if not test.ok:
            test.error = t(
                "backup.restore_mismatch",
                "id",
                tables=", ".join(f"{n} {a}→{b}" for n, (a, b) in result.mismatches.items()),
                revision=result.revision or "-",
            )
    except Exception as exc:  # recorded and alerted like a mismatch
        test.error = describe(exc)
    with session_scope(engine) as s:
        s.add(test)
        if not test.ok:
            alert(
                s,
                "backup.notice.restore_failed",
                f"backup:restore-test:{test.id}",
                now,
                error=test.error,
                path=test.backup_path or "-",
            )
    return test


def alert(session: Session, key: str, dedupe: str, now: datetime, **params: Any) -> int:
    people = reviews.people_with(session, ALERT_ROLES)
    return reviews.tell(
        session, people, kind="backup.failed", key=key, dedupe=dedupe, now=now, **params
    )


def last_runs(session: Session, limit: int = 10) -> tuple[list[BackupRun], list[RestoreTest]]:
    """The newest backups and restore tests, newest first (`helpdesk db backups`)."""
    runs = session.exec(
        select(BackupRun)
        .order_by(col(BackupRun.started_at).desc(), col(BackupRun.id).desc())
        .limit(limit)
    )
    tests = session.exec(
        select(RestoreTest)
        .order_by(col(RestoreTest.started_at).desc(), col(RestoreTest.id).desc())
        .limit(limit)
    )
    return list(runs), list(tests)
