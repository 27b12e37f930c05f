"""`manage.py pipeline status | head` ends quietly when the reader goes away: no BrokenPipe traceback."""

import os
import subprocess
import sys

import pytest
from django.conf import settings


@pytest.fixture(scope="module")
def migrated_env(tmp_path_factory):
    """The environment of a real shell: its own migrated SQLite database with one admin."""
    folder = tmp_path_factory.mktemp("pipes")
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DEBUG="True", VAR_DIR=str(folder), DJANGO_SETTINGS_MODULE="lofisite.settings")
    env.pop("PYTHONUNBUFFERED", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=settings.BASE_DIR, env=env, check=True, timeout=300)
    code = ("from accounts.models import User; from accounts.roles import Role; "
            "User.objects.create_user('root', password='x' * 20, role=Role.ADMIN)")
    subprocess.run([*manage, "shell", "-c", code], cwd=settings.BASE_DIR, env=env, check=True, timeout=120)
    return env


@pytest.mark.parametrize("argv", [["pipeline", "status"], ["pipeline", "--help"]])
def test_output_into_a_closed_pipe_ends_quietly(migrated_env, argv):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already gone: every write meets a closed pipe
    try:
        done = subprocess.run([sys.executable, "manage.py", *argv], cwd=settings.BASE_DIR, env=migrated_env,
                              stdout=write_end, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write_end)
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert done.returncode == 141  # 128 + SIGPIPE, what a shell reports for a tool stopped by a closed pipe


def test_output_into_an_open_pipe_is_unchanged(migrated_env):
    done = subprocess.run([sys.executable, "manage.py", "pipeline", "status"], cwd=settings.BASE_DIR,
                          env=migrated_env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert "No runs yet" in done.stdout.decode()
