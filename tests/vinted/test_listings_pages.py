"""Listing pages: the role matrix on every page and action, forms with errors at their fields,
mark ready showing each problem next to its field."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import ListingFactory, PhotoFactory
from tests.helpers import PERSONAS, assert_answer, client_for
from vinted.choices import ListingStatus
from vinted.models import Brand, Category, Colour, Listing

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing(operator):
    listing = ListingFactory(owner=operator, complete=True, title="Otto's jeans")
    PhotoFactory(listing=listing)
    return listing


def _snapshot():
    return list(Listing.objects.order_by("pk").values_list("pk", "status", "title", "sale_price"))


# (name, method, url name, uses the listing, data, expected for anonymous, viewer, operator, other, admin)
MATRIX = [
    ("board", "get", "vinted:listing-list", False, None, ("login", 200, 200, 200, 200)),
    ("create-form", "get", "vinted:listing-create", False, None, ("login", 403, 200, 200, 200)),
    ("create", "post", "vinted:listing-create", False, {"title": "New one", "currency": "EUR"},
     ("login", 403, 302, 302, 302)),
    ("detail", "get", "vinted:listing-detail", True, None, ("login", 200, 200, 404, 200)),
    ("edit-form", "get", "vinted:listing-update", True, None, ("login", 403, 200, 404, 200)),
    ("edit", "post", "vinted:listing-update", True, {"title": "Changed", "currency": "EUR"},
     ("login", 403, 302, 404, 302)),
    ("mark-ready", "post", "vinted:listing-mark-ready", True, {}, ("login", 403, 302, 404, 302)),
    ("archive", "post", "vinted:listing-archive", True, {}, ("login", 403, 302, 404, 302)),
    ("mark-sold", "post", "vinted:listing-mark-sold", True, {"sale_price": "20"}, ("login", 403, 302, 404, 302)),
    ("delete", "post", "vinted:listing-delete", True, {}, ("login", 403, 302, 404, 302)),
    ("bulk", "post", "vinted:listing-bulk", False, "bulk", ("login", 403, 302, 302, 302)),
]


@pytest.mark.parametrize("name,method,url_name,one,data,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix(client, personas, listing, persona, name, method, url_name, one, data, expected):
    client = client_for(client, personas, persona)
    url = reverse(url_name, args=[listing.pk] if one else [])
    if data == "bulk":
        data = {"action": "archive", "ids": [listing.pk]}
    before = _snapshot()
    response = client.get(url) if method == "get" else client.post(url, data)
    want = expected[PERSONAS.index(persona)]
    assert_answer(response, want)
    if want != 302 and method == "post":
        assert _snapshot() == before, "a refused request changed data"


def test_bulk_by_another_operator_touches_nothing_of_otto(client, other_operator, listing):
    client.force_login(other_operator)
    response = client.post(reverse("vinted:listing-bulk"), {"action": "archive", "ids": [listing.pk]}, follow=True)
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.DRAFT
    assert f"Listing #{listing.pk}: Not found." in response.content.decode()


def test_viewer_sees_no_buttons(client, viewer, listing):
    client.force_login(viewer)
    page = client.get(listing.get_absolute_url()).content.decode()
    assert "Otto&#x27;s jeans" in page
    for label in ("Mark ready", "Archive", ">Edit<", "Mark sold", "Delete"):
        assert label not in page, label
    board = client.get(reverse("vinted:listing-list")).content.decode()
    assert 'name="ids"' not in board and "New listing" not in board


def test_create_form_saves_a_partial_draft_and_shows_limit_errors_at_fields(client, operator):
    client.force_login(operator)
    url = reverse("vinted:listing-create")
    bad = client.post(url, {"title": "x" * 101, "price": "0.50", "hashtags": "one two three four five six",
                            "currency": "EUR"})
    assert bad.status_code == 400
    form = bad.context["form"]
    assert form.errors["title"] == ["At most 100 characters (this one has 101)."]
    assert form.errors["price"] == ["Vinted's lowest price is 1.00."]
    assert form.errors["hashtags"] == ["At most 5 hashtags (there are 6)."]
    assert not Listing.objects.exists()
    good = client.post(url, {"title": "Just a title", "currency": "EUR"})
    listing = Listing.objects.get()
    assert good["Location"] == listing.get_absolute_url()
    assert listing.title == "Just a title" and listing.owner == operator and listing.edited_fields == ["title"]


def test_edit_form_changes_content_and_inventory(client, operator, listing):
    client.force_login(operator)
    jeans = Category.objects.get(vinted_id=1187)
    response = client.post(reverse("vinted:listing-update", args=[listing.pk]), {
        "title": "Levi's 501 W30", "description": "Straight leg", "category": jeans.pk,
        "brand": Brand.objects.get(vinted_id=53).pk, "size": listing.size.pk, "condition": 3,
        "colours": [Colour.objects.get(name="Blue").pk, Colour.objects.get(name="Black").pk],
        "price": "31.00", "currency": "EUR", "package_size": 2, "hashtags": "#levis denim",
        "purchase_cost": "8.00", "purchase_date": "2026-01-05", "source": "Flea market", "sku": "J-501",
        "storage_location": "Box 3"})
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    listing.refresh_from_db()
    assert (listing.title, listing.condition, listing.price, listing.hashtags) == (
        "Levi's 501 W30", 3, Decimal("31.00"), ["levis", "denim"])
    assert (listing.purchase_cost, listing.sku, listing.storage_location) == (Decimal("8.00"), "J-501", "Box 3")
    assert listing.colours.count() == 2
    assert {"title", "condition", "price", "hashtags", "colours"} <= set(listing.edited_fields)


def test_a_size_of_another_group_is_an_error_at_the_size_field(client, operator, listing):
    from vinted.models import Size

    client.force_login(operator)
    other = Size.objects.exclude(group=listing.category.size_group).first()
    response = client.post(reverse("vinted:listing-update", args=[listing.pk]), {
        "title": listing.title, "category": listing.category.pk, "size": other.pk, "currency": "EUR"})
    assert response.status_code == 400
    assert response.context["form"].errors["size"] == [
        f"{other.name} is not a size for {listing.category.name}; choose one of its sizes."]


def test_mark_ready_refused_shows_each_problem_next_to_its_field(client, operator):
    listing = ListingFactory(owner=operator, complete=True, description="Call me on whatsapp")
    client.force_login(operator)
    response = client.post(reverse("vinted:listing-mark-ready", args=[listing.pk]))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Not ready yet" in page
    description = page.split('id="field-description"', 1)[1].split("<dt", 1)[0]
    assert "messaging apps" in description and "field-error" in description
    photos = page.split('id="field-photos"', 1)[1].split("</dd>", 1)[0]
    assert "Add at least 1 photo." in photos
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.DRAFT


def test_mark_ready_then_it_shows_on_the_board_as_ready(client, operator, listing):
    client.force_login(operator)
    response = client.post(reverse("vinted:listing-mark-ready", args=[listing.pk]), follow=True)
    assert "is ready to publish" in response.content.decode()
    board = client.get(reverse("vinted:listing-list"), {"status": "ready"})
    assert [row.pk for row in board.context["listings"]] == [listing.pk]


def test_mark_sold_form_errors_at_fields(client, operator, listing):
    client.force_login(operator)
    response = client.post(reverse("vinted:listing-mark-sold", args=[listing.pk]), {"sale_price": "-3"})
    assert response.status_code == 400
    assert "sale_price" in response.context["sold_form"].errors
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.DRAFT


def test_delete_of_a_sold_listing_is_refused_with_a_message(client, operator):
    sold = ListingFactory(owner=operator, status=ListingStatus.SOLD)
    client.force_login(operator)
    response = client.post(reverse("vinted:listing-delete", args=[sold.pk]), follow=True)
    assert "archive it instead" in response.content.decode()
    assert Listing.objects.filter(pk=sold.pk).exists()


def test_empty_board_says_what_to_do(client, operator, viewer):
    client.force_login(operator)
    assert "Create your first listing" in client.get(reverse("vinted:listing-list")).content.decode()
    client.force_login(viewer)
    assert "Operators create listings" in client.get(reverse("vinted:listing-list")).content.decode()


def test_nav_and_dashboard_card(client, operator, listing):
    client.force_login(operator)
    home = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("vinted:listing-list")}"' in home
    assert "Vinted listings" in home and "?status=draft" in home


def test_dashboard_card_counts_only_visible_rows(client, other_operator, listing):
    client.force_login(other_operator)
    home = client.get(reverse("home")).content.decode()
    assert "No listings yet." in home


def test_a_sold_listing_edits_only_its_inventory_on_the_form(client, operator):
    sold = ListingFactory(owner=operator, status=ListingStatus.SOLD, title="Sold coat", sale_price="30")
    client.force_login(operator)
    url = reverse("vinted:listing-update", args=[sold.pk])
    form = client.get(url).context["form"]
    assert form.fields["title"].disabled and not form.fields["purchase_cost"].disabled
    response = client.post(url, {"title": "Sneaky new title", "currency": "GBP", "purchase_cost": "12.00",
                                 "sku": "C-7"})
    assert response.status_code == 302
    sold.refresh_from_db()
    assert (sold.title, sold.currency, sold.purchase_cost, sold.sku) == ("Sold coat", "EUR", Decimal("12.00"), "C-7")
    assert sold.status == ListingStatus.SOLD
