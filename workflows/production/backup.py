"""SQLite backups with the online backup API: a consistent copy while the app and workers keep writing.

PostgreSQL is backed up with its own tools (pg_dump / pg_restore, docs/deploy.md)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

# A backup holds every person's record and every password hash: only its owner reads it (as the passwords file of
# `canbo users import`, decision 0116).
BACKUP_MODE = 0o600
STOP_FIRST = "stop `canbo run`/`canbo serve` and `canbo worker` first"


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class KnownSchema:
    """What this build knows of the schema: every migration revision, and the tables its head revision has."""

    revisions: Collection[str]
    head: str
    head_tables: Collection[str]


@dataclass(frozen=True)
class BackupResult:
    path: Path
    pages: int
    bytes: int
    # The schema's migration revision the copy holds (a restore of an older backup needs `canbo db upgrade`).
    revision: str | None = None


def sqlite_path(database_url: str) -> Path:
    if not database_url.startswith("sqlite:///"):
        raise BackupError("canbo backup/restore handle SQLite only; for PostgreSQL use pg_dump/pg_restore")
    return Path(database_url.removeprefix("sqlite:///"))


def _integrity_problem(connection: sqlite3.Connection) -> str | None:
    result = connection.execute("PRAGMA integrity_check").fetchone()
    return None if result and result[0] == "ok" else str(result[0] if result else "no answer")


def backup_sqlite(source: Path, destination: Path) -> BackupResult:
    """Copy `source` into a new file `destination` page by page while others may write; checked afterwards. The file
    is its owner's alone (mode 0600) from its first byte: it is made so before SQLite writes to it."""
    if not source.is_file():
        raise BackupError(f"{source}: no such database")
    if destination.exists():
        raise BackupError(f"{destination} exists; a backup never overwrites a file")
    partial = destination.with_name(destination.name + ".partial")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_MODE))
        os.chmod(partial, BACKUP_MODE)  # whatever the umask: 0600 exactly, as the instance folder's keys
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src,
            closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst, pages=1024)
            problem = _integrity_problem(dst)
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    except (OSError, sqlite3.Error) as error:
        # A folder that cannot be made (a file is in the way, no permission), a disk that is full.
        with suppress(OSError):
            partial.unlink(missing_ok=True)
        raise BackupError(f"{destination}: the backup cannot be written ({error}); nothing was written") from error
    if problem:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {problem}")
    partial.rename(destination)  # a backup file exists only when it is complete
    return BackupResult(destination, pages, destination.stat().st_size)


def _backup_revision(connection: sqlite3.Connection) -> str | None:
    """The migration revision of a database this app wrote, or None for any other SQLite file."""
    if not {"alembic_version", "process_instances", "audit_events"} <= _tables(connection):
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def restore_sqlite(
    backup: Path,
    target: Path,
    schema: KnownSchema,
    *,
    now: datetime | None = None,
    worker_max_age: timedelta | None = None,
) -> BackupResult:
    """Replace the contents of `target` with `backup` (checked first). Stop the app and the workers before.

    Refused, with `target` untouched: `target` itself (a database restored onto itself), a file that is not an
    SQLite database, one that fails its integrity check, one this app did not write, one written by a newer version
    (a migration revision this build does not have: the app would run on a schema it does not know), and one at
    this build's revision with a table missing. With `worker_max_age` (None: `--force`), also a `target` where a
    worker beat less than that long before `now` (the age past which /healthz calls the worker gone): a worker
    running on it would go on writing into the restored data, or over it."""
    if not backup.is_file():
        raise BackupError(f"{backup}: no such backup")
    if target.exists() and os.path.samefile(backup, target):
        raise BackupError(
            f"{backup} is the database itself, nothing was restored: restore a backup made with `canbo backup`"
        )
    with closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as src:
        revision = _restorable_revision(src, backup, schema)
        if worker_max_age is not None and now is not None:
            _refuse_a_running_worker(target, now, worker_max_age)
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(target, timeout=30)) as dst:
            src.backup(dst)
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
    return BackupResult(target, pages, target.stat().st_size, revision)


def latest_heartbeat(database: Path) -> datetime | None:
    """When a worker last beat in this database (`worker_heartbeats`), or None: no file, no table, no row, or not
    a database one can read (a damaged database is what a restore replaces)."""
    if not database.is_file():
        return None
    try:
        with closing(sqlite3.connect(database, timeout=30)) as connection:
            if "worker_heartbeats" not in _tables(connection):
                return None
            row = connection.execute("SELECT MAX(beat_dt) FROM worker_heartbeats").fetchone()
    except sqlite3.DatabaseError:
        return None
    if not row or row[0] is None:
        return None
    try:
        return datetime.fromisoformat(str(row[0]))
    except ValueError:
        return None


def _refuse_a_running_worker(target: Path, now: datetime, worker_max_age: timedelta) -> None:
    beat = latest_heartbeat(target)
    if beat is None or now - beat >= worker_max_age:
        return
    seconds = max(0, round((now - beat).total_seconds()))
    limit = round(worker_max_age.total_seconds())
    raise BackupError(
        f"{target} is in use: a worker beat in it {seconds} s ago (under the {limit} s after which /healthz calls a "
        f"worker gone), nothing was restored. {STOP_FIRST.capitalize()}, then restore (or add --force)"
    )


def _restorable_revision(src: sqlite3.Connection, backup: Path, schema: KnownSchema) -> str:
    try:
        problem = _integrity_problem(src)
        revision = None if problem else _backup_revision(src)
    except sqlite3.DatabaseError as error:
        # Raised by the first read of a file that is not a database (or is encrypted, or truncated).
        raise BackupError(f"{backup} is not a readable SQLite database, nothing was restored: {error}") from error
    if problem:
        raise BackupError(f"{backup} failed its integrity check, nothing was restored: {problem}")
    if revision is None:
        raise BackupError(f"{backup} is not a backup of this application's database, nothing was restored")
    if revision not in schema.revisions:
        raise BackupError(
            f"{backup} was written by another version of the application (schema revision {revision}, unknown to "
            "this one), nothing was restored: restore it with the version that wrote it"
        )
    if revision == schema.head:
        # An older revision's tables are the migrations' business (`canbo db upgrade` after the restore).
        missing = sorted(set(schema.head_tables) - _tables(src))
        if missing:
            raise BackupError(f"{backup} lacks the table(s) {', '.join(missing)} of its schema, nothing was restored")
    return revision


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
