"""Web throughput under gunicorn: our pages and endpoints against Django's own baselines, in one run.

For each database/cache setup (the embedded defaults: SQLite + file cache; and, when DATABASE_URL and
REDIS_URL are given, PostgreSQL + Redis in a database of its own that this script creates and drops),
it builds a fresh database with 5 operators and 10,000 runs (each with its six stages and its video
row), starts gunicorn with 2 workers on a free port (production settings: DEBUG off, 2FA on, Argon2;
HTTPS off because there is no TLS here; the API's per-user throttle raised so that the load generator
is not answered 429), and drives it with wrk from this machine (`wrk -t2 -c8 -d10s`, a Lua script for
the headers and the percentiles). Pairs, measured one after the other so that load hits both alike:

- the runs list page `/pipeline/` (50 rows) against the Django admin changelist of Run (50 rows);
- the runs API list `/api/v1/pipeline/runs/` (50 rows, JWT) against a bare Django view with a fixed
  JSON body (bench/bench_urls.py: through the same middleware, no database);
- `/health/live/` against that bare view;
- the home dashboard with its statistics cached against a second gunicorn with DASHBOARD_CACHE_SECONDS=0.

The list pages and the dashboard are requested as an admin (a session cookie with a verified second
factor); the API with an admin's JWT.

Usage: python bench/bench_web.py [--duration 10] [--runs 10000] [--users 5] [--only sqlite|postgres]
PostgreSQL + Redis: DATABASE_URL=postgres://user@host:5432/any REDIS_URL=redis://host:6379/N python ...
"""

import argparse
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BENCH_DB = "lofisite_bench_web"
# The uncached dashboard's server: statistics not cached, and a cache of its own (bench/bench_settings.py says why).
UNCACHED_ENV = {"DASHBOARD_CACHE_SECONDS": "0", "BENCH_CACHE_PREFIX": "bench-uncached"}

LUA = r"""
local headers_text = os.getenv("BENCH_HEADERS") or "{}"
for name, value in string.gmatch(headers_text, '"([^"]+)":%s*"([^"]*)"') do wrk.headers[name] = value end
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %.3f %.3f %d %d %d\n", summary.requests, summary.duration,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout, 0))
end
"""


# --- the child: seed the database and mint credentials ---------------------------------------------------

def seed(runs: int, users: int) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from accounts.roles import Role
    from accounts.services import create_user
    from legal.models import LegalDocument
    from pipeline.choices import STAGE_ORDER, RunStatus, StageStatus
    from pipeline.engines.presets import PRESETS
    from pipeline.models import Run, Stage, Video
    from tests.factories import accept_all_documents

    password = secrets.token_urlsafe(18)
    admin = create_user("bench-admin", "admin@example.com", password, role=Role.ADMIN)
    accept_all_documents(admin)
    TOTPDevice.objects.create(user=admin, name="bench", confirmed=True)
    preset = "study" if "study" in PRESETS else next(iter(PRESETS))
    statuses = [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.QUEUED, RunStatus.CANCELLED]
    now = timezone.now()
    for index in range(users):
        owner = create_user(f"operator{index}", f"op{index}@example.com", password, role=Role.OPERATOR)
        rows = [Run(preset=preset, duration_s=60 + n % 3600, seed=n, created_by=owner, status=statuses[n % 5],
                    progress=1.0 if statuses[n % 5] == RunStatus.SUCCEEDED else 0.3,
                    finished_at=now if statuses[n % 5] != RunStatus.QUEUED else None)
                for n in range(runs // users)]
        Run.objects.bulk_create(rows, batch_size=1000)
    ids = list(Run.objects.values_list("pk", "status"))
    stage_status = {RunStatus.SUCCEEDED: StageStatus.SUCCEEDED, RunStatus.FAILED: StageStatus.FAILED}
    Stage.objects.bulk_create([Stage(run_id=pk, name=name, status=stage_status.get(status, StageStatus.PENDING))
                               for pk, status in ids for name in STAGE_ORDER], batch_size=2000)
    Video.objects.bulk_create([Video(run_id=pk, title=f"Lo-fi mix {pk}") for pk, _ in ids], batch_size=2000)

    session = SessionStore()
    device = TOTPDevice.objects.get(user=admin)
    session.update({SESSION_KEY: str(admin.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: admin.get_session_auth_hash(), DEVICE_ID_SESSION_KEY: device.persistent_id})
    session.create()
    from accounts.api.serializers import TokenObtainSerializer

    token = TokenObtainSerializer.get_token(admin).access_token  # the claims a real sign-in gives (role, scope)
    return {"cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}", "jwt": str(token),
            "runs": Run.objects.count(), "documents": LegalDocument.objects.count(),
            "vendor": django.db.connection.vendor}


# --- the parent: servers and load ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict, port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "lofisite.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "--timeout", "120"], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live/", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"gunicorn did not answer on {port}; see {log}")


def check(port: int, path: str, headers: dict):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": "localhost", **headers})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
        if response.status != 200 or response.geturl() != request.full_url:
            raise SystemExit(f"{path}: {response.status} at {response.geturl()}, not a 200 page")
        return body


def wrk(port: int, path: str, headers: dict, duration: int, lua: Path) -> dict:
    env = {**os.environ, "BENCH_HEADERS": json.dumps({"Host": "localhost", **headers})}
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{duration}s", "--latency", "-s", str(lua),
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, env=env, check=True)
    match = re.search(r"^BENCH (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+) (\d+)", out.stdout, re.M)
    if not match:
        raise SystemExit(f"wrk gave no summary for {path}:\n{out.stdout}\n{out.stderr}")
    requests, micros, bad_status, p50, p95, socket_errors, timeouts = match.groups()
    return {"req_s": int(requests) / (int(micros) / 1e6), "p50": float(p50), "p95": float(p95),
            "requests": int(requests), "non_2xx": int(bad_status), "errors": int(socket_errors) + int(timeouts)}


def run_setup(name: str, env: dict, args, tmp: Path, lua: Path) -> dict:
    started = time.perf_counter()
    seeded = subprocess.run([PYTHON, __file__, "--seed", str(args.runs), "--users", str(args.users)], cwd=ROOT,
                            env=env, capture_output=True, text=True)
    if seeded.returncode:
        raise SystemExit(f"seeding failed:\n{seeded.stderr[-4000:]}")
    creds = json.loads(seeded.stdout.strip().splitlines()[-1])
    print(f"[{name}] {creds['vendor']}: {creds['runs']} runs across {args.users} users, "
          f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
    session = {"Cookie": creds["cookie"]}
    jwt = {"Authorization": f"Bearer {creds['jwt']}"}
    cached_port, uncached_port = free_port(), free_port()
    servers = [start_gunicorn(env, cached_port, tmp / f"{name}-gunicorn.log"),
               start_gunicorn({**env, **UNCACHED_ENV}, uncached_port,
                              tmp / f"{name}-gunicorn-uncached.log")]
    try:
        targets = {
            "runs page": (cached_port, "/pipeline/", session),
            "admin changelist": (cached_port, "/admin/pipeline/run/", session),
            "runs API": (cached_port, "/api/v1/pipeline/runs/", jwt),
            "bare view": (cached_port, "/bench/bare/", {}),
            "health live": (cached_port, "/health/live/", {}),
            "dashboard cached": (cached_port, "/", session),
            "dashboard uncached": (uncached_port, "/", session),
        }
        rows = check(cached_port, "/pipeline/", session).count(b'data-label="Run"')
        api_rows = len(json.loads(check(cached_port, "/api/v1/pipeline/runs/", jwt))["results"])
        admin_rows = check(cached_port, "/admin/pipeline/run/", session).count(b'class="action-select"')
        print(f"[{name}] rows: runs page {rows or '?'}, API {api_rows}, admin {admin_rows}", flush=True)
        for port, path, headers in targets.values():  # warm-up: imports, templates, connections, cache
            wrk(port, path, headers, 2, lua)
        results = {}
        pairs = [("runs page", "admin changelist"), ("runs API", "bare view"), ("health live", "bare view"),
                 ("dashboard cached", "dashboard uncached")]
        for first, second in pairs:
            for label in (first, second):
                if label in results and label == "bare view":
                    continue  # measured once, right before /health/live/ is compared with it too
                port, path, headers = targets[label]
                results[label] = wrk(port, path, headers, args.duration, lua)
                print(f"[{name}] {label:<20}{results[label]['req_s']:>9.1f} req/s  p50 {results[label]['p50']:.1f} ms"
                      f"  p95 {results[label]['p95']:.1f} ms  non-2xx {results[label]['non_2xx']}", flush=True)
        return results
    except BaseException:
        for log in sorted(tmp.glob("*.log")):
            print(f"--- {log.name} (last lines)\n" + "\n".join(log.read_text().splitlines()[-40:]), file=sys.stderr)
        raise
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


def report(name: str, results: dict):
    print(f"\n### {name}\n")
    print("| target | req/s | p50 ms | p95 ms | requests | non-2xx |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, row in results.items():
        print(f"| {label} | {row['req_s']:.1f} | {row['p50']:.1f} | {row['p95']:.1f} | {row['requests']} "
              f"| {row['non_2xx']} |")
    ratios = [
        ("runs page / admin changelist", results["runs page"]["req_s"] / results["admin changelist"]["req_s"], 1.0),
        ("runs API / bare view", results["runs API"]["req_s"] / results["bare view"]["req_s"], 0.15),
        ("health live / bare view", results["health live"]["req_s"] / results["bare view"]["req_s"], 0.80),
        ("dashboard cached / uncached",
         results["dashboard cached"]["req_s"] / results["dashboard uncached"]["req_s"], 20.0),
    ]
    print()
    for label, value, target in ratios:
        print(f"- {label}: {value:.2f} (target >= {target:g}: {'met' if value >= target else 'MISSED'})")


def base_env(tmp: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings", "SECRET_KEY": secrets.token_urlsafe(48),
        "DEBUG": "False", "HTTPS": "False", "ALLOWED_HOSTS": "localhost,127.0.0.1", "LOG_LEVEL": "WARNING",
        "VAR_DIR": str(tmp / "var"), "MEDIA_ROOT": str(tmp / "media"), "CACHE_DIR": str(tmp / "cache"),
        "SQLITE_PATH": str(tmp / "bench.sqlite3"), "BENCH_STATIC_ROOT": str(tmp / "static"),
        "API_THROTTLE_USER": "100000000/min",
        "API_THROTTLE_ANON": "100000000/min", "BACKUP_SCHEDULE_ENABLED": "False", "PYTHONPATH": str(ROOT),
    })
    env.pop("LOFISITE_TESTING", None)
    return env


def postgres_database(url: str, create: bool) -> str:
    """A database of the bench's own on the server of `url` (dropped first), and its URL."""
    import psycopg

    base, _, given = url.rpartition("/")
    # Named after the given database, so that benches started from other worktrees do not drop each other's.
    name = f"{given.partition('?')[0]}_{BENCH_DB}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            connection.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per target")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)  # the child that builds the database
    args = parser.parse_args()
    if args.seed is not None:
        print(json.dumps(seed(args.seed, args.users)))
        return

    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    all_results = {}
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp_name:
        tmp = Path(tmp_name)
        lua = tmp / "bench.lua"
        lua.write_text(LUA)
        if args.only != "postgres":
            setup = tmp / "sqlite"
            setup.mkdir()
            all_results["SQLite + file cache (embedded defaults)"] = run_setup("sqlite", base_env(setup), args, setup,
                                                                              lua)
        if args.only != "sqlite":
            if not (database_url and redis_url):
                print("PostgreSQL + Redis skipped: give DATABASE_URL and REDIS_URL.")
            else:
                setup = tmp / "postgres"
                setup.mkdir()
                env = {**base_env(setup), "DATABASE_URL": postgres_database(database_url, create=True),
                       "REDIS_URL": redis_url}
                try:
                    all_results["PostgreSQL + Redis"] = run_setup("postgres", env, args, setup, lua)
                finally:
                    postgres_database(database_url, create=False)
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[:3]
    print(f"\nload average at the end: {' '.join(load)}; gunicorn 2 workers; wrk -t2 -c8 -d{args.duration}s")
    for name, results in all_results.items():
        report(name, results)


if __name__ == "__main__":
    main()
