"""Image processing of an uploaded photo (no models): check it from its bytes, orient it, strip it,
and write the stored original, a display copy and a thumbnail.

What an upload must pass, in this order, each refusal a `PhotoRejected` with a sentence for the
seller (the service turns it into that file's answer):

1. size: not empty, at most VINTED_PHOTO_MAX_MB;
2. type from the bytes (Pillow's own detection of the header; the client's file name and
   content type are never read): JPEG, PNG, WEBP or HEIC/HEIF (pillow-heif);
3. pixels from the header, before anything is decoded: at most VINTED_PHOTO_MAX_MEGAPIXELS
   (a "pixel bomb" - a tiny file claiming 100000x100000 - is refused here; Pillow's own
   DecompressionBombError, raised while the header is read, says the same);
4. decoding: a truncated or damaged file is refused (Pillow's LOAD_TRUNCATED_IMAGES stays off).

Then the stored files are made, every piece of metadata dropped (EXIF with GPS, XMP, ICC,
comments, PNG text, IPTC, multi-picture extras), by one of two paths:

- an upright JPEG (EXIF orientation 1 or none) in RGB/grey with no ICC profile, or an sRGB one:
  the stored original is the upload itself with its metadata segments cut out (jpeg_segments:
  no decode, no re-encode, the very same pixels), re-read to confirm nothing is left;
- anything else (rotated, CMYK, another ICC profile, PNG, WEBP, HEIC, or a JPEG whose structure
  the rewriter does not know): decoded in full, oriented, converted to sRGB from its ICC profile
  and written as a new JPEG from the pixels alone (transparency flattened onto white).

Either way every photo is stored as JPEG (HEIC must be converted for Vinted and browsers anyway),
all of it sRGB without a profile. The display copy (1600 px) of a JPEG on the first path is
decoded by libjpeg at reduced scale (DCT scaling, which still reads the whole stream: a truncated
file is refused); the thumbnail (320 px) is made from the display copy. File names are generated
(uuid4), written atomically (temp file + rename) under MEDIA_ROOT.

Cost is bounded and known before decoding (`working_bytes`, from the header, reserved from the
service's memory budget): a 4000x3000 upright JPEG takes about 0.17 s of one core and 30 MB, a
rotated one about 0.33 s and 95 MB (bench/bench_vinted_photos.py).
"""

import contextlib
import hashlib
import io
import logging
import math
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pillow_heif
from django.conf import settings
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

from . import jpeg_segments

pillow_heif.register_heif_opener()
logger = logging.getLogger(__name__)

# Pillow's format names of what is accepted, and how a seller calls them.
# MPO: a JPEG followed by more pictures (a phone's depth or HDR gain map); its first is the photo.
ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "HEIC/HEIF"}
ACCEPTED_TEXT = "JPEG, PNG, WEBP or HEIC"
STORED_CONTENT_TYPE = "image/jpeg"
DISPLAY_LONG_SIDE = 1600
THUMBNAIL_LONG_SIDE = 320
JPEG_QUALITY = 88
PHOTO_DIR = "vinted/photos"
_MB = 1024 * 1024
_SRGB = ImageCms.createProfile("sRGB")


class PhotoRejected(ValueError):
    """This file cannot become a photo; the message says why, for the seller."""


@dataclass(frozen=True)
class ProcessedPhoto:
    original: str  # storage names, relative to MEDIA_ROOT
    display: str
    thumbnail: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    content_type: str = STORED_CONTENT_TYPE

    @property
    def names(self) -> tuple[str, str, str]:
        return self.original, self.display, self.thumbnail


def max_bytes() -> int:
    return settings.VINTED_PHOTO_MAX_MB * _MB


def max_pixels() -> int:
    # Never above Pillow's own bomb limit, whatever the setting says.
    return min(int(settings.VINTED_PHOTO_MAX_MEGAPIXELS * 1_000_000), Image.MAX_IMAGE_PIXELS or 1 << 62)


def check_size(size: int | None) -> None:
    if not size:
        raise PhotoRejected("The file is empty (0 bytes).")
    if size > max_bytes():
        raise PhotoRejected(f"The file is {size / _MB:.1f} MB; a photo may be at most "
                            f"{settings.VINTED_PHOTO_MAX_MB} MB.")


def open_checked(fileobj) -> Image.Image:
    """The image behind `fileobj`, its header read and checked (type, pixels), not yet decoded."""
    fileobj.seek(0)
    try:
        image = Image.open(fileobj)
    except Image.DecompressionBombError as exc:
        raise PhotoRejected(f"The image claims too many pixels to be a photo (at most "
                            f"{settings.VINTED_PHOTO_MAX_MEGAPIXELS:g} megapixels).") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise PhotoRejected(f"This is not an image Vinted takes: upload {ACCEPTED_TEXT}.") from exc
    except Exception as exc:  # a malformed header can trip a plugin in other ways (struct.error, IndexError)
        logger.warning("Image header not readable: %s", _describe(exc))
        raise PhotoRejected(f"This is not an image Vinted takes: upload {ACCEPTED_TEXT}.") from exc
    if image.format not in ACCEPTED_FORMATS:
        image.close()
        raise PhotoRejected(f"{image.format or 'This'} images are not accepted: upload {ACCEPTED_TEXT}.")
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels():
        image.close()
        raise PhotoRejected(f"The image is {width}x{height} pixels; a photo may have at most "
                            f"{settings.VINTED_PHOTO_MAX_MEGAPIXELS:g} megapixels.")
    return image


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _decoded(image: Image.Image) -> Image.Image:
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # a global someone may have turned on: we never accept half a photo
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay off for photo uploads.")
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise PhotoRejected("The image decodes to too many pixels to be a photo.") from exc
    except Exception as exc:  # OSError "image file is truncated", a broken stream's ValueError or struct.error
        if isinstance(exc, MemoryError):
            raise
        raise PhotoRejected(f"The image is damaged or incomplete (truncated?) and cannot be read: "
                            f"upload the full {ACCEPTED_FORMATS[image.format]} file again.") from exc
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB pixels in sRGB (from an embedded ICC profile; transparency flattened onto white)."""
    icc = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if image.mode not in ("RGB", "CMYK", "L"):
                image = image.convert("RGB")
            return ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: the pixels as they are
    return image if image.mode == "RGB" else image.convert("RGB")


def _fit(image: Image.Image, long_side: int, reducing_gap: float = 3.0) -> Image.Image:
    scale = long_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=reducing_gap)


def _jpeg(image: Image.Image) -> bytes:
    """The pixels alone as JPEG: no EXIF, ICC, XMP or comment is passed, and none is taken from `info`."""
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _write_atomically(name: str, data: bytes) -> None:
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_files(names) -> None:
    """Delete stored files (a photo deleted, or processed but then refused)."""
    root = Path(settings.MEDIA_ROOT)
    for name in names:
        if name:
            (root / str(name)).unlink(missing_ok=True)


def _orientation(image: Image.Image) -> int:
    # getexif() also reads an XMP tiff:Orientation, as exif_transpose does.
    return image.getexif().get(0x0112, 1)


def _is_srgb(icc: bytes) -> bool:
    try:
        return "srgb" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).lower()
    except (ImageCms.PyCMSError, OSError, ValueError):
        return False


def _keeps_its_pixels(image: Image.Image) -> bool:
    """A JPEG that needs no rotation and no colour conversion: its stored original can be the
    file itself with its metadata segments cut out (no decode, no re-encode, no loss)."""
    icc = image.info.get("icc_profile")
    return (image.format in ("JPEG", "MPO") and image.mode in ("RGB", "L") and _orientation(image) == 1
            and (not icc or _is_srgb(icc)))


def _without_metadata(data: bytes) -> bytes | None:
    """The JPEG's bytes stripped losslessly, re-read to confirm nothing is left, or None."""
    stripped = jpeg_segments.strip(data)
    if stripped is None:
        return None
    with Image.open(io.BytesIO(stripped)) as check:  # the header only, a millisecond
        if dict(check.getexif()) or {"exif", "icc_profile", "xmp", "comment", "photoshop"} & set(check.info):
            logger.warning("Lossless strip left metadata in a JPEG; re-encoding it instead.")
            return None
    return stripped


def _display_at_reduced_scale(image: Image.Image) -> Image.Image:
    """The display copy decoded by libjpeg at 1/2, 1/4 or 1/8 scale (DCT scaling: a fraction of the
    CPU and memory of a full decode), then resized. The whole stream is still read: a truncated
    file is refused here as in a full decode."""
    scale = DISPLAY_LONG_SIDE / max(image.size)
    if scale < 1:
        image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    _decoded(image)
    return _fit(_to_srgb(image), DISPLAY_LONG_SIDE)


def _stored(original: bytes, display: Image.Image, width: int, height: int) -> ProcessedPhoto:
    stem = f"{PHOTO_DIR}/{uuid.uuid4().hex}"
    names = (f"{stem}.jpg", f"{stem}-display.jpg", f"{stem}-thumb.jpg")
    written = []
    try:
        _write_atomically(names[0], original)
        written.append(names[0])
        _write_atomically(names[1], _jpeg(display))
        written.append(names[1])
        _write_atomically(names[2], _jpeg(_fit(display, THUMBNAIL_LONG_SIDE)))  # from the display copy
        written.append(names[2])
    except BaseException:
        remove_files(written)
        raise
    return ProcessedPhoto(original=names[0], display=names[1], thumbnail=names[2], width=width, height=height,
                          size_bytes=len(original), sha256=hashlib.sha256(original).hexdigest())


def _process_losslessly(image: Image.Image, fileobj) -> ProcessedPhoto | None:
    width, height = image.size
    display = _display_at_reduced_scale(image)
    fileobj.seek(0)
    original = _without_metadata(fileobj.read())
    if original is None:
        return None
    return _stored(original, display, width, height)


def _process_fully(image: Image.Image) -> ProcessedPhoto:
    """Decode in full, orient, convert to sRGB and re-encode. One full copy of the pixels is alive
    at a time, but for the moment of the rotation (exif_transpose in place frees the unrotated one)."""
    _decoded(image)
    ImageOps.exif_transpose(image, in_place=True)
    clean = _to_srgb(image)
    if clean is not image:
        image.close()
    del image
    original = _jpeg(clean)
    width, height = clean.size
    # Box-reduce by the whole factor first (as the DCT scaling of the lossless path), then Lanczos.
    display = _fit(clean, DISPLAY_LONG_SIDE, reducing_gap=1.0)
    if display is not clean:
        clean.close()  # frees the full pixels now, not when the caller's reference goes
    return _stored(original, display, width, height)


def working_bytes(image: Image.Image, size: int, losslessly: bool) -> int:
    """What working on this photo holds at its peak, from its header (Pillow keeps RGB at 4 bytes a
    pixel): the upload and its stripped or encoded copy, plus on the lossless path the reduced-scale
    decode (at most 2x the display's sides) and the display copy, or else two full copies for the
    moment of the rotation. Measured: about 30 MB and 95 MB for a 12 MP JPEG."""
    width, height = image.size
    fit = min(1.0, DISPLAY_LONG_SIDE / max(width, height))
    display = math.ceil(width * fit) * math.ceil(height * fit)
    if losslessly:
        # libjpeg's DCT scaling: the strongest of 1/1, 1/2, 1/4, 1/8 still at least the display's size.
        scale = max(s for s in (1, 2, 4, 8)
                    if math.ceil(width / s) >= width * fit and math.ceil(height / s) >= height * fit)
        decoded = math.ceil(width / scale) * math.ceil(height / scale)
    else:
        decoded = 2 * width * height
    return (decoded + display) * 4 + 2 * size


def _no_reservation(_amount: int):
    return contextlib.nullcontext()


def process_upload(fileobj, size: int | None = None, reserve=_no_reservation) -> ProcessedPhoto:
    """Check, orient, strip and store one uploaded file; raises PhotoRejected with the reason.
    `reserve(bytes)` is entered once the header says what the work will hold, before any decoding
    (the service's per-process memory budget)."""
    size = size if size is not None else getattr(fileobj, "size", None)
    check_size(size)
    image = open_checked(fileobj)
    try:
        losslessly = _keeps_its_pixels(image)
        with reserve(working_bytes(image, size, losslessly)):
            if losslessly:
                processed = _process_losslessly(image, fileobj)
                if processed is not None:
                    return processed
                image.close()
                image = open_checked(fileobj)  # drafted and decoded: read it again, in full
            return _process_fully(image)
    finally:
        image.close()
