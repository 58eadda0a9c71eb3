"""Online backup of the database: `flask backup run DEST`.

SQLite: the sqlite3 backup API copies the live database, pages and all, inside one read
transaction. In WAL mode a reader does not block writers, so the app keeps filing
complaints while the copy is made, and the copy is one consistent snapshot: every
transaction committed before the copy began, and none half-done. The copy is written to
a temporary file beside DEST, checked with `PRAGMA integrity_check`, fsynced and only then
renamed to DEST, so DEST is either absent or a whole, checked backup.

PostgreSQL: pg_dump is the tool (`pg_dump -Fc`); this command says so and exits non-zero.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass

import click
from flask.cli import AppGroup
from sqlalchemy.engine import make_url

backup_cli = AppGroup("backup", help="Online backups of the database.")


class BackupError(Exception):
    """The backup could not be made; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    path: str
    size_bytes: int
    seconds: float
    integrity: str


def sqlite_path(database_uri: str) -> str | None:
    """The file of a SQLite database URI; None for another backend or an in-memory database."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return url.database


def integrity_check(path: str) -> str:
    """`PRAGMA integrity_check` of a database file: "ok", or the problems found."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "\n".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


def backup_sqlite(source: str, dest: str, overwrite: bool = False) -> BackupResult:
    """Copy the live SQLite database `source` to `dest` with the backup API, while other
    connections keep writing. Raises BackupError; leaves no partial file behind."""
    if not os.path.isfile(source):
        raise BackupError(f"no database file at {source}")
    dest = os.path.abspath(dest)
    if os.path.abspath(source) == dest:
        raise BackupError("the backup cannot overwrite the database itself")
    if os.path.exists(dest) and not overwrite:
        raise BackupError(f"{dest} exists (use --overwrite to replace it)")
    folder = os.path.dirname(dest)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(dest)}.{os.getpid()}.part")
    started = time.perf_counter()
    try:
        src = sqlite3.connect(source, timeout=30)
        try:
            src.execute("PRAGMA busy_timeout=30000")
            out = sqlite3.connect(tmp)
            try:
                # pages=-1: the whole database in one step, i.e. one read transaction: a
                # consistent snapshot. A stepwise copy would restart whenever another
                # connection writes, and under steady writes might never finish.
                src.backup(out, pages=-1)
                # The copy is a standalone file: rollback journal, not WAL (no -wal beside it).
                out.execute("PRAGMA journal_mode=DELETE")
            finally:
                out.close()
        finally:
            src.close()
        integrity = integrity_check(tmp)
        if integrity != "ok":
            raise BackupError(f"the copy failed PRAGMA integrity_check: {integrity}")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
        _fsync_dir(folder)
    except sqlite3.Error as err:
        raise BackupError(f"SQLite: {err}") from err
    finally:
        for leftover in (tmp, tmp + "-journal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return BackupResult(dest, os.path.getsize(dest), time.perf_counter() - started, integrity)


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@backup_cli.command("run")
@click.argument("dest", type=click.Path(dir_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace DEST if it exists.")
def run(dest: str, overwrite: bool) -> None:
    """Copy the live SQLite database to DEST while the app keeps running (sqlite3 backup
    API), and check the copy with PRAGMA integrity_check. For PostgreSQL use pg_dump."""
    from flask import current_app

    uri = current_app.config["SQLALCHEMY_DATABASE_URI"]
    source = sqlite_path(uri)
    if source is None:
        backend = make_url(uri).get_backend_name()
        if backend == "postgresql":
            click.echo("The database is PostgreSQL: make online backups with pg_dump, e.g.\n"
                       "  pg_dump --format=custom --file=DEST \"$DATABASE_URL\"\n"
                       "(pg_dump reads one consistent snapshot while the app keeps writing).", err=True)
        else:
            click.echo(f"No online backup for a {backend} database here.", err=True)
        raise SystemExit(2)
    try:
        result = backup_sqlite(source, dest, overwrite=overwrite)
    except BackupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Backed up {source} to {result.path}: {result.size_bytes:,} bytes in "
               f"{result.seconds:.2f} s, integrity_check {result.integrity}.")
