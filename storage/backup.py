"""Backups of the database, restores that prove themselves, and copies between SQLite and
PostgreSQL. No bot imports: the CLI and the scheduled jobs (bot.core.backups) call these.

A backup is one file and a manifest beside it (same name, `.json`): when it was taken,
the schema revision, the rows of every table and the SHA-256 of the file. The counts and
the revision are read from the very snapshot the backup holds (the backup file itself on
SQLite; the exported snapshot pg_dump runs in on PostgreSQL), so a restore can check
that it got back exactly what was saved even while the product kept writing.

SQLite is saved with `VACUUM INTO`, never by copying the file: a copy of the main file
misses whatever is still in the write-ahead log, and a copy taken mid-write can be torn.
Both files are written under a temporary name and renamed when complete, the manifest
last, so a backup without its manifest is one that never finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (the tables register on SQLModel.metadata)
from storage import migrate
from storage.db import make_engine

MANIFEST_FORMAT = 1
VERSION_TABLE = "alembic_version"


class BackupError(Exception):
    """A refusal or failure with a text key (the CLI and the core translate it)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params


@dataclass
class Manifest:
    file: str
    backend: str
    created_at: str
    revision: str | None
    tables: dict[str, int]
    sha256: str
    bytes: int
    seconds: float
    format: int = MANIFEST_FORMAT

    @property
    def taken_at(self) -> datetime:
        return datetime.fromisoformat(self.created_at)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass
class RestoreResult:
    target: str
    revision: str | None
    tables: dict[str, int]
    seconds: float
    mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)


# -- small facts ----------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".json")


def read_manifest(backup: Path) -> Manifest:
    path = manifest_path(backup)
    if not backup.is_file():
        raise BackupError("backup.no_file", path=str(backup))
    if not path.is_file():
        raise BackupError("backup.no_manifest", path=str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(**data)
    except (ValueError, TypeError) as exc:
        raise BackupError("backup.bad_manifest", path=str(path), error=str(exc)) from None


def known_revisions() -> list[str]:
    """The revisions this code knows, oldest first."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head_revision() -> str:
    return known_revisions()[-1]


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def row_counts(conn: Connection) -> dict[str, int]:
    """Rows per table (the version table aside), by table name."""
    names = sorted(n for n in sa.inspect(conn).get_table_names() if n != VERSION_TABLE)
    quote = conn.dialect.identifier_preparer.quote
    return {
        n: int(conn.exec_driver_sql(f"SELECT count(*) FROM {quote(n)}").scalar_one()) for n in names
    }


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database (or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("backup.sqlite_memory")
    return Path(parsed.database)


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _write_manifest(backup: Path, manifest: Manifest) -> None:
    path = manifest_path(backup)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def list_backups(folder: Path) -> list[Manifest]:
    """Complete backups in `folder` (those with a manifest), oldest first."""
    found: list[Manifest] = []
    if not folder.is_dir():
        return found
    for path in folder.glob("helpdesk-*.json"):
        backup = path.with_name(path.name[: -len(".json")])
        try:
            found.append(read_manifest(backup))
        except BackupError:
            continue
    return sorted(found, key=lambda m: (m.created_at, m.file))


def prune(folder: Path, keep: int) -> list[str]:
    """Deletes all but the newest `keep` backups (0 keeps every one); returns their names."""
    if keep <= 0:
        return []
    gone = []
    for manifest in list_backups(folder)[:-keep]:
        backup = folder / manifest.file
        backup.unlink(missing_ok=True)
        manifest_path(backup).unlink(missing_ok=True)
        gone.append(manifest.file)
    return gone


# -- PostgreSQL tools -----------------------------------------------------------------


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password (it goes in the environment, not on
    a command line that `ps` shows)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def pg_tool(name: str, conn: Connection) -> str:
    """The path of pg_dump or pg_restore, refusing one older than the server (it cannot
    read a newer server's catalogue) or absent."""
    path = shutil.which(name)
    if path is None:
        raise BackupError("backup.pg_tool_missing", tool=name)
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    tool_major = int(match.group(1)) if match else 0
    server_major = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    if tool_major < server_major:
        raise BackupError(
            "backup.pg_tool_old", tool=name, tool_version=tool_major, server=server_major
        )
    return path


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise BackupError(
            "backup.tool_failed", tool=Path(cmd[0]).name, error=done.stderr.strip()[-500:]
        )


# -- backup ---------------------------------------------------------------------------


def backup(url: str, out_dir: Path, *, now: datetime | None = None) -> tuple[Path, Manifest]:
    """Backs up the database at `url` into `out_dir`; returns the file and its manifest."""
    now = now or datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = sqlite_path(url)
    started = time.perf_counter()
    if source is not None:
        name = f"helpdesk-{_stamp(now)}-{uuid.uuid4().hex[:6]}.db"
        target = out_dir / name
        backend, revision, tables = "sqlite", *_sqlite_backup(source, target)
    else:
        name = f"helpdesk-{_stamp(now)}-{uuid.uuid4().hex[:6]}.dump"
        target = out_dir / name
        backend, revision, tables = "postgresql", *_pg_backup(url, target)
    manifest = Manifest(
        file=name,
        backend=backend,
        created_at=now.astimezone(UTC).isoformat(),
        revision=revision,
        tables=tables,
        sha256=sha256_of(target),
        bytes=target.stat().st_size,
        seconds=round(time.perf_counter() - started, 3),
    )
    _write_manifest(target, manifest)
    return target, manifest


def _sqlite_backup(source: Path, target: Path) -> tuple[str | None, dict[str, int]]:
    if not source.is_file():
        raise BackupError("backup.no_file", path=str(source))
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    conn = sqlite3.connect(source, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("VACUUM INTO ?", (str(part),))
    finally:
        conn.close()
    os.replace(part, target)
    engine = sa.create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as c:
            return current_revision(c), row_counts(c)
    finally:
        engine.dispose()


def _pg_backup(url: str, target: Path) -> tuple[str | None, dict[str, int]]:
    """pg_dump in custom format, in a snapshot exported by a repeatable-read transaction
    that also counts the rows: the counts are those of the dump."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    part = target.with_name(target.name + ".part")
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                tool = pg_tool("pg_dump", conn)
                snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                revision, tables = current_revision(conn), row_counts(conn)
                dsn, env = _libpq(url)
                _run(
                    [
                        tool,
                        "-Fc",
                        "--no-owner",
                        "--no-privileges",
                        f"--snapshot={snapshot}",
                        "-f",
                        str(part),
                        "-d",
                        dsn,
                    ],
                    env,
                )
    finally:
        engine.dispose()
    os.replace(part, target)
    return revision, tables


# -- restore --------------------------------------------------------------------------


def is_empty(engine: Engine) -> dict[str, int]:
    """The tables that hold rows (empty dict: nothing to lose)."""
    with engine.connect() as conn:
        return {n: c for n, c in row_counts(conn).items() if c}


def restore(
    backup_file: Path, target_url: str, *, force: bool = False, verify: bool = True
) -> RestoreResult:
    """Restores a backup into `target_url` after checking its checksum and schema, then
    counts the rows against the manifest. A non-empty target is refused unless `force`
    (its data is replaced). `verify=False` returns the differences instead of raising."""
    manifest = read_manifest(backup_file)
    if sha256_of(backup_file) != manifest.sha256:
        raise BackupError("backup.checksum_mismatch", path=str(backup_file))
    known = known_revisions()
    if manifest.revision is not None and manifest.revision not in known:
        raise BackupError("backup.newer_schema", revision=manifest.revision, head=known[-1])
    started = time.perf_counter()
    engine = make_engine(target_url)
    try:
        full = is_empty(engine)
        if full and not force:
            raise BackupError(
                "backup.target_not_empty", tables=", ".join(sorted(full)), rows=sum(full.values())
            )
        target_sqlite = engine.dialect.name == "sqlite"
        if manifest.backend == "sqlite" and target_sqlite:
            engine.dispose()
            _sqlite_restore(backup_file, sqlite_path(target_url))
        elif manifest.backend == "sqlite":
            source = sa.create_engine(f"sqlite:///{backup_file}")
            try:
                copy_database(source, engine, force=True, check_head=False)
            finally:
                source.dispose()
        elif not target_sqlite:
            _pg_restore(backup_file, target_url, engine)
        else:
            raise BackupError("backup.restore_needs_postgresql")
        with engine.connect() as conn:
            revision, counts = current_revision(conn), row_counts(conn)
    finally:
        engine.dispose()
    result = RestoreResult(
        target=make_url(target_url).render_as_string(hide_password=True),
        revision=revision,
        tables=counts,
        seconds=round(time.perf_counter() - started, 3),
        mismatches=compare(manifest.tables, counts),
    )
    if verify and (result.mismatches or revision != manifest.revision):
        raise BackupError(
            "backup.restore_mismatch",
            tables=", ".join(f"{n} {a}→{b}" for n, (a, b) in sorted(result.mismatches.items())),
            revision=revision or "-",
        )
    return result


def compare(expected: Mapping[str, int], found: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """Tables whose rows differ: name → (expected, found)."""
    names = set(expected) | set(found)
    return {
        n: (expected.get(n, 0), found.get(n, 0))
        for n in sorted(names)
        if expected.get(n, 0) != found.get(n, 0)
    }


def _sqlite_restore(backup_file: Path, target: Path | None) -> None:
    assert target is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)  # page by page into the target, replacing whatever it held
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()


def _pg_restore(backup_file: Path, url: str, engine: Engine) -> None:
    """An empty schema first (the target's own tables, empty or forced, go), then the
    dump in one transaction, so a failed restore leaves the empty schema."""
    with engine.connect() as conn:
        tool = pg_tool("pg_restore", conn)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    dsn, env = _libpq(url)
    _run(
        [
            tool,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "-d",
            dsn,
            str(backup_file),
        ],
        env,
    )


# -- copy between databases -----------------------------------------------------------


def copy_database(
    source: Engine,
    target: Engine,
    *,
    batch: int = 5000,
    force: bool = False,
    check_head: bool = True,
) -> dict[str, int]:
    """Copies every row from `source` to `target` (SQLite → PostgreSQL or back): the
    target is migrated to the source's revision, tables go parents first in batches in
    one transaction, PostgreSQL sequences continue after the highest id, and the rows are
    counted on both sides. Returns the counts."""
    with _snapshot(source) as src:
        revision = current_revision(src)
        if check_head and revision != head_revision():
            raise BackupError("backup.copy_needs_upgrade", revision=revision or "-")
        counts = row_counts(src)
        full = is_empty(target)
        if full and not force:
            raise BackupError(
                "backup.target_not_empty", tables=", ".join(sorted(full)), rows=sum(full.values())
            )
        migrate.upgrade(target, revision or "base")
        tables = [t for t in SQLModel.metadata.sorted_tables if t.name in counts]
        with target.begin() as dst:
            for table in reversed(tables):
                dst.execute(table.delete())
            for table in tables:
                _copy_table(src, dst, table, batch)
            if dst.dialect.name == "postgresql":
                _fix_sequences(dst, tables)
    with target.connect() as dst:
        found = row_counts(dst)
    wrong = compare(counts, found)
    if wrong:
        raise BackupError(
            "backup.restore_mismatch",
            tables=", ".join(f"{n} {a}→{b}" for n, (a, b) in sorted(wrong.items())),
            revision=revision or "-",
        )
    return counts


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent read of a live database: on SQLite a read transaction (it does not
    take the write lock the product needs), on PostgreSQL repeatable read."""
    if engine.dialect.name == "sqlite":
        # its own engine, not the product's: a read-only flag there is per thread and
        # would also make the copy's target refuse its writes
        plain = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
        sa.event.listen(plain, "connect", _autocommit_driver)
        sa.event.listen(plain, "begin", lambda conn: conn.exec_driver_sql("BEGIN DEFERRED"))
        try:
            with plain.connect() as conn, conn.begin():
                yield conn
        finally:
            plain.dispose()
        return
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _autocommit_driver(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    dbapi_conn.isolation_level = None  # the "begin" listener emits BEGIN itself


def _copy_table(src: Connection, dst: Connection, table: sa.Table, batch: int) -> None:
    """JSON columns travel as their text, so a SQL NULL stays NULL and a JSON null stays
    a JSON null (read as Python objects, both would be None). Only the columns the source
    has: an older backup (restored into PostgreSQL) lacks those added since."""
    present = {c["name"] for c in sa.inspect(src).get_columns(table.name)}
    columns = [c for c in table.columns if c.name in present]
    json_cols = {c.name for c in columns if isinstance(c.type, sa.JSON | JSONB)}
    pg = dst.dialect.name == "postgresql"
    picked = [sa.cast(c, sa.Text).label(c.name) if c.name in json_cols else c for c in columns]
    values: dict[str, Any] = {}
    for c in columns:
        param = sa.bindparam(c.name, type_=sa.Text if c.name in json_cols else c.type)
        values[c.name] = sa.cast(param, JSONB) if c.name in json_cols and pg else param
    insert = table.insert().values(values)
    order = list(table.primary_key.columns) or columns
    result = src.execution_options(stream_results=True, yield_per=batch).execute(
        sa.select(*picked).order_by(*order)
    )
    for rows in result.mappings().partitions(batch):
        dst.execute(insert, [dict(r) for r in rows])


def _fix_sequences(dst: Connection, tables: list[sa.Table]) -> None:
    for table in tables:
        for column in table.primary_key.columns:
            seq = dst.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": table.name, "c": column.name},
            ).scalar_one()
            if seq is None:
                continue
            top = dst.execute(sa.select(sa.func.max(column))).scalar_one()
            dst.execute(
                sa.text("SELECT setval(:s, :v, :called)"),
                {"s": seq, "v": top if top is not None else 1, "called": top is not None},
            )


# -- scratch databases ----------------------------------------------------------------


@contextmanager
def scratch_database(like_url: str) -> Iterator[str]:
    """An empty database beside the product's, dropped afterwards: a temporary SQLite
    file, or `restore_test_<random>` on the same PostgreSQL server."""
    if make_url(like_url).get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="helpdesk-restore-") as tmp:
            yield f"sqlite:///{tmp}/scratch.db"
        return
    base = make_url(like_url)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"restore_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
