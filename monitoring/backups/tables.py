"""The database's tables as models: which ones, in which order, and how to compare two copies.

Used by the export (`export.py`) and the copy between vendors (`migrate.py`): every table
that migrations create is the table of a concrete model (auto-created many-to-many tables
included) or `django_migrations`, which `migrate` writes itself.
"""

import hashlib
from dataclasses import dataclass

from django.apps import apps
from django.db import router

# The one table that belongs to no model; the target's own `migrate` fills it.
MIGRATIONS_TABLE = "django_migrations"


def stored_models(using="default", *, include_auto_created=True) -> list:
    """Every model with a table of its own in this database, parents before the rows that point at
    them (foreign keys and one-to-ones; a self-reference such as Category.parent does not order)."""
    candidates = [model for model in apps.get_models(include_auto_created=include_auto_created)
                  if model._meta.managed and not model._meta.proxy and not model._meta.swapped
                  and router.allow_migrate_model(using, model)]
    return dependency_order(candidates)


def dependency_order(models: list) -> list:
    """`models` sorted so that every model comes after the models its foreign keys point at.

    Depth-first over the foreign keys, by label for a stable order; a cycle (two models that
    point at each other) is broken where it is found: both copies load in one transaction
    whose foreign-key checks are deferred to the commit (Django creates every foreign key
    DEFERRABLE INITIALLY DEFERRED on PostgreSQL and SQLite), so the order is a courtesy to
    readers of an export, not what keeps the rows consistent.
    """
    wanted = {model._meta.label: model for model in models}
    ordered, seen = [], set()

    def visit(model, path):
        label = model._meta.label
        if label in seen or label in path:
            return
        path.add(label)
        for field in model._meta.local_concrete_fields:
            if not (field.is_relation and (field.many_to_one or field.one_to_one)):
                continue
            target = field.related_model._meta.concrete_model._meta.label
            if target != label and target in wanted:
                visit(wanted[target], path)
        path.discard(label)
        seen.add(label)
        ordered.append(model)

    for label in sorted(wanted):
        visit(wanted[label], set())
    return ordered


@dataclass(frozen=True)
class TableSummary:
    """A table's row count and a SHA-256 of its primary keys in order (the same rows give the
    same digest on any vendor)."""

    table: str
    rows: int
    pk_sha256: str


def summarize(model, using="default") -> TableSummary:
    """Count and primary-key checksum of one model's table, read in batches (bounded memory)."""
    digest = hashlib.sha256()
    rows = 0
    for pk in model._base_manager.using(using).order_by("pk").values_list("pk", flat=True).iterator(
            chunk_size=5000):
        digest.update(f"{pk}\n".encode())
        rows += 1
    return TableSummary(model._meta.db_table, rows, digest.hexdigest())


def compare(models, source="default", target="default") -> list[str]:
    """The differences between two databases for these models, one sentence each (empty: equal)."""
    differences = []
    for model in models:
        mine, theirs = summarize(model, source), summarize(model, target)
        if mine.rows != theirs.rows:
            differences.append(f"{mine.table}: {mine.rows} rows in the source, {theirs.rows} in the target")
        elif mine.pk_sha256 != theirs.pk_sha256:
            differences.append(f"{mine.table}: the same number of rows ({mine.rows}) but other primary keys")
    return differences


def resolve_labels(labels) -> list:
    """Models named `app_label` or `app_label.ModelName` (case-insensitive model name), in
    dependency order; ValueError names every label that is not a model or an app here."""
    chosen, unknown = {}, []
    for label in labels:
        label = label.strip()
        if not label:
            continue
        try:
            if "." in label:
                found = [apps.get_model(label)]
            else:
                found = list(apps.get_app_config(label).get_models())
        except (LookupError, ValueError):
            unknown.append(label)
            continue
        for model in found:
            if model._meta.managed and not model._meta.proxy:
                chosen[model._meta.label] = model
    if unknown:
        raise ValueError(f"No such app or model: {', '.join(unknown)}. Name models as app_label.ModelName "
                         "(e.g. pipeline.Run) or a whole app (e.g. pipeline).")
    return dependency_order(list(chosen.values()))


def model_labels() -> list[str]:
    """Every name `resolve_labels` accepts, in its canonical spelling: apps, then models."""
    models = [model for model in apps.get_models() if model._meta.managed and not model._meta.proxy]
    return sorted({model._meta.app_label for model in models}) + sorted(model._meta.label for model in models)
