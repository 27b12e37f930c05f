"""`manage.py migrate_database` of 100,000 rows, SQLite -> PostgreSQL: rows per second and peak RSS.

1. A child process makes a migrated SQLite database in a temporary folder with `--rows`
   rows: monitoring Events (80 %, each with a JSON payload and a user) and pipeline Runs with
   their Stages (20 %), written with bulk_create.
2. A second child runs `manage.py migrate_database --to postgres://.../<new database>` on it,
   as an operator would; its peak resident memory is read from the kernel (wait4's ru_maxrss
   of that process alone), its wall time measured around it. The command's own line gives
   the copy's rows per second (the copy and verification only, without the target's migrate).
3. The PostgreSQL database is dropped afterwards.

Usage: python bench/bench_migrate_database.py [--rows 100000] [--server postgres://postgres@127.0.0.1:5432]
Target: peak RSS under 300 MB.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

MAKE_ROWS = r"""
import sys, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
from accounts.models import User
from accounts.roles import Role
from monitoring.models import Event
from pipeline.models import Run, Stage
rows = int(sys.argv[1])
admin = User.objects.create_user("bench-admin", password="x" * 20, role=Role.ADMIN)
runs = rows // 5 // 4  # each run has 3 stages: runs + stages = 20 % of the rows
batch = 5000
for start in range(0, runs, batch):
    made = Run.objects.bulk_create([Run(preset="study", duration_s=60, seed=n, created_by=admin)
                                    for n in range(start, min(start + batch, runs))])
    Stage.objects.bulk_create([Stage(run=run, name=name, outputs={"file": f"{run.pk}/{name}"})
                               for run in made for name in ("compose", "artwork", "render")])
events = rows - Run.objects.count() - Stage.objects.count() - User.objects.count()
for start in range(0, events, batch):
    Event.objects.bulk_create([Event(source="bench", kind="row.made", message=f"event {n}",
                                     payload={"n": n, "text": "lo-fi " * 8}, user=admin)
                               for n in range(start, min(start + batch, events))])
print(sum(model.objects.count() for model in (User, Run, Stage, Event)))
"""


def child_env(sqlite_path: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DEBUG": "True", "SQLITE_PATH": str(sqlite_path), "DJANGO_SETTINGS_MODULE": "lofisite.settings",
                "VAR_DIR": str(sqlite_path.parent), "CACHE_DIR": str(sqlite_path.parent / "cache"),
                "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)})
    return env


def admin_sql(server: str, sql: str) -> None:
    subprocess.run(["psql", f"{server}/postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL without a database name (password: PGPASSWORD).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as folder:
        sqlite_path = Path(folder) / "source.sqlite3"
        env = child_env(sqlite_path)
        started = time.perf_counter()
        made = subprocess.run([PYTHON, "-c", MAKE_ROWS, str(args.rows)], env=env, cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip().splitlines()[-1]
        size = sqlite_path.stat().st_size / 1e6
        print(f"source: {int(made):,} rows of users, runs, stages and events in {size:.1f} MB of SQLite "
              f"(made in {time.perf_counter() - started:.1f} s)")

        name = f"wt_dbexport_target_bench_{uuid.uuid4().hex[:8]}"
        admin_sql(args.server, f'CREATE DATABASE "{name}"')
        try:
            started = time.perf_counter()
            process = subprocess.Popen([PYTHON, "manage.py", "migrate_database", "--to", f"{args.server}/{name}"],
                                       env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            output = process.stdout.read()
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
        finally:
            admin_sql(args.server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"migrate_database failed:\n{output}")
        summary = output.strip().splitlines()[-1]
        copied = re.search(r"Copied ([\d,]+) rows of (\d+) tables in ([\d.]+) s \(([\d,]+) rows/s\)", summary)
        print(summary)
        print(f"rows copied: {copied.group(1)}; copy + verification: {copied.group(3)} s = {copied.group(4)} rows/s")
        print(f"whole command (start-up, migrate of the target, copy, verification): {wall:.1f} s")
        print(f"peak RSS of the command: {usage.ru_maxrss / 1024:.0f} MB (target < 300 MB)")


if __name__ == "__main__":
    main()
