"""YouTube thumbnail: the cover at 1280x720 with the title set large over a dark scrim.

YouTube takes JPEG thumbnails up to 2 MB; the quality is lowered step by step
until the file fits. The font is the first bold sans found (fc-match, then common
DejaVu / Liberation paths, or LOFI_THUMBNAIL_FONT); without one, Pillow's built-in
scalable font is used, which is plainer but always available.
"""

import functools
import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from . import EngineError, atomic_output
from .limits import MAX_THUMBNAIL_BYTES

WIDTH, HEIGHT = 1280, 720
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/Library/Fonts/Arial Bold.ttf",
)


@dataclass(frozen=True)
class ThumbnailResult:
    path: Path
    width: int
    height: int
    size_bytes: int
    quality: int
    font: str  # path of the font used, or "built-in"


@functools.cache
def find_font() -> str | None:
    """Path of a bold sans-serif TTF on this system, or None."""
    configured = os.environ.get("LOFI_THUMBNAIL_FONT")
    if configured and Path(configured).is_file():
        return configured
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(
                ["fc-match", "-f", "%{file}", "sans-serif:bold"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            found = ""
        if found.lower().endswith((".ttf", ".otf")) and Path(found).is_file():
            return found
    return next((p for p in FONT_CANDIDATES if Path(p).is_file()), None)


def _font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, str]:
    path = find_font()
    if path:
        return ImageFont.truetype(path, size), path
    return ImageFont.load_default(size=size), "built-in"


def _printable(text: str) -> str:
    """The title without characters a plain text font cannot draw (emoji, symbols)."""
    kept = "".join(ch for ch in text if (ch.isprintable() and ord(ch) < 0x2190) or ch in "–—’‘“”…·")
    return re.sub(r"\s+", " ", kept).strip()


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, max_width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        fits = lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= max_width
        if fits or (lines and word in "-–—|·"):  # never start a line with a dash
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _layout(draw: ImageDraw.ImageDraw, text: str, max_width: int, max_lines: int):
    """The largest font size at which the title fits in `max_lines` lines."""
    for size in range(104, 39, -8):
        font, name = _font(size)
        lines = _wrap(draw, text, font, max_width)
        if len(lines) <= max_lines and all(draw.textlength(line, font=font) <= max_width for line in lines):
            return font, name, lines, size
    font, name = _font(40)
    lines = _wrap(draw, text, font, max_width)[:max_lines]
    lines[-1] = lines[-1].rstrip(".,;:") + "…"
    return font, name, lines, 40


def make_thumbnail(
    cover: Path | str, out_path: Path | str, *, title: str, subtitle: str | None = None
) -> ThumbnailResult:
    """Write a 1280x720 JPEG of `cover` with `title` (and an optional small `subtitle`)."""
    base = _filled(cover)

    # A scrim darkening the lower part, where the text goes, so it reads on any cover.
    ramp = np.clip((np.linspace(0, 1, HEIGHT) - 0.25) / 0.75, 0, 1) ** 1.3 * 0.78
    shade = (1 - ramp)[:, None, None]
    base = Image.fromarray((np.asarray(base, dtype=np.float32) * shade).astype(np.uint8))

    text = _printable(title) or "lofi mix"
    draw = ImageDraw.Draw(base)
    margin = 64
    font, font_name, lines, size = _layout(draw, text, WIDTH - 2 * margin, max_lines=3)
    line_height = int(size * 1.15)
    small, _ = _font(34)
    block = line_height * len(lines) + (50 if subtitle else 0)
    y = HEIGHT - margin - block

    # Soft drop shadow: the text drawn dark on its own layer, blurred, under the text.
    shadow = Image.new("L", (WIDTH, HEIGHT), 0)
    sdraw = ImageDraw.Draw(shadow)
    for i, line in enumerate(lines):
        sdraw.text((margin + 4, y + i * line_height + 5), line, font=font, fill=220)
    if subtitle:
        sdraw.text((margin + 3, y + len(lines) * line_height + 18), _printable(subtitle), font=small, fill=200)
    shadow = shadow.filter(ImageFilter.GaussianBlur(7))
    base.paste((0, 0, 0), (0, 0), shadow)
    for i, line in enumerate(lines):
        draw.text((margin, y + i * line_height), line, font=font, fill=(255, 247, 235))
    if subtitle:
        draw.text((margin, y + len(lines) * line_height + 14), _printable(subtitle), font=small, fill=(255, 214, 170))

    return _save(base, Path(out_path), font_name)


def fit_thumbnail(image: Path | str, out_path: Path | str) -> ThumbnailResult:
    """A person's own thumbnail as YouTube takes it: 1280x720 (filled, middle kept), JPEG <= 2 MB."""
    return _save(_filled(image), Path(out_path), None)


def _filled(image: Path | str) -> Image.Image:
    """The image scaled to fill 1280x720 without distortion, the middle cropped out."""
    image = Path(image)
    try:
        with Image.open(image) as img:
            base = img.convert("RGB")
    except (OSError, ValueError) as exc:
        # Name the file, never its server path (the message reaches every role).
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise EngineError(f"cannot read the image {image.name} (cover or own thumbnail): {reason}")
    scale = max(WIDTH / base.width, HEIGHT / base.height)
    base = base.resize((round(base.width * scale), round(base.height * scale)), Image.Resampling.LANCZOS)
    left, top = (base.width - WIDTH) // 2, (base.height - HEIGHT) // 2
    return base.crop((left, top, left + WIDTH, top + HEIGHT))


def _save(base: Image.Image, out: Path, font_name) -> ThumbnailResult:
    for quality in range(92, 29, -6):
        buffer = io.BytesIO()
        base.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
        if buffer.tell() <= MAX_THUMBNAIL_BYTES:
            break
    else:
        raise EngineError("the thumbnail does not fit in 2 MB even at low quality")
    with atomic_output(out) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return ThumbnailResult(out, WIDTH, HEIGHT, buffer.tell(), quality, font_name)
