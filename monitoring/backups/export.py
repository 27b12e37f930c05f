"""Exports of the database: JSON (Django's serialization) or SQL for the database's own vendor.
Built by the export work; `manage.py backup export` calls add_arguments/handle."""

HELP = "(not built yet)"


def add_arguments(parser):
    pass


def handle(command, **options):
    raise NotImplementedError
