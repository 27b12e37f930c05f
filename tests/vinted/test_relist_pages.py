"""The relist form on a listing page: the role matrix, redirect to the new draft, the "also delete it on
Vinted" option and the panel that follows the deletion (failed with Vinted's reason, shown on both
pages), the polled status partial."""

import pytest
from django.urls import reverse

from tests.factories import PhotoFactory
from tests.fakes import vinted_items
from tests.helpers import PERSONAS, assert_answer, client_for
from tests.monitoring.worker import run_worker
from vinted.choices import ListingStatus
from vinted.models import Listing

from .test_relist import account_for, published

pytestmark = pytest.mark.django_db


@pytest.fixture
def stale(operator):
    listing = published(operator, title="Otto's stale jeans")
    PhotoFactory(listing=listing)
    return listing


def _snapshot():
    return list(Listing.objects.order_by("pk").values_list("pk", "status", "title"))


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix_of_the_relist_form(client, personas, stale, persona):
    client = client_for(client, personas, persona)
    before = _snapshot()
    response = client.post(reverse("vinted:listing-relist", args=[stale.pk]), {})
    want = ("login", 403, 302, 404, 302)[PERSONAS.index(persona)]
    assert_answer(response, want)
    if want == 302:
        new = Listing.objects.get(relisted_from=stale)
        assert response["Location"] == new.get_absolute_url()
    else:
        assert _snapshot() == before, "a refused request changed data"


@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix_of_the_status_partial(client, personas, stale, persona):
    response = client_for(client, personas, persona).get(reverse("vinted:listing-relist-status", args=[stale.pk]))
    assert_answer(response, ("login", 200, 200, 404, 200)[PERSONAS.index(persona)])


def test_the_form_is_offered_only_to_who_may_relist_a_relistable_listing(client, operator, viewer):
    fresh = published(operator, days_ago=2)
    stale = published(operator)
    client.force_login(operator)
    page = client.get(stale.get_absolute_url()).content.decode()
    assert "Relist as a new draft" in page and "Also delete it on Vinted" not in page  # not on Vinted
    page = client.get(fresh.get_absolute_url()).content.decode()
    assert "Relist as a new draft" not in page and "can be relisted from 30 days" in page
    client.force_login(viewer)
    assert "Relist as a new draft" not in client.get(stale.get_absolute_url()).content.decode()


def test_a_dry_run_account_offers_no_deletion_and_says_why(client, operator, fake_vinted):
    account = account_for(operator, fake_vinted, dry_run=True)
    old = published(operator, account=account, item_id=vinted_items.add_item(fake_vinted))
    client.force_login(operator)
    page = client.get(old.get_absolute_url()).content.decode()
    assert "Relist as a new draft" in page and "Also delete it on Vinted" not in page
    assert "is in dry-run mode" in page
    response = client.post(reverse("vinted:listing-relist", args=[old.pk]), {"delete_old": "on"}, follow=True)
    assert "Not relisted: The Vinted account main (vinted.fr) is in dry-run mode" in response.content.decode()
    assert Listing.objects.count() == 1


def test_relisting_from_the_page_redirects_to_the_draft_which_links_back(client, operator, stale):
    client.force_login(operator)
    response = client.post(reverse("vinted:listing-relist", args=[stale.pk]), {}, follow=True)
    new = Listing.objects.get(relisted_from=stale)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == new.get_absolute_url()
    assert "relisted as this new draft, with its photos" in page
    assert f'href="{stale.get_absolute_url()}"' in page and "A relist of" in page
    old_page = client.get(stale.get_absolute_url()).content.decode()
    assert f'href="{new.get_absolute_url()}"' in old_page and "Relisted as" in old_page


def test_a_refused_relist_says_why_on_the_listing_page(client, operator):
    fresh = published(operator, days_ago=2)
    client.force_login(operator)
    response = client.post(reverse("vinted:listing-relist", args=[fresh.pk]), {"delete_old": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == fresh.get_absolute_url()
    assert "Not relisted: This listing was published less than 30 days ago" in response.content.decode()
    assert Listing.objects.count() == 1


def test_a_blocked_deletion_is_shown_failed_and_the_draft_stays(client, operator, fake_vinted,
                                                                django_capture_on_commit_callbacks):
    account = account_for(operator, fake_vinted)
    item_id = vinted_items.add_item(fake_vinted)
    old = published(operator, account=account, item_id=item_id, title="Blocked jeans")
    client.force_login(operator)
    page = client.get(old.get_absolute_url()).content.decode()
    assert "Also delete it on Vinted" in page and f"Deletes item {item_id} on Vinted" in page
    response = client.post(reverse("vinted:listing-relist", args=[old.pk]), {"delete_old": "on"}, follow=True)
    new = Listing.objects.get(relisted_from=old)
    page = response.content.decode()
    assert "The old item is being deleted on Vinted" in page
    assert 'data-job-status="queued"' in page and 'hx-get="' in page  # polls while it runs

    fake_vinted.fail_next("datadome", paths=r"/delete$")
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    for listing in (old, new):
        page = client.get(listing.get_absolute_url()).content.decode()
        assert 'data-job-status="failed"' in page, listing
        assert "Not deleted on Vinted: Blocked:" in page and "blocked the request" in page
        assert 'data-relist-active="false"' in page
    assert Listing.objects.get(pk=old.pk).status == ListingStatus.PUBLISHED
    assert Listing.objects.get(pk=new.pk).status == ListingStatus.DRAFT
    partial = client.get(reverse("vinted:listing-relist-status", args=[new.pk])).content.decode()
    assert partial.lstrip().startswith("<section") and 'data-job-status="failed"' in partial


def test_a_successful_deletion_archives_the_old_listing_and_says_so(client, operator, fake_vinted,
                                                                    django_capture_on_commit_callbacks):
    account = account_for(operator, fake_vinted)
    old = published(operator, account=account, item_id=vinted_items.add_item(fake_vinted))
    client.force_login(operator)
    client.post(reverse("vinted:listing-relist", args=[old.pk]), {"delete_old": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    page = client.get(old.get_absolute_url()).content.decode()
    assert 'data-job-status="succeeded"' in page and "Archived" in page


def test_a_published_listing_is_marked_sold_from_its_page_and_the_profit_shows(client, operator):
    listing = published(operator, days_ago=5, purchase_cost="6.00", title="Sold jeans")
    client.force_login(operator)
    page = client.get(listing.get_absolute_url()).content.decode()
    assert "Mark sold" in page and "Archive" in page
    response = client.post(reverse("vinted:listing-mark-sold", args=[listing.pk]),
                           {"sale_price": "30.00", "sale_fees": "2.50"}, follow=True)
    page = response.content.decode()
    assert "marked sold" in page and "21.50 EUR" in page  # the profit on the listing page
    listing.refresh_from_db()
    assert listing.status == ListingStatus.SOLD and listing.days_to_sell == 5
    inventory = client.get(reverse("vinted:inventory")).content.decode()
    assert "21.50" in inventory


def test_a_published_listing_is_archived_from_its_page(client, operator):
    listing = published(operator, days_ago=5)
    client.force_login(operator)
    client.post(reverse("vinted:listing-archive", args=[listing.pk]))
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.ARCHIVED
