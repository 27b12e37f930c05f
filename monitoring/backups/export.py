"""Exports of the database: JSON (Django's serialization) or SQL for the database's own vendor.

`manage.py backup export` (the `backup` command calls `add_arguments` / `handle`) and
`GET /api/v1/admin/export` both stream what `open_export` gives, in batches, so memory stays
bounded whatever the size of the database.

- **JSON** is Django's serialization format, loadable with `manage.py loaddata` into a
  database migrated to the same schema. Models go in dependency order (parents first),
  rows in primary-key order. Foreign keys are written as natural keys where the target
  model has one (content types, permissions, users by username), which is what lets
  the export load into another database: content types and permissions are left out of an
  all-apps export because `migrate` creates them there (name `contenttypes` or
  `auth.Permission` to export them anyway). Secrets stay encrypted: the values of
  `lofisite.crypto.EncryptedTextField` are their stored ciphertext, and `loaddata` stores
  that ciphertext unchanged (lofisite.serialization), so it needs the same
  FIELD_ENCRYPTION_KEY (or SECRET_KEY) as the site that exported.
- **SQL** is the vendor's own dialect, to load into an empty database of that vendor:
  SQLite: schema, rows and indexes of each table read in one read transaction (a consistent
  snapshot), like `sqlite3`'s `.dump` (`sqlite3 new.db < export.sql`); PostgreSQL: `pg_dump
  --format=plain` (the vendor's tool knows its own types, sequences and constraints better
  than INSERTs we would generate), run from an argument list with the password in
  PGPASSWORD, never on a command line (`psql -v ON_ERROR_STOP=1 -d new < export.sql`).
  Secrets are ciphertext there too, since that is what the columns hold.

A JSON export reads table after table outside one transaction, so on a site that is
writing it is consistent per table, not across tables; a backup (`manage.py backup
create`) is the consistent copy of the whole database.
"""

import codecs
import itertools
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.core import serializers
from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections

from .tables import resolve_labels, stored_models

HELP = "Export the database as JSON (Django's serialization) or as SQL for its own vendor."
FORMATS = ("json", "sql")
BATCH_SIZE = 500
PG_DUMP_CHUNK = 64 * 1024
# Rebuilt by `migrate` in any database, and referred to by natural key in the export.
LEFT_OUT_OF_ALL = ("contenttypes.ContentType", "auth.Permission")


class ExportError(Exception):
    """The export cannot run here (a tool is missing or failed); the message says what to do."""


class ExportInputError(ValueError):
    """A bad format or model name; `field` says which input."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def chosen_models(labels=None, using="default") -> list:
    """The models an export covers: the ones named (`app` or `app.Model`), else every model
    with rows here except those `migrate` rebuilds; auto-created many-to-many tables are
    covered by the model that declares the field."""
    if labels:
        try:
            return resolve_labels(labels)
        except ValueError as exc:
            raise ExportInputError("models", str(exc)) from exc
    return [model for model in stored_models(using, include_auto_created=False)
            if model._meta.label not in LEFT_OUT_OF_ALL]


def open_export(*, fmt, models=None, using="default") -> Iterator[str]:
    """Check the request and start the export; returns the text in chunks.

    Bad input raises ExportInputError and a tool that cannot run raises ExportError here,
    before the first chunk, so a caller can still answer with an error instead of a file.
    """
    if fmt not in FORMATS:
        raise ExportInputError("format", f"Unknown format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    chosen = chosen_models(models, using)
    if fmt == "json":
        return _json_chunks(chosen, using)
    vendor = connections[using].vendor
    if vendor == "sqlite":
        return _sqlite_chunks(_tables_of(chosen) if models else None, using)
    if vendor == "postgresql":
        return _pg_dump_chunks(_tables_of(chosen) if models else None, using)
    raise ExportError(f"SQL export is built for SQLite and PostgreSQL, not {vendor}; export JSON instead.")


def export(stream, *, fmt, models=None, using="default") -> None:
    """Write the export to a text stream."""
    for chunk in open_export(fmt=fmt, models=models, using=using):
        stream.write(chunk)


def file_name(fmt, now) -> str:
    return f"lofisite-export-{now:%Y%m%d-%H%M%S}.{fmt}"


# --- JSON --------------------------------------------------------------------------------------
def _rows(model, using):
    """The model's rows in primary-key order, with what the serializer reads joined or prefetched
    per batch (natural keys of foreign keys, many-to-many ids) instead of one query per row."""
    natural_fks = [field.name for field in model._meta.concrete_fields
                   if field.is_relation and hasattr(field.related_model, "natural_key")]
    many = [field.name for field in model._meta.local_many_to_many
            if field.remote_field.through._meta.auto_created]
    queryset = model._base_manager.using(using).order_by("pk")
    if natural_fks:
        queryset = queryset.select_related(*natural_fks)
    return queryset.prefetch_related(*many).iterator(chunk_size=BATCH_SIZE)


def _json_chunks(models, using) -> Iterator[str]:
    yield "["
    first = True
    for model in models:
        for batch in itertools.batched(_rows(model, using), BATCH_SIZE):
            objects = serializers.serialize("python", batch, use_natural_foreign_keys=True)
            text = ",\n".join(json.dumps(obj, cls=DjangoJSONEncoder, ensure_ascii=False) for obj in objects)
            yield ("\n" if first else ",\n") + text
            first = False
    yield "\n]\n"


def _tables_of(models) -> list[str]:
    """The tables of these models and of the many-to-many fields they declare."""
    tables = []
    for model in models:
        tables.append(model._meta.db_table)
        tables += [field.remote_field.through._meta.db_table for field in model._meta.local_many_to_many
                   if field.remote_field.through._meta.auto_created]
    return list(dict.fromkeys(tables))


# --- SQL: SQLite --------------------------------------------------------------------------------
def _sqlite_uri(settings_dict) -> str:
    name = str(settings_dict["NAME"])
    if name.startswith("file:"):  # the test runner's shared in-memory database
        return name
    return Path(name).resolve().as_uri() + "?mode=ro"


def _quote_name(name) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_chunks(tables, using) -> Iterator[str]:
    """Like `sqlite3`'s .dump of these tables (all when None), read in one read transaction:
    a second connection, so the site's connection and its write lock are left alone."""
    source = sqlite3.connect(_sqlite_uri(connections[using].settings_dict), uri=True, isolation_level=None)
    try:
        source.execute("BEGIN")  # deferred: a read snapshot (WAL), no write lock
        schema = source.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql NOT NULL "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid").fetchall()
        if tables is not None:
            order = {table: position for position, table in enumerate(tables)}
            schema = sorted((row for row in schema if row[0] in order), key=lambda row: order[row[0]])
        yield "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"
        for table, create in schema:
            yield f"{create};\n"
            columns = [row[1] for row in source.execute(f"PRAGMA table_info({_quote_name(table)})")]
            values = " || ',' || ".join(f"quote({_quote_name(column)})" for column in columns)
            prefix = f"INSERT INTO {_quote_name(table)} VALUES("
            rows = source.execute(f"SELECT {values} FROM {_quote_name(table)}")
            while batch := rows.fetchmany(BATCH_SIZE):
                yield "".join(f"{prefix}{row[0]});\n" for row in batch)
        names = [table for table, _ in schema]
        marks = ",".join("?" * len(names))
        for (create,) in source.execute(
                f"SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger', 'view') AND sql NOT NULL "
                f"AND tbl_name IN ({marks}) ORDER BY rowid", names):
            yield f"{create};\n"
        if source.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            for name, seq in source.execute(f"SELECT name, seq FROM sqlite_sequence WHERE name IN ({marks})", names):
                yield (f"DELETE FROM sqlite_sequence WHERE name = '{name}';\n"
                       f"INSERT INTO sqlite_sequence(name, seq) VALUES('{name}', {int(seq)});\n")
        yield "COMMIT;\n"
    finally:
        source.close()


# --- SQL: PostgreSQL ------------------------------------------------------------------------------
def pg_environment(settings_dict) -> dict:
    """libpq's environment for this database: the password goes here, never on a command line."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    mapping = {"HOST": "PGHOST", "PORT": "PGPORT", "USER": "PGUSER", "PASSWORD": "PGPASSWORD", "NAME": "PGDATABASE"}
    for key, variable in mapping.items():
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    options = settings_dict.get("OPTIONS") or {}
    for option, variable in (("sslmode", "PGSSLMODE"), ("service", "PGSERVICE"), ("passfile", "PGPASSFILE")):
        if options.get(option):
            env[variable] = str(options[option])
    return env


def pg_dump_command(connection) -> str:
    """The pg_dump on PATH, checked to be at least as new as the server (pg_dump refuses an
    older major version's server with a message that does not say what to install)."""
    server_major = connection.pg_version // 10000
    binary = shutil.which("pg_dump")
    if binary is None:
        raise ExportError(f"pg_dump is not on PATH. Install the PostgreSQL {server_major} client tools "
                          f"(Debian/Ubuntu: apt-get install postgresql-client-{server_major}).")
    try:
        answer = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ExportError(f"{binary} --version failed: {exc}") from exc
    found = re.search(r"(\d+)(?:\.\d+)*", answer)
    if found is None:
        raise ExportError(f"Cannot read the version of {binary} from {answer.strip()!r}.")
    if int(found.group(1)) < server_major:
        raise ExportError(f"{binary} is version {found.group(0)} but the server runs PostgreSQL "
                          f"{server_major}.{connection.pg_version % 10000}: install postgresql-client-{server_major} "
                          "and put its pg_dump first on PATH.")
    return binary


def _pg_dump_chunks(tables, using) -> Iterator[str]:
    connection = connections[using]
    connection.ensure_connection()
    command = [pg_dump_command(connection), "--format=plain", "--no-owner", "--no-privileges", "--encoding=UTF8"]
    command += [f"--table={connection.ops.quote_name(table)}" for table in tables or ()]
    errors = tempfile.TemporaryFile()  # a file, so a chatty stderr cannot block the pipe
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors,
                                   env=pg_environment(connection.settings_dict))
    except OSError as exc:
        errors.close()
        raise ExportError(f"pg_dump could not start: {exc}") from exc
    first = process.stdout.read(PG_DUMP_CHUNK)
    if not first and process.wait() != 0:  # refused at the start: say why before any byte is sent
        message = _stderr_of(errors)
        process.stdout.close()
        raise ExportError(f"pg_dump failed: {message}")
    return _pg_dump_rest(process, first, errors)


def _stderr_of(errors) -> str:
    errors.seek(0)
    text = errors.read().decode(errors="replace").strip()
    errors.close()
    return text


def _pg_dump_rest(process, first, errors) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        chunk = first
        while chunk:
            yield decoder.decode(chunk)
            chunk = process.stdout.read(PG_DUMP_CHUNK)
        yield decoder.decode(b"", final=True)
        if process.wait() != 0:
            raise ExportError(f"pg_dump failed: {_stderr_of(errors)}")
    finally:
        if process.poll() is None:  # the reader went away (a closed download): stop pg_dump
            process.kill()
            process.wait()
        process.stdout.close()
        errors.close()


# --- manage.py backup export --------------------------------------------------------------------
def add_arguments(parser):
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="json",
                        help="json: Django's serialization (loaddata); sql: the database vendor's SQL.")
    parser.add_argument("--models", nargs="+", metavar="MODEL", default=None,
                        help="Only these models (app_label.ModelName) or apps (app_label); default: all.")
    parser.add_argument("--output", metavar="FILE",
                        help="Write to this file (written whole, then renamed into place); default: stdout.")


def handle(command, *, fmt="json", models=None, output=None, **options):
    """Called by `manage.py backup export` once the acting user may export (Backup's rule)."""
    try:
        chunks = open_export(fmt=fmt, models=models)
        if output is None:
            for chunk in chunks:
                command.stdout.write(chunk, ending="")
            return
        target = Path(output)
        if target.is_dir():
            raise CommandError(f"--output {output} is a folder; name a file.")
        if not target.parent.is_dir():
            raise CommandError(f"--output {output}: the folder {target.parent} does not exist.")
        size = _write_atomically(target, chunks)
    except ExportInputError as exc:
        raise CommandError(f"--{exc.field}: {exc}") from exc
    except ExportError as exc:
        raise CommandError(str(exc)) from exc
    command.stdout.write(command.style.SUCCESS(f"Exported {fmt.upper()} to {target} ({size:,} bytes)."))


def _write_atomically(target: Path, chunks) -> int:
    """The whole export in a temporary file beside the target, renamed over it at the end: a failed
    export leaves no half file under the target's name."""
    handle_, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(handle_, "w", encoding="utf-8") as stream:
            for chunk in chunks:
                stream.write(chunk)
            stream.flush()
            os.fsync(stream.fileno())
            size = stream.tell()
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return size
