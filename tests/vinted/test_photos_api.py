"""/api/v1/vinted/photos/: upload per file, list, retrieve, files, reorder, cover, delete; role matrix."""

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.api_helpers import assert_error, assert_matrix_answer
from tests.factories import ListingFactory, PhotoFactory
from tests.helpers import API_PERSONAS
from vinted.models import DraftBatch, Photo

from .photo_fixtures import jpeg, png_bomb, truncated_jpeg, upload

pytestmark = pytest.mark.django_db
URL = "/api/v1/vinted/photos/"


def _post(client, listing=None, files=(), batch=None):
    data = {"files": list(files)}
    if listing is not None:
        data["listing"] = listing.pk
    if batch is not None:
        data["batch"] = batch.pk
    return client.post(URL, data, format="multipart")


def test_an_upload_answers_per_file_and_keeps_the_good_ones(api_as, operator):
    listing = ListingFactory(owner=operator)
    response = _post(api_as(operator), listing, [upload(jpeg(), "good.jpg"), upload(b"", "empty.jpg"),
                                                 upload(png_bomb(), "bomb.png"), upload(truncated_jpeg(), "cut.jpg")])
    assert response.status_code == 201, response.content
    results = response.json()["results"]
    assert [(r["name"], r["ok"]) for r in results] == [("good.jpg", True), ("empty.jpg", False),
                                                      ("bomb.png", False), ("cut.jpg", False)]
    assert "empty" in results[1]["error"] and "pixels" in results[2]["error"] and "truncated" in results[3]["error"]
    photo = results[0]["photo"]
    assert photo["listing"] == listing.pk and photo["is_cover"] and photo["content_type"] == "image/jpeg"
    assert set(photo["files"]) == {"original", "display", "thumbnail"}
    assert photo["files"]["original"].endswith(f"/api/v1/vinted/photos/{photo['id']}/files/original/")
    assert listing.photos.count() == 1


def test_an_upload_where_no_file_is_added_is_a_400_with_each_reason(api_as, operator):
    listing = ListingFactory(owner=operator)
    response = _post(api_as(operator), listing, [upload(b"not an image", "a.txt")])
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["error"]["details"]["files"][0]["name"] == "a.txt"
    assert "not an image" in body["error"]["details"]["files"][0]["error"]


def test_the_21st_photo_is_refused_by_the_api(api_as, operator):
    listing = ListingFactory(owner=operator)
    for _ in range(20):
        PhotoFactory(listing=listing)
    body = assert_error(_post(api_as(operator), listing, [upload(jpeg())]), 400, "VALIDATION_ERROR")
    assert body["error"]["details"]["files"][0]["error"] == "A listing has at most 20 photos; this would be photo 21."


def test_upload_needs_a_listing_or_batch_and_files(api_as, operator):
    client = api_as(operator)
    body = assert_error(client.post(URL, {"files": [upload(jpeg())]}, format="multipart"), 400, "VALIDATION_ERROR")
    assert "listing" in body["error"]["details"]["fields"]
    body = assert_error(client.post(URL, {"listing": ListingFactory(owner=operator).pk}, format="multipart"),
                        400, "VALIDATION_ERROR")
    assert "files" in body["error"]["details"]["fields"]


def test_another_operators_listing_is_a_404_and_nothing_is_stored(api_as, operator, other_operator, settings):
    listing = ListingFactory(owner=other_operator)
    assert_error(_post(api_as(operator), listing, [upload(jpeg())]), 404, "NOT_FOUND")
    assert not Photo.objects.exists()
    assert not Path(settings.MEDIA_ROOT).exists() or not any(Path(settings.MEDIA_ROOT).rglob("*.jpg"))


def test_a_body_over_the_endpoints_limit_is_a_413_before_it_is_read(api_as, operator, settings):
    # The limit is VINTED_PHOTOS_MAX files of VINTED_PHOTO_MAX_MB each, plus the form fields.
    settings.VINTED_PHOTO_MAX_MB = 2
    listing = ListingFactory(owner=operator)
    big = upload(b"\xff\xd8\xff" + b"\x00" * (50 * 1024 * 1024), "huge.jpg")
    assert_error(_post(api_as(operator), listing, [big]), 413, "PAYLOAD_TOO_LARGE")
    assert not Photo.objects.exists()


def test_a_50_mb_file_under_the_body_limit_is_refused_per_file(api_as, operator):
    listing = ListingFactory(owner=operator)
    big = upload(b"\xff\xd8\xff" + b"\x00" * (50 * 1024 * 1024), "huge.jpg")
    body = assert_error(_post(api_as(operator), listing, [big]), 400, "VALIDATION_ERROR")
    assert body["error"]["details"]["files"][0]["error"] == "The file is 50.0 MB; a photo may be at most 15 MB."


def test_files_are_served_to_an_api_client_with_its_token(api_as, operator):
    client = api_as(operator)
    listing = ListingFactory(owner=operator)
    photo = _post(client, listing, [upload(jpeg(2000, 1000))]).json()["results"][0]["photo"]
    for kind, size in (("original", (2000, 1000)), ("display", (1600, 800)), ("thumbnail", (320, 160))):
        response = client.get(photo["files"][kind], HTTP_ACCEPT="image/jpeg")
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == size


def test_list_filters_by_listing_in_order(api_as, operator):
    listing, other = ListingFactory(owner=operator), ListingFactory(owner=operator)
    photos = [PhotoFactory(listing=listing, position=p) for p in (2, 0, 1)]
    PhotoFactory(listing=other)
    response = api_as(operator).get(URL, {"listing": listing.pk})
    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == [photos[1].pk, photos[2].pk, photos[0].pk]


def test_reorder_and_cover_and_delete(api_as, operator, settings, django_capture_on_commit_callbacks):
    client = api_as(operator)
    listing = ListingFactory(owner=operator)
    ids = [row["photo"]["id"] for row in _post(client, listing, [upload(jpeg(), f"{n}.jpg") for n in range(3)])
           .json()["results"]]
    response = client.post(f"{URL}reorder/", {"listing": listing.pk, "photos": [ids[2], ids[0], ids[1]]},
                           format="json")
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()] == [ids[2], ids[0], ids[1]]
    assert list(listing.photos.values_list("pk", flat=True)) == [ids[2], ids[0], ids[1]]

    body = assert_error(client.post(f"{URL}reorder/", {"listing": listing.pk, "photos": [ids[0], ids[1]]},
                                    format="json"), 400, "VALIDATION_ERROR")
    assert "photos" in body["error"]["details"]["fields"]

    response = client.post(f"{URL}{ids[1]}/cover/")
    assert response.status_code == 200 and response.json()["is_cover"]
    assert list(listing.photos.values_list("pk", flat=True)) == [ids[1], ids[2], ids[0]]

    doomed = Photo.objects.get(pk=ids[2])
    files = [Path(settings.MEDIA_ROOT) / f.name for f in (doomed.original, doomed.display, doomed.thumbnail)]
    assert all(f.exists() for f in files)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"{URL}{ids[2]}/")
    assert response.status_code == 204
    assert not any(f.exists() for f in files)  # removed once the deletion was committed
    assert list(listing.photos.values_list("pk", "position")) == [(ids[1], 0), (ids[0], 1)]


# --- role matrix ------------------------------------------------------------------------------------
# The photo and listing belong to `operator`; "other_operator" must get 404 on them, viewers 403 on writes.
READ = {"anonymous": 401, "viewer": 200, "operator": 200, "other_operator": 404, "admin": 200}
WRITE = {"anonymous": 401, "viewer": 403, "operator": None, "other_operator": 404, "admin": None}


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(api_for, api_with, persona, operator):
    client = api_for(persona, using=api_with)
    listing = ListingFactory(owner=operator)
    photo = PhotoFactory(listing=listing)
    second = PhotoFactory(listing=listing)

    assert_matrix_answer(client.get(f"{URL}{photo.pk}/"), READ[persona], "retrieve")
    assert_matrix_answer(client.get(f"{URL}{photo.pk}/files/thumbnail/"), READ[persona], "file")
    listed = client.get(URL)
    assert_matrix_answer(listed, 401 if persona == "anonymous" else 200, "list")
    if listed.status_code == 200:
        visible = {row["id"] for row in listed.json()["results"]}
        assert (photo.pk in visible) == (persona != "other_operator"), persona

    assert_matrix_answer(_post(client, listing, [upload(jpeg())]), WRITE[persona] or 201, "upload")
    reversed_ids = list(listing.photos.values_list("pk", flat=True))[::-1]
    assert_matrix_answer(client.post(f"{URL}reorder/", {"listing": listing.pk, "photos": reversed_ids},
                                     format="json"), WRITE[persona] or 200, "reorder")
    assert_matrix_answer(client.post(f"{URL}{second.pk}/cover/"), WRITE[persona] or 200, "cover")
    assert_matrix_answer(client.delete(f"{URL}{second.pk}/"), WRITE[persona] or 204, "delete")


def test_a_bulk_batch_upload_and_its_photos_are_the_batch_owners(api_as, operator, other_operator):
    batch = DraftBatch.objects.create(owner=operator)
    response = _post(api_as(operator), batch=batch, files=[upload(jpeg(), "a.jpg"), upload(jpeg(), "b.jpg")])
    assert response.status_code == 201
    assert [r["photo"]["batch"] for r in response.json()["results"]] == [batch.pk, batch.pk]
    assert_error(_post(api_as(other_operator), batch=batch, files=[upload(jpeg())]), 404, "NOT_FOUND")
    assert api_as(other_operator).get(URL, {"batch": batch.pk}).json()["count"] == 0
    assert api_as(operator).get(URL, {"batch": batch.pk}).json()["count"] == 2


@pytest.mark.parametrize("value", ["99999999999999999999999", "-1", "abc", "1.5"])
def test_a_listing_id_out_of_range_or_not_a_number_is_a_400(api_as, operator, value):
    response = api_as(operator).post(URL, {"listing": value, "files": [upload(jpeg())]}, format="multipart")
    assert response.status_code in (400, 404), response.content
    assert not Photo.objects.exists()


@pytest.mark.parametrize("query", [{"batch": "-1.4e141"}, {"listing": "99999999999999999999"}, {"listing": "x"}])
def test_filters_out_of_range_are_a_400(api_as, operator, query):
    assert_error(api_as(operator).get(URL, query), 400, "VALIDATION_ERROR")
