"""The inventory summary on a big desk: 10,000 listings across 5 operators.

Creates a throwaway test database (SQLite by default, PostgreSQL with DATABASE_URL), fills it with
listings in every status (a third sold over the last 18 months, two currencies, some without a
cost), then measures, each `--repeat` times (median and worst):

- `vinted.inventory.summary()` for an admin (all 10,000 rows) and for one operator (2,000 rows),
  with the number of SQL queries;
- the inventory page (`/vinted/inventory/`), the chart (`chart.svg`) and the API answer through
  Django's test client (no network, one process), and the CSV export of all rows.

Usage: DEBUG=True python bench/bench_vinted_inventory.py [--listings 10000] [--repeat 15]
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lofisite.test_settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

STATUSES = ["draft", "ready", "published", "published", "sold", "sold", "sold", "archived", "failed"]


def fill(listings: int):
    from accounts.roles import Role
    from tests.factories import UserFactory, accept_all_documents
    from vinted.models import Listing

    rng = random.Random(1)
    now = timezone.now()
    admin = UserFactory(username="bench-admin", role=Role.ADMIN)
    accept_all_documents(admin)
    owners = [UserFactory(username=f"bench-op{i}", role=Role.OPERATOR) for i in range(5)]
    for owner in owners:
        accept_all_documents(owner)
    rows = []
    for i in range(listings):
        status = rng.choice(STATUSES)
        created = now - datetime.timedelta(days=rng.uniform(0, 560))
        listed = created + datetime.timedelta(days=rng.uniform(0, 5)) if status in ("published", "sold") else None
        sold = listed + datetime.timedelta(days=rng.uniform(0, 40)) if status == "sold" else None
        if sold and sold > now:
            sold = now
        rows.append(Listing(
            owner=owners[i % 5], status=status, title=f"Item {i}", currency="GBP" if i % 7 == 0 else "EUR",
            sku=f"SKU-{i:05d}", storage_location=f"Box {i % 40}",
            purchase_cost=None if i % 11 == 0 else Decimal(rng.randint(100, 4000)) / 100,
            purchase_date=created.date(), price=Decimal(rng.randint(500, 9000)) / 100,
            sale_price=Decimal(rng.randint(500, 9000)) / 100 if sold else None,
            sale_fees=Decimal(rng.randint(0, 400)) / 100 if sold else None, listed_at=listed, sold_at=sold))
    Listing.objects.bulk_create(rows, batch_size=1000)
    # created_at is auto_now_add (bulk_create sets it to now): put it before the listing, in one UPDATE.
    Listing.objects.filter(listed_at__isnull=False).update(created_at=F("listed_at") - datetime.timedelta(hours=12))
    return admin, owners[0]


def measure(label, repeat, call):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        queries = call()
        times.append((time.perf_counter() - start) * 1000)
    print(f"{label:<44} median {statistics.median(times):8.1f} ms   worst {max(times):8.1f} ms   "
          f"queries {queries}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    options = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from vinted import inventory

        start = time.perf_counter()
        admin, operator = fill(options.listings)
        print(f"{connection.vendor}: {options.listings} listings across 5 operators in "
              f"{time.perf_counter() - start:.1f} s")

        def summary(user):
            def call():
                with CaptureQueriesContext(connection) as captured:
                    inventory.summary(user)
                return len(captured)
            return call

        def get(user, path, stream=False):
            client = Client()
            client.force_login(user)

            def call():
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(path)
                    assert response.status_code == 200, (path, response.status_code)
                    if stream:
                        b"".join(response.streaming_content)
                return len(captured)
            return call

        measure("summary(), admin: every listing", options.repeat, summary(admin))
        measure("summary(), one operator: a fifth", options.repeat, summary(operator))
        measure("GET /vinted/inventory/ (admin)", options.repeat, get(admin, "/vinted/inventory/"))
        measure("GET /vinted/inventory/chart.svg (admin)", options.repeat, get(admin, "/vinted/inventory/chart.svg"))
        measure("GET /api/v1/vinted/inventory/ (admin)", options.repeat, get(admin, "/api/v1/vinted/inventory/"))
        measure("GET /vinted/inventory/export.csv (admin, all)", max(3, options.repeat // 5),
                get(admin, "/vinted/inventory/export.csv", stream=True))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
