"""Bulk upload: photos to a DraftBatch, grouped into items (every N, or by hand), each item a draft
Listing with its photos in order; the role matrix on the bulk pages."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.helpers import PERSONAS, assert_answer, client_for
from vinted.models import DraftBatch, Listing, Photo
from vinted.services import bulk
from vinted.services.photos import add_photos

from .photo_fixtures import jpeg, upload

pytestmark = pytest.mark.django_db


def _batch_with_photos(owner, count):
    batch = DraftBatch.objects.create(owner=owner)
    results = add_photos(owner, [upload(jpeg(64, 48, (n * 10, 0, 0)), f"{n}.jpg") for n in range(count)], batch=batch)
    assert all(result.ok for result in results)
    return batch, [result.photo.pk for result in results]


def _items(batch):
    return [list(listing.photos.values_list("pk", flat=True)) for listing in Listing.objects.filter(batch=batch)
            .order_by("id")]


def test_every_n_photos_become_one_draft_listing_each_in_upload_order(operator):
    batch, ids = _batch_with_photos(operator, 7)
    listings = bulk.group_every(operator, batch, 3)
    assert [listing.status for listing in listings] == ["draft"] * 3
    assert {listing.owner for listing in listings} == {operator}
    assert _items(batch) == [ids[0:3], ids[3:6], ids[6:7]]
    for listing in listings:  # dense positions, the first the cover
        assert list(listing.photos.values_list("position", flat=True)) == list(range(listing.photos.count()))
    assert not bulk.ungrouped_photos(batch).exists()


def test_manual_groups_keep_their_order_and_leave_the_rest_ungrouped(operator):
    batch, ids = _batch_with_photos(operator, 5)
    bulk.group_photos(operator, batch, [[ids[3], ids[0]], [ids[1]]])
    assert _items(batch) == [[ids[3], ids[0]], [ids[1]]]
    assert list(bulk.ungrouped_photos(batch).values_list("pk", flat=True)) == [ids[2], ids[4]]


@pytest.mark.parametrize("groups,message", [
    ([[]], "at least one photo"),
    ([[1_000_000]], "not ungrouped photos"),
    (lambda ids: [[ids[0]], [ids[0]]], "more than one place"),
    (lambda ids: [[ids[0], ids[0]]], "more than one place"),
])
def test_bad_groups_are_refused_and_change_nothing(operator, groups, message):
    batch, ids = _batch_with_photos(operator, 2)
    with pytest.raises(ValidationError, match=message):
        bulk.group_photos(operator, batch, groups(ids) if callable(groups) else groups)
    assert not Listing.objects.exists() and bulk.ungrouped_photos(batch).count() == 2


def test_every_n_is_bounded_by_the_photos_per_listing(operator):
    batch, _ = _batch_with_photos(operator, 1)
    with pytest.raises(ValidationError, match="between 1 and 20"):
        bulk.group_every(operator, batch, 21)


def test_grouped_photos_of_another_operators_batch_are_not_found(operator, other_operator):
    batch, ids = _batch_with_photos(operator, 2)
    from django.http import Http404

    with pytest.raises(Http404):
        bulk.group_photos(other_operator, batch, [ids])
    assert not Listing.objects.exists()


def test_the_bulk_page_groups_by_the_item_selects(client, operator):
    batch, ids = _batch_with_photos(operator, 4)
    client.force_login(operator)
    page = client.get(reverse("vinted:bulk-detail", args=[batch.pk])).content.decode()
    assert f'name="group_{ids[0]}"' in page and 'name="every"' in page
    response = client.post(reverse("vinted:bulk-group", args=[batch.pk]),
                           {"mode": "manual", f"group_{ids[0]}": "2", f"group_{ids[1]}": "1",
                            f"group_{ids[2]}": "2", f"group_{ids[3]}": ""}, follow=True)
    assert "2 items made" in response.content.decode()
    assert _items(batch) == [[ids[1]], [ids[0], ids[2]]]
    html = response.content.decode()
    assert "3. Draft the items" in html  # the drafting panel (vinted/_batch_draft.html) follows grouping


def test_the_bulk_page_groups_every_n(client, operator):
    batch, ids = _batch_with_photos(operator, 4)
    client.force_login(operator)
    client.post(reverse("vinted:bulk-group", args=[batch.pk]), {"mode": "every", "every": "2"})
    assert _items(batch) == [ids[0:2], ids[2:4]]
    response = client.post(reverse("vinted:bulk-group", args=[batch.pk]), {"mode": "every", "every": "x"},
                           follow=True)
    assert "Enter a whole number." in response.content.decode()


def test_starting_a_bulk_upload_and_uploading_without_script(client, operator):
    client.force_login(operator)
    response = client.post(reverse("vinted:bulk"))
    batch = DraftBatch.objects.get(owner=operator)
    assert response["Location"] == reverse("vinted:bulk-detail", args=[batch.pk])
    client.post(reverse("vinted:bulk-upload", args=[batch.pk]), {"files": [upload(jpeg()), upload(jpeg())]})
    assert bulk.ungrouped_photos(batch).count() == 2
    assert set(Photo.objects.values_list("owner", flat=True)) == {operator.pk}


def test_a_bulk_upload_is_bounded(operator, settings):
    settings.VINTED_BULK_PHOTOS_MAX = 2
    batch, _ = _batch_with_photos(operator, 2)
    (result,) = add_photos(operator, [upload(jpeg())], batch=batch)
    assert result.error == "A bulk upload has at most 2 photos; this would be photo 3."


READ = {"anonymous": "login", "viewer": 200, "operator": 200, "other_operator": 404, "admin": 200}
WRITE = {"anonymous": "login", "viewer": 403, "operator": 302, "other_operator": 404, "admin": 302}


@pytest.mark.parametrize("persona", PERSONAS)
def test_bulk_pages_role_matrix(client, personas, persona, operator):
    batch, ids = _batch_with_photos(operator, 2)
    client = client_for(client, personas, persona)
    listed = client.get(reverse("vinted:bulk"))
    assert_answer(listed, "login" if persona == "anonymous" else 200)
    if listed.status_code == 200:
        shown = reverse("vinted:bulk-detail", args=[batch.pk]) in listed.content.decode()
        assert shown == (persona != "other_operator"), persona
    assert_answer(client.get(reverse("vinted:bulk-detail", args=[batch.pk])), READ[persona])
    assert_answer(client.get(reverse("vinted:bulk-detail", args=[batch.pk]), {"panel": 1}), READ[persona])
    assert_answer(client.post(reverse("vinted:bulk-upload", args=[batch.pk]), {"files": [upload(jpeg())]}),
                  WRITE[persona])
    assert_answer(client.post(reverse("vinted:bulk-group", args=[batch.pk]), {"mode": "every", "every": "5"}),
                  WRITE[persona])
    assert Listing.objects.filter(batch=batch).count() == (1 if WRITE[persona] == 302 else 0)
    assert_answer(client.post(reverse("vinted:bulk")),
                  {"anonymous": "login", "viewer": 403}.get(persona, 302))
