"""Fixtures of the backup tests: backups, work files and the maintenance flag in this test's own folders."""

import os
import stat
from pathlib import Path

import pytest
from django.db import connection

from monitoring.models import Backup, JobStat

on_postgres = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL only")


@pytest.fixture
def backup_settings(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "backups": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "backups")}}}
    settings.BACKUP_WORK_DIR = str(tmp_path / "work")
    settings.MAINTENANCE_FLAG_PATH = str(tmp_path / "maintenance.json")
    settings.BACKUP_ENCRYPTION_KEY = ""
    return settings


def stored_path(backup: Backup, role: str = "database") -> Path:
    from django.conf import settings

    return Path(settings.STORAGES["backups"]["OPTIONS"]["location"]) / backup.file_for(role)["name"]


def job_names() -> set[str]:
    return set(JobStat.objects.values_list("name", flat=True))


def add_jobs(*names):
    for name in names:
        JobStat.objects.create(name=name, runs=1)


def stub_tool(folder: Path, name: str, version_line: str) -> Path:
    """An executable `name` on a folder of its own that prints `version_line` for --version (and fails otherwise)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "{version_line}"; exit 0; fi\nexit 1\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def path_with(folder: Path) -> str:
    return f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


__all__ = ["backup_settings", "connection", "on_postgres"]
