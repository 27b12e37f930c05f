"""Backups and disaster recovery: verified backups of database and media, restore, export."""
