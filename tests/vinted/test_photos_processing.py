"""vinted.photos and services.add_photos: the upload matrix, orientation and metadata, types."""

import io
import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from PIL import Image

from tests.factories import ListingFactory, PhotoFactory
from vinted.models import Photo
from vinted.services.photos import add_photos

from .photo_fixtures import (
    heic_bytes,
    jpeg,
    png_bomb,
    rotated_jpeg_with_gps,
    stored_image,
    truncated_jpeg,
    two_tone,
    upload,
)

pytestmark = pytest.mark.django_db


def _one(user, data, listing, **kw):
    (result,) = add_photos(user, [upload(data, **kw)], listing=listing)
    return result


def _files_on_disk(settings):
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_jpeg_becomes_a_ready_photo_with_three_generated_jpegs(operator, settings):
    listing = ListingFactory(owner=operator)
    result = _one(operator, jpeg(3000, 2000), listing, name="../../etc/passwd.jpg")
    assert result.ok, result.error
    photo = result.photo
    assert (photo.status, photo.listing, photo.owner, photo.position) == ("ready", listing, operator, 0)
    assert (photo.width, photo.height, photo.content_type) == (3000, 2000, "image/jpeg")
    for field in (photo.original, photo.display, photo.thumbnail):
        # A generated name, never the client's.
        assert re.fullmatch(r"vinted/photos/[0-9a-f]{32}(-display|-thumb)?\.jpg", field.name), field.name
        assert "passwd" not in field.name
        assert stored_image(field).format == "JPEG"
    assert stored_image(photo.display).size == (1600, 1067)
    assert stored_image(photo.thumbnail).size == (320, 213)
    assert photo.size_bytes == photo.original.size and len(photo.sha256) == 64
    # Nothing but the three files is left behind (no temp files).
    assert len(_files_on_disk(settings)) == 3


def test_exif_rotation_is_applied_and_every_piece_of_metadata_is_gone(operator):
    data = rotated_jpeg_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the fixture does carry GPS
    result = _one(operator, data, ListingFactory(owner=operator))
    assert result.ok, result.error
    for field in (result.photo.original, result.photo.display, result.photo.thumbnail):
        image = stored_image(field)
        assert dict(image.getexif()) == {}, field.name
        assert image.getexif().get_ifd(0x8825) == {}
        assert not ({"exif", "icc_profile", "xmp", "comment"} & set(image.info)), image.info.keys()
        with field.open("rb") as handle:
            raw = handle.read()
        assert b"PhoneMaker" not in raw and b"secret comment" not in raw and b"Exif" not in raw
    original = stored_image(result.photo.original)
    # 400x200 rotated 90° clockwise: 200x400, the red (left) half now on top.
    assert original.size == (200, 400) == (result.photo.width, result.photo.height)
    top, bottom = original.getpixel((100, 50)), original.getpixel((100, 350))
    assert top[0] > 150 and top[2] < 100, top
    assert bottom[2] > 150 and bottom[0] < 100, bottom


@pytest.mark.parametrize("fmt,content_type", [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_are_accepted_and_stored_as_jpeg(operator, fmt, content_type):
    result = _one(operator, two_tone(300, 200, fmt=fmt), ListingFactory(owner=operator), name="x.png",
                  content_type=content_type)
    assert result.ok, result.error
    assert stored_image(result.photo.original).format == "JPEG"
    assert (result.photo.width, result.photo.height) == (300, 200)


def test_a_transparent_png_is_flattened_onto_white(operator):
    buffer = io.BytesIO()
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(buffer, "PNG")
    result = _one(operator, buffer.getvalue(), ListingFactory(owner=operator))
    assert result.ok
    assert stored_image(result.photo.original).getpixel((25, 25)) >= (250, 250, 250)


def test_heic_is_converted_to_jpeg(operator):
    data = heic_bytes(320, 240)
    assert Image.open(io.BytesIO(data)).format == "HEIF"
    result = _one(operator, data, ListingFactory(owner=operator), name="IMG_0001.HEIC", content_type="image/heic")
    assert result.ok, result.error
    original = stored_image(result.photo.original)
    assert original.format == "JPEG" and original.size == (320, 240)
    red, green, blue = original.getpixel((160, 120))
    assert green > red and green > blue


def test_the_type_comes_from_the_bytes_not_the_name_or_the_content_type(operator):
    listing = ListingFactory(owner=operator)
    # A PNG named .heic and sent as text/plain is a PNG.
    assert _one(operator, two_tone(fmt="PNG"), listing, name="cat.heic", content_type="text/plain").ok
    # A text file named .jpg and sent as image/jpeg is refused.
    refused = _one(operator, b"hello, I am not an image" * 10, listing, name="photo.jpg")
    assert not refused.ok and "not an image" in refused.error


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"GIF89a" + b"\x00" * 100, "not an image"),
    (png_bomb(), "too many pixels"),
    (png_bomb(9000, 9000), "megapixels"),  # under Pillow's own bomb limit, over ours (50 MP)
    (truncated_jpeg(), "truncated"),
], ids=["empty", "garbage", "pixel-bomb", "over-megapixels", "truncated"])
def test_bad_files_are_refused_with_their_reason_and_leave_nothing(operator, settings, data, message):
    listing = ListingFactory(owner=operator)
    result = _one(operator, data, listing)
    assert not result.ok and message in result.error, result.error
    assert not Photo.objects.exists() and _files_on_disk(settings) == []


def test_a_gif_is_named_and_refused(operator):
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, "GIF")
    result = _one(operator, buffer.getvalue(), ListingFactory(owner=operator))
    assert result.error == "GIF images are not accepted: upload JPEG, PNG, WEBP or HEIC."


def test_a_file_over_the_size_limit_is_refused_before_it_is_decoded(operator, settings):
    settings.VINTED_PHOTO_MAX_MB = 1
    big = upload(b"\xff\xd8" + b"\x00" * (1024 * 1024 + 1))
    (result,) = add_photos(operator, [big], listing=ListingFactory(owner=operator))
    assert result.error == "The file is 1.0 MB; a photo may be at most 1 MB."


def test_good_files_are_kept_when_others_in_the_same_upload_fail(operator):
    listing = ListingFactory(owner=operator)
    files = [upload(jpeg(), "a.jpg"), upload(b"", "b.jpg"), upload(truncated_jpeg(), "c.jpg"),
             upload(two_tone(fmt="PNG"), "d.png")]
    results = add_photos(operator, files, listing=listing)
    assert [(r.name, r.ok) for r in results] == [("a.jpg", True), ("b.jpg", False), ("c.jpg", False),
                                                ("d.png", True)]
    assert list(listing.photos.values_list("position", flat=True)) == [0, 1]


def test_the_21st_photo_is_refused_and_the_20_kept(operator, settings):
    listing = ListingFactory(owner=operator)
    for _ in range(19):
        PhotoFactory(listing=listing)
    results = add_photos(operator, [upload(jpeg(), "20.jpg"), upload(jpeg(), "21.jpg")], listing=listing)
    assert results[0].ok
    assert results[1].error == "A listing has at most 20 photos; this would be photo 21."
    assert listing.photos.count() == 20
    assert results[0].photo.position == max(listing.photos.values_list("position", flat=True))


def test_someone_elses_listing_is_not_found_and_a_viewer_may_not(operator, other_operator, viewer):
    listing = ListingFactory(owner=other_operator)
    with pytest.raises(Http404):
        add_photos(operator, [upload(jpeg())], listing=listing)
    with pytest.raises(PermissionDenied):
        add_photos(viewer, [upload(jpeg())], listing=listing)
    assert not Photo.objects.exists()


def test_an_admin_adds_to_an_operators_listing_and_the_photo_is_the_owners(admin_user, operator):
    listing = ListingFactory(owner=operator)
    result = _one(admin_user, jpeg(), listing)
    assert result.ok and result.photo.owner == operator
    assert Photo.objects.restrict(operator).filter(pk=result.photo.pk).exists()


def test_a_listing_no_longer_editable_takes_no_photos(operator):
    listing = ListingFactory(owner=operator, status="published")
    with pytest.raises(ValidationError, match="published"):
        add_photos(operator, [upload(jpeg())], listing=listing)


def test_a_database_failure_mid_upload_keeps_earlier_photos_and_leaves_no_orphan_files(operator, settings,
                                                                                         monkeypatch):
    from django.db import DatabaseError
    from django.db.models.query import QuerySet

    listing = ListingFactory(owner=operator)
    real_create, calls = QuerySet.create, []

    def create_failing_the_second_time(self, **kwargs):  # a database fault while the 2nd row is written
        calls.append(1)
        if self.model is Photo and len(calls) == 2:
            raise DatabaseError("disk I/O error")
        return real_create(self, **kwargs)

    monkeypatch.setattr(QuerySet, "create", create_failing_the_second_time)
    settings.VINTED_PHOTO_WORKERS = 2
    with pytest.raises(DatabaseError):
        add_photos(operator, [upload(jpeg(), f"{n}.jpg") for n in range(4)], listing=listing)
    kept = list(listing.photos.all())
    assert len(kept) == 1
    on_disk = {p.relative_to(settings.MEDIA_ROOT).as_posix() for p in _files_on_disk(settings)}
    assert on_disk == {kept[0].original.name, kept[0].display.name, kept[0].thumbnail.name}


def test_photos_reserve_their_working_memory_and_wait_for_room():
    import threading
    import time

    from vinted.services.photos import _MemoryBudget

    budget, inside, most = _MemoryBudget(100), [], []
    lock = threading.Lock()

    def work(amount):
        with budget.reserve(amount):
            with lock:
                inside.append(amount)
                most.append(tuple(inside))
            time.sleep(0.05)
            with lock:
                inside.remove(amount)

    threads = [threading.Thread(target=work, args=(amount,)) for amount in (60, 60, 30, 30, 500)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    # Never more than the budget at once; the one larger than the whole budget ran alone.
    assert len(most) == 5 and budget.free == 100
    assert all(sum(snapshot) <= 100 or snapshot == (500,) for snapshot in most), most


def test_an_upload_larger_than_the_memory_budget_still_runs_alone(operator, settings):
    settings.VINTED_PHOTO_MEMORY_MB = 1
    results = add_photos(operator, [upload(jpeg(1200, 900)), upload(rotated_jpeg_with_gps())],
                         listing=ListingFactory(owner=operator))
    assert all(result.ok for result in results), [result.error for result in results]


def test_a_photo_waiting_for_room_is_not_overtaken_by_smaller_ones():
    import threading
    import time

    from vinted.services.photos import _MemoryBudget

    budget, order, done = _MemoryBudget(100), [], threading.Event()

    def hold(name, amount):
        with budget.reserve(amount):
            order.append(name)
            done.wait(5)

    threads = []
    for name, amount in (("first", 30), ("big", 100), ("small", 30)):
        threads.append(threading.Thread(target=hold, args=(name, amount), daemon=True))
        threads[-1].start()
        time.sleep(0.1)
    try:
        # 70 are free, enough for the small one, but the big one asked first and waits for all 100.
        assert order == ["first"]
    finally:
        done.set()
        for thread in threads:
            thread.join(5)
    assert order == ["first", "big", "small"] and budget.free == 100
