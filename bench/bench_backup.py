"""Backup and restore against the raw tools, with 100,000 rows, in the same run.

SQLite: ours (monitoring.backups: online backup API + stats on the copy + SHA-256 + storage) against
Python's sqlite3 backup API alone (the sqlite3 CLI's `.backup` is the same API; the CLI is not
installed here). PostgreSQL: ours (pg_dump -Fc with an exported snapshot while the same snapshot's
stats are taken, + SHA-256 + storage) against `pg_dump -Fc`, and our restore (pg_restore | psql with
ON_ERROR_STOP in one transaction, then the stats comparison) against
`pg_restore --clean --if-exists --single-transaction`. Verification (a restore into a scratch
database and the comparison) and the whole restore service (safety backup + its verification +
maintenance + restore) are reported separately.

Usage:
  python bench/bench_backup.py                      # SQLite in a temp folder
  python bench/bench_backup.py --postgres postgres://postgres@127.0.0.1:5432/wt_backup_bench
      (the database is created if missing and emptied first: use one of your own)
Target: ours at most 1.2x the raw tool, for backup and for restore.
"""

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(func, repeat):
    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="DATABASE_URL of a scratch PostgreSQL database of your own")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for each timing")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    os.environ.update(ENV_FILE="/dev/null", DEBUG="True", VAR_DIR=str(work / "var"))
    os.environ.pop("REDIS_URL", None)
    if args.postgres:
        os.environ["DATABASE_URL"] = args.postgres
        name = args.postgres.rsplit("/", 1)[1]
        base = args.postgres.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", base, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=True)
        subprocess.run(["psql", base, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lofisite.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from monitoring.backups import engines, services
    from monitoring.models import Event

    call_command("migrate", verbosity=0)
    batch = [Event(source="bench", kind="row", message=f"row {n}", payload={"n": n}) for n in range(args.rows)]
    Event.objects.bulk_create(batch, batch_size=5000)
    print(f"{connection.vendor}: {Event.objects.count()} event rows (+ the migrations' rows)")

    results = {}
    # The raw tools write into the same folder as ours, so both end with a file in the backup directory.
    from django.conf import settings

    backup_dir = Path(settings.STORAGES[settings.BACKUP_STORAGE_ALIAS]["OPTIONS"]["location"])
    backup_dir.mkdir(parents=True, exist_ok=True)
    if connection.vendor == "sqlite":
        live = engines._live_sqlite("default")
        raw_file = backup_dir / "raw.sqlite3"

        def raw_backup():
            raw_file.unlink(missing_ok=True)
            target = sqlite3.connect(raw_file)
            live.backup(target)
            target.close()

        def raw_restore():
            # `sqlite3 live.db ".restore raw.sqlite3"`: the backup API into the live database, then the CLI
            # closes it, which checkpoints the write-ahead log into the database file (done here explicitly,
            # as ours does; left out, the next statement on the connection would pay for it).
            source = sqlite3.connect(raw_file)
            source.backup(live)
            source.close()
            live.execute("PRAGMA wal_checkpoint(PASSIVE)")
    else:
        conf = connection.settings_dict
        env = engines.pg_env("default")
        raw_file = backup_dir / "raw.dump"

        def raw_backup():
            subprocess.run(["pg_dump", "--format=custom", "--no-password", f"--file={raw_file}"], env=env, check=True)

        def raw_restore():
            connection.close()
            subprocess.run(["pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner",
                            "--no-privileges", "--no-password", f"--dbname={conf['NAME']}", str(raw_file)],
                           env=env, check=True)

    made = []

    def our_backup():
        made.append(services.create_backup(verify=False))

    results["backup raw"] = timed(raw_backup, args.repeat)
    results["backup ours"] = timed(our_backup, args.repeat)
    backup = made[-1]
    results["verify ours (scratch restore + compare)"] = timed(lambda: services.verify_backup(backup), 1)

    from monitoring.backups import files

    scratch = files.work_dir()
    plain = files.fetch(backup.file_for("database"), scratch)

    def our_restore():
        # The restore step itself and the proof it arrived whole (what the raw tool does, plus the check).
        services._apply(backup, {"database": plain}, migrate=False)

    results["restore raw"] = timed(raw_restore, args.repeat)
    results["restore ours"] = timed(our_restore, args.repeat)
    results["  of which the restore step alone"] = timed(lambda: engines.restore("default", plain), args.repeat)
    results["restore service (safety backup + verify + restore + checks)"] = timed(
        lambda: services.restore_backup(backup, None), 1)

    print(f"{'measurement':<62} {'seconds':>8}")
    for label, seconds in results.items():
        print(f"{label:<62} {seconds:>8.3f}")
    print(f"backup ours / raw:  {results['backup ours'] / results['backup raw']:.2f}x (target <= 1.2x)")
    print(f"restore ours / raw: {results['restore ours'] / results['restore raw']:.2f}x (target <= 1.2x)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
