"""Photo pages: the panel and page of a listing's photos, the plain upload form, order buttons,
cover, delete, the stored files; the role matrix on each."""

import pytest
from django.urls import reverse

from tests.factories import ListingFactory, PhotoFactory
from tests.helpers import PERSONAS, assert_answer, client_for
from vinted.models import Photo

from .photo_fixtures import jpeg, png_bomb, upload

pytestmark = pytest.mark.django_db

# The listing and photos are `operator`'s.
READ = {"anonymous": "login", "viewer": 200, "operator": 200, "other_operator": 404, "admin": 200}
WRITE = {"anonymous": "login", "viewer": 403, "operator": 302, "other_operator": 404, "admin": 302}


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.parametrize("persona", PERSONAS)
def test_photos_page_and_files_role_matrix(client, personas, persona, operator):
    listing = ListingFactory(owner=operator)
    photo = PhotoFactory(listing=listing)
    client = client_for(client, personas, persona)
    response = client.get(reverse("vinted:listing-photos", args=[listing.pk]))
    assert_answer(response, READ[persona])
    if response.status_code == 200:
        html = response.content.decode()
        assert reverse("vinted:photo-file", args=[photo.pk, "thumbnail"]) in html
        # Upload and order controls only for whoever may change the listing.
        assert ('name="files"' in html) == (persona in ("operator", "admin")), persona
    panel = client.get(reverse("vinted:listing-photos", args=[listing.pk]), {"panel": 1})
    assert_answer(panel, READ[persona])
    for kind in ("original", "display", "thumbnail"):
        assert_answer(client.get(reverse("vinted:photo-file", args=[photo.pk, kind])), READ[persona])


@pytest.mark.parametrize("persona", PERSONAS)
def test_photo_actions_role_matrix(client, personas, persona, operator):
    listing = ListingFactory(owner=operator)
    first, second = PhotoFactory(listing=listing, position=0), PhotoFactory(listing=listing, position=1)
    client = client_for(client, personas, persona)
    expected = WRITE[persona]
    assert_answer(client.post(reverse("vinted:photo-upload", args=[listing.pk]), {"files": [upload(jpeg())]}),
                  expected)
    assert_answer(client.post(reverse("vinted:photo-move", args=[second.pk, "earlier"])), expected)
    assert_answer(client.post(reverse("vinted:photo-cover", args=[first.pk])), expected)
    assert_answer(client.post(reverse("vinted:photo-delete", args=[second.pk])), expected)
    if expected == 302:  # one added, moved, cover set, one deleted
        assert not Photo.objects.filter(pk=second.pk).exists() and listing.photos.count() == 2
    else:  # nothing changed at all
        assert list(listing.photos.values_list("pk", "position")) == [(first.pk, 0), (second.pk, 1)]


def test_plain_form_upload_reports_each_refused_file_and_keeps_the_rest(client, operator):
    listing = ListingFactory(owner=operator)
    client.force_login(operator)
    response = client.post(reverse("vinted:photo-upload", args=[listing.pk]),
                           {"files": [upload(jpeg(), "shoe.jpg"), upload(png_bomb(), "bomb.png"),
                                      upload(b"", "empty.jpg")]}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("vinted:listing-photos", args=[listing.pk])
    messages = _messages(response)
    assert "1 photo added." in messages
    assert any(m.startswith("bomb.png: ") and "pixels" in m for m in messages), messages
    assert any(m.startswith("empty.jpg: ") and "empty" in m for m in messages), messages
    assert listing.photos.count() == 1


def test_plain_form_without_files_says_so(client, operator):
    listing = ListingFactory(owner=operator)
    client.force_login(operator)
    response = client.post(reverse("vinted:photo-upload", args=[listing.pk]), {}, follow=True)
    assert any("Choose one or more photos" in m for m in _messages(response))


def test_order_buttons_cover_and_delete_keep_positions_dense(client, operator, django_capture_on_commit_callbacks):
    listing = ListingFactory(owner=operator)
    a, b, c = (PhotoFactory(listing=listing, position=p) for p in range(3))
    client.force_login(operator)
    order = lambda: list(listing.photos.values_list("pk", flat=True))  # noqa: E731
    client.post(reverse("vinted:photo-move", args=[c.pk, "earlier"]))
    assert order() == [a.pk, c.pk, b.pk]
    client.post(reverse("vinted:photo-move", args=[a.pk, "earlier"]))  # already first: stays
    assert order() == [a.pk, c.pk, b.pk]
    client.post(reverse("vinted:photo-cover", args=[b.pk]))
    assert order() == [b.pk, a.pk, c.pk]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("vinted:photo-delete", args=[b.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("vinted:listing-photos", args=[listing.pk])  # no open redirect
    assert list(listing.photos.values_list("pk", "position")) == [(a.pk, 0), (c.pk, 1)]


def test_the_page_shows_the_cover_first_and_buttons_per_position(client, operator):
    listing = ListingFactory(owner=operator)
    first, last = PhotoFactory(listing=listing, position=0), PhotoFactory(listing=listing, position=1)
    client.force_login(operator)
    html = client.get(reverse("vinted:listing-photos", args=[listing.pk])).content.decode()
    assert html.index(f'data-photo-id="{first.pk}"') < html.index(f'data-photo-id="{last.pk}"')
    assert "Cover" in html
    assert reverse("vinted:photo-move", args=[first.pk, "earlier"]) not in html
    assert reverse("vinted:photo-move", args=[last.pk, "later"]) not in html
    assert reverse("vinted:photo-move", args=[last.pk, "earlier"]) in html
    assert "js/vinted-photos.js" in html and "<script>" not in html  # CSP: no inline script


def test_a_signed_out_upload_is_sent_to_sign_in_before_the_body_is_read(client, operator):
    listing = ListingFactory(owner=operator)
    response = client.post(reverse("vinted:photo-upload", args=[listing.pk]), {"files": [upload(jpeg())]})
    assert_answer(response, "login")
    assert not Photo.objects.exists()


def test_the_panel_alone_sends_its_buttons_back_to_the_page_that_shows_it(client, operator):
    listing = ListingFactory(owner=operator)
    PhotoFactory(listing=listing)
    client.force_login(operator)
    url = reverse("vinted:listing-photos", args=[listing.pk])
    html = client.get(url, {"panel": 1, "next": "/vinted/listings/7/"}).content.decode()
    assert 'name="next" value="/vinted/listings/7/"' in html and "<html" not in html
    html = client.get(url, {"panel": 1, "next": "https://evil.example/"}).content.decode()
    assert f'name="next" value="{url}"' in html


def test_a_published_listing_shows_its_photos_without_controls(client, operator):
    listing = ListingFactory(owner=operator, status="published")
    photo = PhotoFactory(listing=listing)
    client.force_login(operator)
    html = client.get(reverse("vinted:listing-photos", args=[listing.pk])).content.decode()
    assert reverse("vinted:photo-file", args=[photo.pk, "thumbnail"]) in html
    assert 'name="files"' not in html and reverse("vinted:photo-delete", args=[photo.pk]) not in html
    response = client.post(reverse("vinted:photo-delete", args=[photo.pk]), follow=True)
    assert any("published" in m for m in _messages(response)) and Photo.objects.filter(pk=photo.pk).exists()


def test_a_page_upload_over_the_body_limit_is_a_413_before_it_is_read(client, operator, settings):
    settings.VINTED_PHOTO_MAX_MB = 2  # the body limit: 20 files of 2 MB plus the form fields
    listing = ListingFactory(owner=operator)
    client.force_login(operator)
    big = upload(b"\xff\xd8\xff" + b"\x00" * (50 * 1024 * 1024), "huge.jpg")
    response = client.post(reverse("vinted:photo-upload", args=[listing.pk]), {"files": [big]})
    assert response.status_code == 413
    assert not Photo.objects.exists()
