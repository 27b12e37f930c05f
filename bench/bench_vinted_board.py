"""The Vinted listings board against the Django admin's changelist of the same model, in one run.

Builds a fresh database (SQLite file in a temporary folder, or the PostgreSQL of `DATABASE_URL`,
which must be a database of its own: it is flushed) with 5 operators and 10,000 listings (2,000 each,
every one complete with a colour and a photo row), then requests, as an admin and through Django's
test client in this one process (no network, no gunicorn: the figure is the Django stack's own cost):

- the board `/vinted/` (50 rows: the board's page size),
- the admin changelist `/admin/vinted/listing/` with `list_per_page` set to the same 50 rows,

alternating, `--rounds` times each after a warm-up, and prints requests per second, the median and
95th percentile latency, and the SQL queries per request. Target: the board is not slower.

Usage: python bench/bench_vinted_board.py [--listings 10000] [--users 5] [--rounds 60]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup_django(tmp: Path):
    os.environ["LOFISITE_TESTING"] = "1"  # test settings: no 2FA for the admin, MD5 hashing, testserver host
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lofisite.test_settings")
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.MEDIA_ROOT = str(tmp / "media")
    if os.environ.get("DATABASE_URL"):
        call_command("migrate", verbosity=0)
        call_command("flush", interactive=False, verbosity=0)
        call_command("migrate", "vinted", "zero", verbosity=0)  # the catalogue is a data migration
    call_command("migrate", verbosity=0)


def make_data(listings: int, users: int):
    from accounts.roles import Role
    from tests.factories import UserFactory, accept_all_documents
    from vinted.models import Brand, Category, Colour, Listing, Photo, Size

    admin = UserFactory(username="bench-admin", role=Role.ADMIN)
    accept_all_documents(admin)
    jeans = Category.objects.get(vinted_id=1187)
    brands = list(Brand.objects.all())
    sizes = list(Size.objects.filter(group=jeans.size_group))
    categories = list(Category.objects.exclude(parent=None))
    colour = Colour.objects.get(name="Blue")
    statuses = ["draft", "draft", "ready", "published", "sold", "archived"]
    for index in range(users):
        owner = UserFactory(username=f"seller{index}", role=Role.OPERATOR)
        rows = [Listing(owner=owner, title=f"Item {index}-{n}", description="Good condition, no marks.",
                        category=categories[n % len(categories)], brand=brands[n % len(brands)],
                        size=sizes[n % len(sizes)] if categories[n % len(categories)].size_group == jeans.size_group
                        else None, condition=2, price=5 + n % 90, status=statuses[n % len(statuses)],
                        sku=f"S{index}-{n}")
                for n in range(listings // users)]
        Listing.objects.bulk_create(rows, batch_size=1000)
    ids = list(Listing.objects.values_list("pk", "owner_id"))
    Listing.colours.through.objects.bulk_create(
        [Listing.colours.through(listing_id=pk, colour_id=colour.pk) for pk, _ in ids], batch_size=2000)
    Photo.objects.bulk_create([Photo(owner_id=owner, listing_id=pk, status="ready") for pk, owner in ids],
                              batch_size=2000)
    return admin


def measure(client, url, rounds):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    times, queries = [], 0
    for _ in range(rounds):
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    return times, queries


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-vinted-board-") as tmp:
        setup_django(Path(tmp))
        started = time.perf_counter()
        admin = make_data(args.listings, args.users)
        print(f"data: {args.listings} listings across {args.users} users in {time.perf_counter() - started:.1f} s")

        from django.contrib import admin as django_admin
        from django.test import Client
        from django.urls import reverse

        from vinted.models import Listing
        from vinted.views.listings import ListingListView

        model_admin = django_admin.site._registry[Listing]
        model_admin.list_per_page = ListingListView.paginate_by  # the same 50 rows
        client = Client(HTTP_HOST="localhost")
        client.force_login(admin)
        urls = {"board": reverse("vinted:listing-list"), "admin": reverse("admin:vinted_listing_changelist")}
        for url in urls.values():  # warm-up: templates, caches, connection
            measure(client, url, 3)
        results = {name: ([], 0) for name in urls}
        for _ in range(args.rounds):  # alternate so that load on the machine hits both alike
            for name, url in urls.items():
                times, queries = measure(client, url, 1)
                results[name] = (results[name][0] + times, queries)
        from django.db import connection

        print(f"database: {connection.vendor}; {args.rounds} requests each, alternating, as an admin, 50 rows")
        print(f"{'page':<8}{'req/s':>8}{'median ms':>11}{'p95 ms':>9}{'queries':>9}")
        rates = {}
        for name, (times, queries) in results.items():
            rates[name] = len(times) / sum(times)
            p95 = sorted(times)[int(len(times) * 0.95) - 1]
            print(f"{name:<8}{rates[name]:>8.1f}{statistics.median(times) * 1000:>11.1f}{p95 * 1000:>9.1f}"
                  f"{queries:>9}")
        verdict = "met" if rates["board"] >= rates["admin"] else "MISSED"
        print(f"board / admin throughput: {rates['board'] / rates['admin']:.2f} (target >= 1.00: {verdict})")


if __name__ == "__main__":
    main()
