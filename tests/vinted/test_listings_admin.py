"""Admin pages of the Vinted desk: admins only; listings corrected within the listing limits; a
forbidden-phrase regex must compile; photos and batches read-only."""

import pytest
from django.urls import reverse

from tests.factories import ListingFactory, PhotoFactory
from vinted.models import ForbiddenPhrase

pytestmark = pytest.mark.django_db

PAGES = ["listing", "photo", "category", "brand", "size", "colour", "forbiddenphrase", "draftbatch"]


@pytest.mark.parametrize("model", PAGES)
def test_changelists_for_admins_only(client, admin_user, operator, model):
    ListingFactory(owner=operator)
    url = reverse(f"admin:vinted_{model}_changelist")
    client.force_login(operator)
    assert client.get(url).status_code == 403
    client.force_login(admin_user)
    assert client.get(url).status_code == 200


def test_listing_change_page_keeps_the_limits(client, admin_user, operator):
    listing = ListingFactory(owner=operator, complete=True)
    PhotoFactory(listing=listing)
    client.force_login(admin_user)
    url = reverse("admin:vinted_listing_change", args=[listing.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Photos" in page.content.decode()
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"title": "x" * 101, "colours": [c.pk for c in listing.colours.all()], "hashtags": '["ok"]',
                 "ai_confidence": "{}", "photos-TOTAL_FORMS": "1", "photos-INITIAL_FORMS": "1",
                 "photos-MIN_NUM_FORMS": "0", "photos-MAX_NUM_FORMS": "1000",
                 "photos-0-id": str(listing.photos.get().pk), "photos-0-listing": str(listing.pk)})
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["title"] == ["At most 100 characters (this one has 101)."]
    listing.refresh_from_db()
    assert len(listing.title) < 101


def test_a_broken_regex_is_refused(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("admin:vinted_forbiddenphrase_add"),
                           {"pattern": "(unclosed", "kind": "regex", "reason": "Broken", "is_active": "on"})
    assert response.status_code == 200
    assert "Not a valid regular expression" in response.context["adminform"].form.errors["pattern"][0]
    assert not ForbiddenPhrase.objects.filter(pattern="(unclosed").exists()
