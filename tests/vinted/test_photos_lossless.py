"""The stored original of an upright sRGB JPEG is the upload with its metadata segments cut out:
no EXIF, GPS, XMP, ICC or comment left, and the very same pixels (nothing decoded or re-encoded)."""

import io

import pytest
from PIL import Image, ImageCms, ImageDraw

from tests.factories import ListingFactory
from vinted import jpeg_segments
from vinted.services.photos import add_photos

from .photo_fixtures import stored_image, upload

pytestmark = pytest.mark.django_db

TRAILER = b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xd9"  # an MPF-like extra picture


def _picture(width=2400, height=1800) -> Image.Image:
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for n in range(12):
        draw.ellipse((n * 150, n * 90, n * 150 + 500, n * 90 + 300), fill=(n * 20, 255 - n * 20, 90))
    return image


def _upright_phone_jpeg(**save) -> bytes:
    """Orientation 1 with camera make, GPS, an XMP packet, a comment, an sRGB profile and a trailer."""
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    buffer = io.BytesIO()
    _picture().save(buffer, "JPEG", quality=92, exif=exif.tobytes(), comment=b"secret comment",
                    xmp=b"<x:xmpmeta><rdf:Description photoshop:City='Paris'/></x:xmpmeta>",
                    icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), **save)
    return buffer.getvalue() + TRAILER


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


@pytest.mark.parametrize("save", [{}, {"progressive": True}, {"restart_marker_blocks": 4}, {"subsampling": 0}],
                         ids=["baseline", "progressive", "restart-markers", "4:4:4"])
def test_an_upright_jpeg_is_stored_with_its_pixels_and_without_any_metadata(operator, save):
    data = _upright_phone_jpeg(**save)
    source = Image.open(io.BytesIO(data))
    assert source.getexif().get_ifd(0x8825) and {"icc_profile", "xmp", "comment"} <= set(source.info)

    (result,) = add_photos(operator, [upload(data)], listing=ListingFactory(owner=operator))
    assert result.ok, result.error
    with result.photo.original.open("rb") as handle:
        stored = handle.read()
    original = Image.open(io.BytesIO(stored))
    assert dict(original.getexif()) == {} and original.getexif().get_ifd(0x8825) == {}
    assert not ({"exif", "icc_profile", "xmp", "comment", "photoshop"} & set(original.info)), original.info.keys()
    for secret in (b"PhoneMaker", b"secret comment", b"Paris", b"Exif", b"ICC_PROFILE", b"GPS"):
        assert secret not in stored, secret
    assert stored.count(b"\xff\xd9") == 1 and stored.endswith(b"\xff\xd9")  # the trailer is gone
    # Not re-encoded: the same pixels to the bit (a re-encode at any quality would change some).
    assert _pixels(stored) == _pixels(data)
    assert (result.photo.width, result.photo.height) == (2400, 1800) == original.size
    assert result.photo.size_bytes == len(stored) < len(data)

    display, thumb = stored_image(result.photo.display), stored_image(result.photo.thumbnail)
    assert (display.size, thumb.size) == ((1600, 1200), (320, 240))
    for image in (display, thumb):
        assert dict(image.getexif()) == {} and not ({"exif", "icc_profile", "xmp", "comment"} & set(image.info))
    # The display copy (decoded at reduced scale) shows the same picture: compare a patch's colour.
    expected = _picture().resize((1600, 1200)).getpixel((800, 700))
    assert all(abs(a - b) < 24 for a, b in zip(display.getpixel((800, 700)), expected, strict=True))


def test_a_large_truncated_jpeg_is_refused_on_the_reduced_scale_path_too(operator):
    buffer = io.BytesIO()
    _picture(4000, 1000).save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    (result,) = add_photos(operator, [upload(data[: len(data) // 2])], listing=ListingFactory(owner=operator))
    assert not result.ok and "truncated" in result.error


def test_a_jpeg_with_an_adobe_segment_keeps_it_and_its_colours():
    buffer = io.BytesIO()
    _picture(64, 48).convert("CMYK").save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    stripped = jpeg_segments.strip(data)
    assert b"Adobe" in stripped and _pixels(stripped) == _pixels(data)


@pytest.mark.parametrize("data", [
    b"\xff\xd8\xff\xdb\x00\x43" + b"\x01" * 20,  # a segment running past the end
    b"\xff\xd8\xff\xf3\x00\x04ab\xff\xd9",  # a reserved marker (JPG3)
    b"GIF89a",
], ids=["short-segment", "reserved-marker", "not-jpeg"])
def test_a_structure_the_rewriter_does_not_know_is_left_to_the_full_decode(data):
    assert jpeg_segments.strip(data) is None


def test_a_scan_without_an_end_of_image_is_not_rewritten():
    buffer = io.BytesIO()
    _picture(64, 48).save(buffer, "JPEG")
    assert jpeg_segments.strip(buffer.getvalue()[:-2]) is None


def test_a_multi_picture_jpeg_keeps_its_first_picture_only(operator):
    # Phones write HDR gain maps and depth maps as extra pictures after the photo (MPO).
    buffer = io.BytesIO()
    photo, extra = _picture(800, 600), Image.new("RGB", (400, 300), (0, 0, 0))
    photo.save(buffer, "MPO", save_all=True, append_images=[extra], quality=90)
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).format == "MPO" and data.count(b"\xff\xd9") >= 2

    (result,) = add_photos(operator, [upload(data)], listing=ListingFactory(owner=operator))
    assert result.ok, result.error
    with result.photo.original.open("rb") as handle:
        stored = handle.read()
    assert Image.open(io.BytesIO(stored)).format == "JPEG" and stored.count(b"\xff\xd9") == 1
    assert b"MPF" not in stored and _pixels(stored) == _pixels(data)
