"""Files for the photo upload matrix: real images of each accepted type, an EXIF-rotated JPEG with
GPS, a pixel bomb, a truncated JPEG, and helpers to read back what was stored."""

import io
import struct
import zlib

import pillow_heif
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.factories import image_bytes

pillow_heif.register_heif_opener()


def upload(data: bytes, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def two_tone(width=400, height=200, fmt="JPEG", **save) -> bytes:
    """Left half red, right half blue: orientation can be read back from the pixels."""
    image = Image.new("RGB", (width, height), (220, 20, 20))
    image.paste((20, 20, 220), (width // 2, 0, width, height))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def rotated_jpeg_with_gps() -> bytes:
    """A 400x200 JPEG whose EXIF says "rotate 90° clockwise to view" (orientation 6), with GPS,
    camera make and a comment."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    exif[0x8825] = gps  # GPSInfo IFD
    return two_tone(400, 200, exif=exif.tobytes(), comment=b"secret comment")


def png_bomb(width=100_000, height=100_000) -> bytes:
    """A tiny, valid-looking PNG whose header claims width x height pixels (10 gigapixels)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    data = two_tone(800, 600, quality=95)
    return data[: len(data) // 2]


def heic_bytes(width=320, height=240) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 160, 90)).save(buffer, "HEIF", quality=80)
    return buffer.getvalue()


def jpeg(width=640, height=480, colour=(30, 99, 199)) -> bytes:
    return image_bytes(width, height, colour, "JPEG")


def stored_image(field_file) -> Image.Image:
    """The stored file, opened (and loaded) from disk."""
    with field_file.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image
