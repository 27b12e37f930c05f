"""Profile one request of each bench_web.py target (pyinstrument), in the bench's own setup.

Seeds a fresh database exactly as bench/bench_web.py does (10,000 runs across 5 users; SQLite in a
temporary folder, or the PostgreSQL + Redis of DATABASE_URL/REDIS_URL in a database of its own), then,
in one child process per target (the uncached dashboard needs DASHBOARD_CACHE_SECONDS=0 at import
time), sends the request through Django's test client with the bench's production settings: a few
warm-up requests, then `--repeat` profiled ones, and prints pyinstrument's text tree and the mean time.

Usage: python bench/profile_web.py [--target dashboard-cached|dashboard-uncached|runs-api|runs-page|bare|all]
       [--repeat 20] [--runs 10000] [--html DIR]
PROFILE_OFF=1: only time the requests (no profiler); PROFILE_SHOW_ALL=1: every frame in the tree.
Needs pyinstrument (`.venv/bin/python -m pip install pyinstrument`); not a dependency of the product.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_web  # noqa: E402

TARGETS = {
    "dashboard-cached": ("/", "cookie", {}),
    "dashboard-uncached": ("/", "cookie", bench_web.UNCACHED_ENV),
    "runs-api": ("/api/v1/pipeline/runs/", "jwt", {}),
    "runs-page": ("/pipeline/", "cookie", {}),
    "bare": ("/bench/bare/", None, {}),
}


def profile_child(target: str, creds: dict, repeat: int, html: str | None):
    import django

    django.setup()
    from django.test import Client
    from pyinstrument import Profiler

    path, credential, _ = TARGETS[target]
    headers = {}
    if credential == "cookie":
        headers["HTTP_COOKIE"] = creds["cookie"]
    elif credential == "jwt":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {creds['jwt']}"
    client = Client(HTTP_HOST="localhost")
    for _ in range(5):
        response = client.get(path, **headers)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.get('Location', '')}")
    if os.environ.get("PROFILE_OFF") == "1":  # only the time per request, without the profiler's overhead
        started = time.perf_counter()
        for _ in range(repeat):
            client.get(path, **headers)
        print(f"=== {target} {path}: {(time.perf_counter() - started) / repeat * 1000:.2f} ms per request "
              f"(mean of {repeat}, not profiled)")
        return
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    profiler.start()
    for _ in range(repeat):
        client.get(path, **headers)
    profiler.stop()
    elapsed = (time.perf_counter() - started) / repeat
    print(f"=== {target} {path}: {elapsed * 1000:.2f} ms per request (mean of {repeat}, profiled)")
    print(profiler.output_text(unicode=False, color=False, show_all=os.environ.get("PROFILE_SHOW_ALL") == "1"))
    if html:
        Path(html, f"{target}.html").write_text(profiler.output_html())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="all", choices=[*TARGETS, "all"])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--html", help="folder for pyinstrument's HTML reports")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        profile_child(args.target, json.loads(args.child), args.repeat, args.html)
        return
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    with tempfile.TemporaryDirectory(prefix="profile-web-") as tmp_name:
        tmp = Path(tmp_name)
        env = bench_web.base_env(tmp)
        if database_url and redis_url:
            env.update(DATABASE_URL=bench_web.postgres_database(database_url, create=True), REDIS_URL=redis_url)
        try:
            seeded = subprocess.run([sys.executable, bench_web.__file__, "--seed", str(args.runs), "--users",
                                     str(args.users)], cwd=bench_web.ROOT, env=env, capture_output=True, text=True)
            if seeded.returncode:
                raise SystemExit(f"seeding failed:\n{seeded.stderr[-4000:]}")
            creds = seeded.stdout.strip().splitlines()[-1]
            for target in TARGETS if args.target == "all" else [args.target]:
                command = [sys.executable, __file__, "--target", target, "--repeat", str(args.repeat),
                           "--child", creds] + (["--html", args.html] if args.html else [])
                subprocess.run(command, cwd=bench_web.ROOT, env={**env, **TARGETS[target][2]}, check=True)
        finally:
            if database_url and redis_url:
                bench_web.postgres_database(database_url, create=False)


if __name__ == "__main__":
    main()
