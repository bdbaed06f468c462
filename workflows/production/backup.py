"""SQLite backups with the online backup API: a consistent copy while the app and workers keep writing.

PostgreSQL is backed up with its own tools (pg_dump / pg_restore, docs/deploy.md)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class BackupResult:
    path: Path
    pages: int
    bytes: int


def sqlite_path(database_url: str) -> Path:
    if not database_url.startswith("sqlite:///"):
        raise BackupError("canbo backup/restore handle SQLite only; for PostgreSQL use pg_dump/pg_restore")
    return Path(database_url.removeprefix("sqlite:///"))


def _integrity_problem(connection: sqlite3.Connection) -> str | None:
    result = connection.execute("PRAGMA integrity_check").fetchone()
    return None if result and result[0] == "ok" else str(result[0] if result else "no answer")


def backup_sqlite(source: Path, destination: Path) -> BackupResult:
    """Copy `source` into a new file `destination` page by page while others may write; checked afterwards."""
    if not source.is_file():
        raise BackupError(f"{source}: no such database")
    if destination.exists():
        raise BackupError(f"{destination} exists; a backup never overwrites a file")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30) as src, sqlite3.connect(partial) as dst:
        src.backup(dst, pages=1024)
        problem = _integrity_problem(dst)
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    if problem:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {problem}")
    partial.rename(destination)  # a backup file exists only when it is complete
    return BackupResult(destination, pages, destination.stat().st_size)


def restore_sqlite(backup: Path, target: Path) -> BackupResult:
    """Replace the contents of `target` with `backup` (checked first). Stop the app and the workers before."""
    if not backup.is_file():
        raise BackupError(f"{backup}: no such backup")
    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as src:
        problem = _integrity_problem(src)
        if problem:
            raise BackupError(f"{backup} failed its integrity check, nothing was restored: {problem}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(target, timeout=30) as dst:
            src.backup(dst)
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
    return BackupResult(target, pages, target.stat().st_size)
