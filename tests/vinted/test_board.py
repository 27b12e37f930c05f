"""The listings board and the API list: counts per status, filters, search, sorting, pagination,
and a number of SQL queries that does not grow with the rows on a page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import ListingFactory
from vinted.choices import ListingStatus
from vinted.models import Brand, Category, Colour

pytestmark = pytest.mark.django_db

BOARD = reverse("vinted:listing-list")


def titles(response):
    return [listing.title for listing in response.context["listings"]]


@pytest.fixture
def stock(operator, other_operator):
    now = timezone.now()
    jeans = Category.objects.get(vinted_id=1187)
    levis, nike = Brand.objects.get(vinted_id=53), Brand.objects.get(vinted_id=54)
    return {
        "old": ListingFactory(owner=operator, title="Old Levi's jacket", brand=levis, price=Decimal("40"),
                              created_at=now - timedelta(days=30), sku="JK-9"),
        "jeans": ListingFactory(owner=operator, title="Women's jeans", category=jeans, brand=levis,
                                price=Decimal("25"), created_at=now - timedelta(days=3),
                                description="High waist, stretchy"),
        "shoes": ListingFactory(owner=operator, title="Nike trainers", brand=nike, price=Decimal("60"),
                                status=ListingStatus.READY, created_at=now - timedelta(days=1)),
        "sold": ListingFactory(owner=operator, title="Sold scarf", status=ListingStatus.SOLD, price=Decimal("5")),
        "theirs": ListingFactory(owner=other_operator, title="Oona's coat", price=Decimal("90")),
    }


def test_operator_sees_only_their_own_with_counts(client, operator, stock):
    client.force_login(operator)
    response = client.get(BOARD)
    assert "Oona's coat" not in titles(response)
    counts = {item["status"]: item["count"] for item in response.context["counts"]}
    assert counts["draft"] == 2 and counts["ready"] == 1 and counts["sold"] == 1 and counts["published"] == 0
    assert not response.context["shows_owner"]


def test_viewer_and_admin_see_everyone_with_the_seller_column(client, viewer, admin_user, stock):
    for user in (viewer, admin_user):
        client.force_login(user)
        response = client.get(BOARD)
        assert "Oona's coat" in titles(response) and response.context["shows_owner"]
        assert "<th scope=\"col\">Seller</th>" in response.content.decode()


@pytest.mark.parametrize("query,expected", [
    ({"status": "ready"}, ["Nike trainers"]),
    ({"brand": "BRAND_LEVIS"}, ["Women's jeans", "Old Levi's jacket"]),
    ({"category": "WOMEN"}, ["Women's jeans"]),  # a parent category includes its children
    ({"price_min": "30", "price_max": "60"}, ["Nike trainers", "Old Levi's jacket"]),
    ({"q": "stretchy"}, ["Women's jeans"]),
    ({"q": "jk-9"}, ["Old Levi's jacket"]),
    ({"q": "levi jacket"}, ["Old Levi's jacket"]),
    ({"created_after": "DAYS_AGO_5"}, ["Sold scarf", "Nike trainers", "Women's jeans"]),
    ({"created_before": "DAYS_AGO_5"}, ["Old Levi's jacket"]),
    ({"ordering": "price"}, ["Sold scarf", "Women's jeans", "Old Levi's jacket", "Nike trainers"]),
    ({"ordering": "-title"}, ["Women's jeans", "Sold scarf", "Old Levi's jacket", "Nike trainers"]),
])
def test_filters_search_and_sorting(client, api_as, operator, stock, query, expected):
    query = dict(query)
    substitutions = {"BRAND_LEVIS": str(Brand.objects.get(vinted_id=53).pk),
                     "WOMEN": str(Category.objects.get(vinted_id=1187).parent.pk if Category.objects.get(
                         vinted_id=1187).parent else Category.objects.get(vinted_id=1187).pk),
                     "DAYS_AGO_5": (timezone.localdate() - timedelta(days=5)).isoformat()}
    query = {key: substitutions.get(value, value) for key, value in query.items()}
    client.force_login(operator)
    assert titles(client.get(BOARD, query)) == expected
    api = api_as(operator).get("/api/v1/vinted/listings/", query)
    assert [row["title"] for row in api.json()["results"]] == expected  # one filterset for both


def test_a_bad_filter_value_is_a_field_error_not_a_500(client, api_as, operator):
    client.force_login(operator)
    response = client.get(BOARD, {"price_min": "cheap", "status": "nope"})
    assert response.status_code == 200
    assert set(response.context["filter_form"].errors) == {"price_min", "status"}
    api = api_as(operator).get("/api/v1/vinted/listings/", {"price_min": "cheap"})
    assert api.status_code == 400 and "price_min" in api.json()["error"]["details"]["fields"]


def test_sortable_headers_keep_the_filters(client, operator, stock):
    client.force_login(operator)
    page = client.get(BOARD, {"status": "draft"}).content.decode()
    assert 'href="?status=draft&amp;ordering=price"' in page


def test_pagination_50_per_page(client, operator):
    ListingFactory.create_batch(51, owner=operator)
    client.force_login(operator)
    first = client.get(BOARD)
    assert len(first.context["listings"]) == 50 and first.context["page_obj"].paginator.num_pages == 2
    assert len(client.get(BOARD, {"page": 2}).context["listings"]) == 1
    assert client.get(BOARD, {"page": 9}).status_code == 404


def test_bulk_checkboxes_only_for_rows_the_user_may_change(client, admin_user, operator, stock):
    client.force_login(operator)
    page = client.get(BOARD).content.decode()
    assert f'value="{stock["jeans"].pk}"' in page
    client.force_login(admin_user)
    page = client.get(BOARD).content.decode()
    assert f'name="ids" value="{stock["theirs"].pk}"' in page


def test_bulk_from_the_board_reports_each_listing(client, operator, stock):
    ready = stock["jeans"]
    ListingFactory._meta.model.objects.filter(pk=ready.pk).update(description="Fine", condition=2)
    client.force_login(operator)
    response = client.post(reverse("vinted:listing-bulk"), {
        "action": "archive", "ids": [stock["jeans"].pk, stock["sold"].pk], "next": "?status=draft"}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == BOARD + "?status=draft"
    assert "1 listing archived." in page
    assert f"Listing #{stock['sold'].pk}: This listing is sold: it cannot be archived." in page


def _make_rows(owner, count):
    """Complete listings with a colour and a photo row each (bulk: the files play no part in the queries)."""
    from vinted.models import Listing, Photo

    template = ListingFactory(owner=owner, complete=True)
    blue = Colour.objects.get(name="Blue")
    fields = {name: getattr(template, name) for name in ("owner", "description", "category", "brand", "size",
                                                          "condition", "price", "package_size")}
    rows = Listing.objects.bulk_create([Listing(title=f"Row {n}", **fields) for n in range(count - 1)])
    rows.append(template)
    if connection.features.can_return_rows_from_bulk_insert is False:
        rows = list(Listing.objects.filter(owner=owner))
    Listing.colours.through.objects.bulk_create(
        [Listing.colours.through(listing_id=row.pk, colour_id=blue.pk) for row in rows], ignore_conflicts=True)
    Photo.objects.bulk_create([Photo(owner=owner, listing_id=row.pk, status="ready") for row in rows])


@pytest.mark.parametrize("persona", ["operator", "admin_user"])
def test_board_queries_do_not_grow_with_rows(client, request, monkeypatch, persona):
    from vinted.views.listings import ListingListView

    monkeypatch.setattr(ListingListView, "paginate_by", 1000)  # 10 and then 1,000 rows on one page
    user = request.getfixturevalue(persona)
    owner = request.getfixturevalue("operator")
    client.force_login(user)
    _make_rows(owner, 10)
    with CaptureQueriesContext(connection) as ten:
        assert len(client.get(BOARD).context["listings"]) == 10
    _make_rows(owner, 990)
    with CaptureQueriesContext(connection) as thousand:
        response = client.get(BOARD)
        assert len(response.context["listings"]) == 1000
    assert len(thousand) == len(ten), [q["sql"] for q in thousand.captured_queries]


def test_api_list_queries_do_not_grow_with_rows(api_as, operator, settings):
    settings.API_MAX_PAGE_SIZE = 1000
    client = api_as(operator)
    _make_rows(operator, 10)
    with CaptureQueriesContext(connection) as ten:
        assert len(client.get("/api/v1/vinted/listings/", {"limit": 1000}).json()["results"]) == 10
    _make_rows(operator, 990)
    with CaptureQueriesContext(connection) as thousand:
        assert len(client.get("/api/v1/vinted/listings/", {"limit": 1000}).json()["results"]) == 1000
    assert len(thousand) == len(ten), [q["sql"] for q in thousand.captured_queries]
