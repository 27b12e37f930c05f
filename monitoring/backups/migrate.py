"""Copy the whole database to another one, of the same or the other vendor (SQLite <-> PostgreSQL).

`manage.py migrate_database --to URL [--from URL] [--force]` calls `copy_database`:

1. the source must have every migration of this code applied; the target must be empty (no
   tables) unless `force`, which empties it;
2. the target's schema is made by this code's migrations (`migrate --database`), so it is
   exactly the schema the code expects on that vendor;
3. in ONE transaction on the target: every table is emptied (migrate's own rows: content
   types, permissions, role groups, seed data, which come over from the source with their
   ids instead), then every model's rows are copied in dependency order, in batches
   (`iterator(chunk_size)` on the source, `executemany` on the target: memory is bounded by
   one batch), then the PostgreSQL sequences are moved past the copied ids, then each table's
   row count and primary-key checksum are compared with the source; any difference or error
   rolls the whole copy back. **Atomic, not resumable**: a failed run leaves the target as
   migrate made it (the schema and migrate's own rows, none of the source's), and is simply
   run again with `--force`.

Rows are inserted with their stored values, not through `save()`/`bulk_create()`, which would
run `pre_save` and stamp `auto_now` columns with the time of the copy. Foreign keys are
checked at the commit (Django creates them DEFERRABLE INITIALLY DEFERRED), which is what
lets self-references (vinted Category.parent) and cycles load in any order.

Every table migrations create is a model's table (many-to-many tables included), except
`django_migrations`, which the target's own migrate writes; `copy_database` refuses a source
with a table it would not copy.
"""

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import environ
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import load_backend

from .tables import MIGRATIONS_TABLE, compare, stored_models

BATCH_SIZE = 2000
VENDORS = {"sqlite": "django.db.backends.sqlite3", "postgresql": "django.db.backends.postgresql"}


class MigrationRefused(Exception):
    """The copy cannot start or did not verify; nothing was committed to the target."""


@dataclass
class Progress:
    """What `copy_database` reports as it goes: rows copied of the total, table by table."""

    total: int = 0
    done: int = 0
    table: str = ""
    started: float = field(default_factory=time.monotonic)

    @property
    def rows_per_second(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


@dataclass
class CopyResult:
    tables: int
    rows: int
    seconds: float


def database_settings(url: str) -> dict:
    """DATABASES settings for `sqlite:///path` or `postgres://user:pass@host:port/name`."""
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises bare errors for unknown schemes
        raise MigrationRefused(f"Cannot read the database URL {url!r}: {exc}") from exc
    engine = config.get("ENGINE", "")
    if engine not in VENDORS.values():
        raise MigrationRefused(f"{url!r} is not a SQLite or PostgreSQL URL: use sqlite:///path/to/file.sqlite3 "
                               "or postgres://user:password@host:5432/name.")
    if not config.get("NAME") or config["NAME"] == ":memory:":
        raise MigrationRefused(f"{url!r} names no database (SQLite needs a file path, PostgreSQL a database name).")
    if engine == VENDORS["sqlite"]:
        # As the site's own SQLite settings: several processes will share the file.
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20,
                             "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    return config


@contextmanager
def extra_database(alias: str, url: str):
    """A connection named `alias` to `url` while the block runs, in this thread (how migrate and
    the ORM reach the target). It is not added to DATABASES: no other thread or request sees it."""
    if alias in connections:
        raise MigrationRefused(f"The database alias {alias!r} is taken.")
    configured = connections.configure_settings({DEFAULT_DB_ALIAS: {}, alias: database_settings(url)})[alias]
    connections[alias] = load_backend(configured["ENGINE"]).DatabaseWrapper(configured, alias)
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]


def _describe(alias) -> str:
    settings_dict = connections[alias].settings_dict
    where = f"{settings_dict.get('HOST') or 'localhost'}:{settings_dict.get('PORT') or 5432}/" \
        if connections[alias].vendor == "postgresql" else ""
    return f"{connections[alias].vendor} {where}{settings_dict['NAME']}"


def _same_database(source, target) -> bool:
    first, second = connections[source].settings_dict, connections[target].settings_dict
    if first["ENGINE"] != second["ENGINE"]:
        return False
    if connections[source].vendor == "sqlite":
        return Path(str(first["NAME"])).resolve() == Path(str(second["NAME"])).resolve()
    keys = ("NAME", "HOST", "PORT")
    return all(str(first.get(key) or "") == str(second.get(key) or "") for key in keys)


def check_copy(source, target, *, force=False) -> list:
    """Everything that must hold before a copy starts (MigrationRefused says what does not);
    returns the source's models in dependency order."""
    check_distinct(source, target)
    models = check_source(source)
    check_target_empty(target, force)
    return models


def check_distinct(source, target):
    """Two different databases of the vendors this copies (read from their settings: nothing connects)."""
    if _same_database(source, target):
        raise MigrationRefused("The source and the target are the same database.")
    for alias in (source, target):
        if connections[alias].vendor not in VENDORS:
            raise MigrationRefused(f"{_describe(alias)}: only SQLite and PostgreSQL are supported.")


def check_source(source):
    executor = MigrationExecutor(connections[source])
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in pending[:5])
        raise MigrationRefused(f"The source ({_describe(source)}) has {len(pending)} migrations not applied "
                               f"({names}{', ...' if len(pending) > 5 else ''}): run `manage.py migrate` on it first.")
    models = stored_models(source)
    uncovered = set(connections[source].introspection.table_names()) - {m._meta.db_table for m in models} \
        - {MIGRATIONS_TABLE}
    if uncovered:
        raise MigrationRefused(f"The source has tables that belong to no model of this code: "
                               f"{', '.join(sorted(uncovered))}; they would not be copied.")
    return models


def check_target_empty(target, force: bool):
    tables = connections[target].introspection.table_names()
    if tables and not force:
        raise MigrationRefused(f"The target ({_describe(target)}) is not empty: it has {len(tables)} tables. "
                               "migrate_database copies into an empty database; pass --force to empty this one "
                               "first (everything in it is lost).")


def _insert_sql(model, target_connection):
    quote = target_connection.ops.quote_name
    fields = model._meta.local_concrete_fields
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return fields, f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"


def _copy_model(model, source, target, progress, report):
    target_connection = connections[target]
    fields, sql = _insert_sql(model, target_connection)
    rows = model._base_manager.using(source).order_by("pk").values_list(*[f.attname for f in fields])
    batch = []
    with target_connection.cursor() as cursor:
        for row in rows.iterator(chunk_size=BATCH_SIZE):
            batch.append([f.get_db_prep_save(value, connection=target_connection)
                          for f, value in zip(fields, row, strict=True)])
            if len(batch) == BATCH_SIZE:
                cursor.executemany(sql, batch)
                progress.done += len(batch)
                report(progress)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            progress.done += len(batch)
            report(progress)


def copy_database(source: str, target: str, *, force=False,
                  report: Callable[[Progress], None] = lambda progress: None) -> CopyResult:
    """Copy every row of `source` into `target` (both DATABASES aliases); see the module docstring."""
    models = check_copy(source, target, force=force)
    call_command("migrate", database=target, interactive=False, verbosity=0)
    target_connection = connections[target]
    progress = Progress(total=sum(model._base_manager.using(source).count() for model in models))
    with transaction.atomic(using=target):
        tables = [model._meta.db_table for model in models]
        for statement in target_connection.ops.sql_flush(no_style(), tables, reset_sequences=True,
                                                         allow_cascade=True):
            with target_connection.cursor() as cursor:
                cursor.execute(statement)
        for model in models:
            progress.table = model._meta.db_table
            report(progress)
            _copy_model(model, source, target, progress, report)
        for statement in target_connection.ops.sequence_reset_sql(no_style(), models):
            with target_connection.cursor() as cursor:
                cursor.execute(statement)
        differences = compare(models, source, target)
        if differences:
            raise MigrationRefused("The copy does not match the source, nothing was kept: " + "; ".join(differences))
    return CopyResult(tables=len(models), rows=progress.done, seconds=time.monotonic() - progress.started)
