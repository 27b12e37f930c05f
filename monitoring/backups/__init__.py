"""Backups and disaster recovery: verified backups of database and media, restore, export.

- services.py: create / verify / restore / rotate / the daily scheduler hook / freshness;
- engines.py: SQLite (online backup API) and PostgreSQL (pg_dump -Fc, pg_restore) dumps and restores;
- stats.py: per-table row counts and primary-key checksums (what verification compares);
- files.py: storage, SHA-256 and encryption at rest; media.py: the streamed media tar;
- maintenance.py: the maintenance flag every process obeys during a restore;
- export.py: JSON / SQL exports (`manage.py backup export`).
"""


def freshness() -> dict:
    """The newest successful database backup and its age (see services.freshness); for health and metrics."""
    from .services import freshness as _freshness

    return _freshness()
