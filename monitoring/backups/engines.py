"""Dumping and restoring one database: SQLite through its online backup API, PostgreSQL through
pg_dump -Fc / pg_restore found on PATH.

Why not django-dbbackup (5.4, installed): its connectors build command lines as strings and split
them with shlex, check no pg_dump/server version, restore SQLite by copying a file over the live one
(unsafe while other processes hold it open in WAL mode), and have no verification; what is left to
use of it (a storage wrapper) is Django's storage API, which we use directly.

PostgreSQL tools run as argument lists with every connection setting in the environment (PGHOST,
PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSERVICE, PGPASSFILE, PGSSL*): never on a command line,
where `ps` would show a password.

Consistency: SQLite's backup API copies one consistent state while others write, and the stats
are computed on that copy. For PostgreSQL one REPEATABLE READ READ ONLY transaction exports its
snapshot to `pg_dump --snapshot`, and the stats are computed inside that same transaction (while
pg_dump runs), so they describe exactly the rows in the dump.
"""

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connections

from . import files
from . import stats as table_stats

_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")


class BackupError(Exception):
    """A backup or restore step that cannot go on; the message is for the operator."""


@dataclass
class Dump:
    path: Path
    stats: dict
    schema: dict
    server_version: str
    sha256: str | None = None  # of the file as written, when known without reading it again
    extra: dict = field(default_factory=dict)


def vendor(alias: str = "default") -> str:
    return connections[alias].vendor


# --- SQLite ------------------------------------------------------------------------------------------

def _live_sqlite(alias: str) -> sqlite3.Connection:
    conn = connections[alias]
    conn.ensure_connection()
    if conn.in_atomic_block:
        raise BackupError("A SQLite backup or restore cannot run inside a transaction.")
    return conn.connection


# Reading a just-written copy through a memory map is about twice as fast as through SQLite's page cache.
_MMAP = "PRAGMA mmap_size = 1073741824"


def dump_sqlite(source: sqlite3.Connection, target: Path) -> Dump:
    """Copy a live SQLite database (sqlite3's online backup API: one consistent state while others write).

    The finished copy is hashed in a thread while its stats are taken (both only read it; hashlib and
    SQLite release the GIL), instead of one after the other."""
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        before = _file_state(target)
        with ThreadPoolExecutor(max_workers=1) as pool:
            sha = pool.submit(files.sha256_of, target)
            copy.execute(_MMAP)
            stats = table_stats.table_stats(copy, "sqlite")
            schema = table_stats.applied_migrations(copy) if "django_migrations" in stats else {}
            digest = sha.result()
    finally:
        copy.close()
    if _file_state(target) != before:  # never expected: reading must not change the file, but the hash must hold
        digest = files.sha256_of(target)
    return Dump(target, stats, schema, sqlite3.sqlite_version, sha256=digest)


def _file_state(path: Path) -> tuple:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def dump_sqlite_alias(alias: str, target: Path) -> Dump:
    return dump_sqlite(_live_sqlite(alias), target)


def _check_sqlite_file(path: Path) -> None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"The backup file is not a readable SQLite database: {exc}") from exc
    if result != "ok":
        raise BackupError(f"The backup file fails SQLite's integrity check (quick_check): {result}")


def scratch_stats_sqlite(path: Path, scratch_dir: Path) -> dict:
    """Restore the file into a temporary SQLite database and take its stats."""
    _check_sqlite_file(path)
    scratch_path = scratch_dir / "verify.sqlite3"
    source, scratch = sqlite3.connect(path), sqlite3.connect(scratch_path)
    try:
        source.backup(scratch)
        scratch.execute(_MMAP)
        return table_stats.table_stats(scratch, "sqlite")
    finally:
        source.close()
        scratch.close()
        scratch_path.unlink(missing_ok=True)


def restore_sqlite(path: Path, alias: str = "default") -> None:
    """Replace the live database's content with the file's, page by page through the backup API.

    The copy is written by the live connection itself in one step, so other processes wait on the
    lock and then see the whole restored database, never half of it. (The file's SHA-256 was checked
    by the caller and its restorability proven by verification; the stats comparison follows.)
    """
    source = sqlite3.connect(path)
    try:
        live = _live_sqlite(alias)
        source.backup(live)
        # The copy went into the write-ahead log; move it into the database file now (the next statement would
        # anyway, as the sqlite3 CLI's .restore does when it closes the database), so the restore is complete.
        live.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite restore failed: {exc}") from exc
    finally:
        source.close()


def live_stats(alias: str = "default") -> dict:
    """The stats of the live database now (after a restore)."""
    if vendor(alias) == "sqlite":
        return table_stats.table_stats(_live_sqlite(alias), "sqlite")
    with _pg_snapshot(alias) as (raw, make_cursor):
        return table_stats.table_stats(raw, "postgresql", make_cursor)


# --- PostgreSQL --------------------------------------------------------------------------------------

_PG_OPTION_ENV = {"service": "PGSERVICE", "passfile": "PGPASSFILE", "sslmode": "PGSSLMODE",
                  "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY"}


def pg_env(alias: str = "default", dbname: str | None = None) -> dict:
    """The environment that points libpq tools at the database (credentials included)."""
    conf = connections[alias].settings_dict
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    pairs = {"PGHOST": conf.get("HOST"), "PGPORT": conf.get("PORT"), "PGUSER": conf.get("USER"),
             "PGPASSWORD": conf.get("PASSWORD"), "PGDATABASE": dbname or conf.get("NAME")}
    for option, variable in _PG_OPTION_ENV.items():
        pairs[variable] = (conf.get("OPTIONS") or {}).get(option)
    env.update({key: str(value) for key, value in pairs.items() if value not in (None, "")})
    return env


def pg_server_version(alias: str = "default") -> tuple[str, int]:
    """("15.20", 15): the server's version and major version."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_setting('server_version_num')")
        text, number = cursor.fetchone()
    return text.split()[0], int(number) // 10000


# (path, inode, mtime, size) -> the version the tool printed: running `--version` costs a process per
# backup; a tool replaced or upgraded at the same path changes its inode or mtime and is asked again.
_tool_versions: dict[tuple, tuple[str, int]] = {}


def _tool_version(name: str, path: str) -> tuple[str, int]:
    info = os.stat(path)
    key = (path, info.st_ino, info.st_mtime_ns, info.st_size)
    if key in _tool_versions:
        return _tool_versions[key]
    try:
        output = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(f"{name} at {path} could not be run: {exc}") from exc
    match = _VERSION.search(output.rsplit(")", 1)[-1]) or _VERSION.search(output)
    if match is None:
        raise BackupError(f"{name} at {path} did not report a version (it printed {output.strip()[:100]!r}).")
    _tool_versions[key] = match.group(0), int(match.group(1))
    return _tool_versions[key]


def pg_tool(name: str, server_text: str, server_major: int) -> str:
    """The path of a PostgreSQL client tool on PATH, refused when missing or older than the server."""
    package = f"postgresql-client-{server_major}"
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found on PATH. Install the PostgreSQL client tools for the server "
                          f"(PostgreSQL {server_text}): the package {package} (e.g. `apt-get install {package}`).")
    tool_text, tool_major = _tool_version(name, path)
    if tool_major < server_major:
        raise BackupError(f"{name} {tool_text} ({path}) is older than the PostgreSQL server {server_text} and "
                          f"cannot work with it reliably. Install {package} (e.g. `apt-get install {package}`) "
                          f"and put its {name} first on PATH.")
    return path


class _pg_snapshot:
    """A separate REPEATABLE READ READ ONLY connection: (raw connection, server-side cursor factory)."""

    def __init__(self, alias: str, dbname: str | None = None):
        self.alias, self.dbname = alias, dbname

    def __enter__(self):
        import psycopg

        wrapper = connections[self.alias]
        params = wrapper.get_connection_params()
        if self.dbname:
            params["dbname"] = self.dbname
        self.raw = wrapper.get_new_connection(params)
        self.raw.autocommit = False
        self.raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self.raw.read_only = True
        counter = iter(range(1_000_000))
        return self.raw, lambda: self.raw.cursor(name=f"lofisite_stats_{next(counter)}")

    def __exit__(self, *exc):
        try:
            self.raw.rollback()
        finally:
            self.raw.close()


def _run(command: list[str], env: dict, what: str, **kwargs) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}): {result.stderr.strip()[-1500:]}")


def dump_postgres(alias: str, target: Path) -> Dump:
    server_text, server_major = pg_server_version(alias)
    pg_dump = pg_tool("pg_dump", server_text, server_major)
    with _pg_snapshot(alias) as (raw, make_cursor):
        with raw.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        errors = target.with_suffix(".stderr")
        with open(errors, "w") as err:
            process = subprocess.Popen(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-password", f"--file={target}"],
                env=pg_env(alias), stdout=subprocess.DEVNULL, stderr=err)
            try:
                # While pg_dump reads the snapshot, take the same snapshot's stats here.
                stats = table_stats.table_stats(raw, "postgresql", make_cursor)
                schema = table_stats.applied_migrations(raw) if "django_migrations" in stats else {}
            finally:
                code = process.wait()
        message = errors.read_text().strip()
        errors.unlink()
    if code != 0:
        raise BackupError(f"pg_dump failed (exit {code}): {message[-1500:]}")
    return Dump(target, stats, schema, server_text)


def _admin_execute(alias: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE) on a fresh connection."""
    wrapper = connections[alias]
    raw = wrapper.get_new_connection(wrapper.get_connection_params())
    try:
        raw.autocommit = True
        raw.execute(sql)
    finally:
        raw.close()


def scratch_stats_postgres(alias: str, path: Path) -> dict:
    """Restore the dump into a temporary database (pg_restore --exit-on-error) and take its stats."""
    server_text, server_major = pg_server_version(alias)
    pg_restore = pg_tool("pg_restore", server_text, server_major)
    name = f"{connections[alias].settings_dict['NAME']}_verify_{uuid.uuid4().hex[:12]}"[:63]
    quoted = table_stats.quote(name)
    _admin_execute(alias, f"CREATE DATABASE {quoted} TEMPLATE template0")
    try:
        _run([pg_restore, "--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges",
              "--no-password", f"--dbname={name}", str(path)], pg_env(alias, dbname=name),
             "pg_restore into the scratch database")
        with _pg_snapshot(alias, dbname=name) as (raw, make_cursor):
            return table_stats.table_stats(raw, "postgresql", make_cursor)
    finally:
        _admin_execute(alias, f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")


def restore_postgres(alias: str, path: Path) -> None:
    """Replace the live database's content with the dump's, in one transaction that stops at the first error.

    pg_restore turns the dump into SQL, which psql runs after dropping and re-creating the public schema,
    all with ON_ERROR_STOP inside --single-transaction: the database is either the dump's or unchanged.
    """
    server_text, server_major = pg_server_version(alias)
    pg_restore = pg_tool("pg_restore", server_text, server_major)
    psql = pg_tool("psql", server_text, server_major)
    connections[alias].close()  # our own idle connection must not hold locks on what is dropped
    env = pg_env(alias)
    scratch = path.parent
    with open(scratch / "pg_restore.stderr", "w+") as restore_err, open(scratch / "psql.stderr", "w+") as psql_err:
        reader = subprocess.Popen([pg_restore, "--no-owner", "--no-privileges", "--file=-", str(path)],
                                  env=env, stdout=subprocess.PIPE, stderr=restore_err)
        writer = subprocess.Popen([psql, "-X", "--quiet", "--no-password", "-v", "ON_ERROR_STOP=1",
                                   "--single-transaction", "--file=-"],
                                  env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err)
        try:
            writer.stdin.write(b"DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n")
            shutil.copyfileobj(reader.stdout, writer.stdin, 1024 * 1024)
        except BrokenPipeError:
            pass  # psql stopped at an error; its exit status and stderr say which
        finally:
            with contextlib.suppress(BrokenPipeError):
                writer.stdin.close()
            reader_code, writer_code = reader.wait(), writer.wait()
        restore_err.seek(0)
        psql_err.seek(0)
        if writer_code != 0:
            raise BackupError(f"PostgreSQL restore stopped at an error and was rolled back (psql exit "
                              f"{writer_code}): {psql_err.read().strip()[-1500:]}")
        if reader_code != 0:
            raise BackupError(f"pg_restore could not read the dump (exit {reader_code}): "
                              f"{restore_err.read().strip()[-1500:]}")


# --- vendor dispatch -------------------------------------------------------------------------------

SUFFIX = {"sqlite": ".sqlite3", "postgresql": ".dump"}


def dump(alias: str, target_dir: Path) -> Dump:
    kind = vendor(alias)
    if kind not in SUFFIX:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {kind}.")
    target = target_dir / f"database{SUFFIX[kind]}"
    return dump_sqlite_alias(alias, target) if kind == "sqlite" else dump_postgres(alias, target)


def scratch_stats(alias: str, path: Path, scratch_dir: Path) -> dict:
    if vendor(alias) == "sqlite":
        return scratch_stats_sqlite(path, scratch_dir)
    return scratch_stats_postgres(alias, path)


def restore(alias: str, path: Path) -> None:
    if vendor(alias) == "sqlite":
        restore_sqlite(path, alias)
    else:
        restore_postgres(alias, path)
