"""Procedural cover art: a rainy night window over a city, 1920x1080 PNG.

Layers, back to front: gradient sky with stars and a moon (or a low sun), three
rows of skyline that fade into the haze, lit windows, out-of-focus city lights
(bokeh), rain streaks and drops on the glass, the dark window frame and sill
with a warm lamp glow, then film grain and a vignette. The preset's palette sets
the colours; the seed sets everything else, so a seed always gives the same image.
Layers are 8-bit Pillow images blended with ImageChops (screen, multiply), which
keeps a full-HD composite at a few tens of megabytes.
"""

import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from . import atomic_output
from .presets import DEFAULT_PRESET, Palette, get_preset

WIDTH, HEIGHT = 1920, 1080
SIZE = (WIDTH, HEIGHT)
# The glass: everything outside this box is the window frame, the wall and the sill.
GLASS = (110, 70, 1810, 890)
MULLION_X = 960
TRANSOM_Y = 400


@dataclass(frozen=True)
class ArtworkResult:
    path: Path
    width: int
    height: int
    size_bytes: int
    seed: int
    preset: str


def _solid(color: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", SIZE, color)


def _scaled(image: Image.Image, factor: float) -> Image.Image:
    """Brightness times `factor` (clipped), through a lookup table."""
    return image.point([min(255, int(v * factor)) for v in range(256)] * len(image.getbands()))


def _tint(mask: Image.Image, color: tuple[float, float, float]) -> Image.Image:
    """An L mask coloured: each channel is the mask times that channel's factor (0..1)."""
    return Image.merge("RGB", [mask.point([min(255, int(v * c)) for v in range(256)]) for c in color])


def _field(fn) -> Image.Image:
    """A smooth L image from fn(x, y) -> 0..1, computed at 1/8 size and scaled up."""
    yy, xx = np.mgrid[0:HEIGHT:8, 0:WIDTH:8].astype(np.float32)
    small = Image.fromarray((np.clip(fn(xx, yy), 0, 1) * 255).astype(np.uint8))
    return small.resize(SIZE, Image.Resampling.BILINEAR)


def _sky(palette: Palette, rng: np.random.Generator, sunset: bool) -> Image.Image:
    curve = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None, None] ** 1.6  # colour changes near the horizon
    column = np.array(palette.sky_top) * (1 - curve) + np.array(palette.sky_horizon) * curve
    sky = Image.fromarray(column.astype(np.uint8)).resize(SIZE, Image.Resampling.NEAREST)

    disc = Image.new("L", SIZE, 0)
    draw = ImageDraw.Draw(disc)
    if sunset:  # a large low sun behind the skyline
        cx, cy, r = int(rng.uniform(500, 1400)), 560, 125
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
        halo = 0.9
    else:  # a moon, and stars in the upper sky
        cx, cy, r = int(rng.uniform(350, 1550)), int(rng.uniform(170, 300)), 58
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=235)
        halo = 0.45
        for _ in range(260):
            sx, sy = rng.uniform(GLASS[0], GLASS[2]), rng.uniform(GLASS[1], 560)
            s = rng.choice((1, 1, 1, 2))
            draw.ellipse((sx, sy, sx + s, sy + s), fill=int(rng.uniform(60, 200)))
    body = tuple(int(c * 0.6 + 102) for c in palette.glow)
    sky = ImageChops.screen(sky, _tint(disc, tuple(c / 255 for c in body)))
    wide = _scaled(disc.filter(ImageFilter.GaussianBlur(160)), halo * 2.2)
    return ImageChops.screen(sky, _tint(wide, tuple(c / 255 for c in palette.glow)))


def _skyline(image: Image.Image, palette: Palette, rng: np.random.Generator) -> Image.Image:
    """Three rows of buildings; farther rows are paler (haze) and have fewer lit windows."""
    for row, (base_y, tallest, shade, lit) in enumerate(
        ((700, 330, 0.55, 0.06), (780, 300, 0.32, 0.14), (860, 250, 0.14, 0.22))
    ):
        # Buildings are the sky colour at the horizon, darkened more the nearer they are.
        horizon = image.getpixel((WIDTH // 2, base_y - 60))
        building = tuple(int(h * shade + f * (1 - shade) * 0.8) for h, f in zip(horizon, palette.frame, strict=True))
        mask = Image.new("L", SIZE, 0)
        windows = Image.new("RGB", SIZE, 0)
        draw, wdraw = ImageDraw.Draw(mask), ImageDraw.Draw(windows)
        x = -int(rng.uniform(0, 80))
        while x < WIDTH:
            w = int(rng.uniform(70, 190))
            top = base_y - int(rng.uniform(0.25, 1.0) * tallest)
            draw.rectangle((x, top, x + w, HEIGHT), fill=255)
            if rng.random() < 0.25:  # a stepped roof
                inset = int(w * rng.uniform(0.2, 0.35))
                draw.rectangle((x + inset, top - int(rng.uniform(15, 45)), x + w - inset, top), fill=255)
            if rng.random() < 0.15:  # an antenna
                ax = x + int(w * rng.uniform(0.3, 0.7))
                draw.line((ax, top, ax, top - int(rng.uniform(30, 70))), fill=255, width=3)
            # Mostly warm window light; each building has its own tint and occupancy.
            tint = np.array(palette.lights[0 if rng.random() < 0.6 else rng.integers(len(palette.lights))])
            occupancy = lit * rng.uniform(0.3, 1.6)
            size = 6 + 3 * row
            for wy in range(top + 12, HEIGHT - 20, size * 2 + 4):
                for wx in range(x + 8, x + w - size, size + 8):
                    if rng.random() < occupancy:
                        color = tuple(int(v) for v in tint * rng.uniform(0.45, 0.95))
                        wdraw.rectangle((wx, wy, wx + size, wy + int(size * 1.4)), fill=color)
            x += w + int(rng.uniform(-10, 25))
        image = Image.composite(_solid(building), image, mask)
        glow = _scaled(windows.filter(ImageFilter.GaussianBlur(3 + 2 * row)), 0.9)
        image = ImageChops.screen(image, _scaled(ImageChops.add(windows, glow), 0.55 + 0.45 * (1 - shade)))
    return image


def _bokeh(image: Image.Image, palette: Palette, rng: np.random.Generator) -> Image.Image:
    """Out-of-focus street lights below the window: soft discs with a brighter rim."""
    layer = Image.new("RGB", SIZE, 0)
    draw = ImageDraw.Draw(layer)
    for _ in range(42):
        r = rng.uniform(10, 46)
        x = rng.uniform(GLASS[0] - 40, GLASS[2] + 40)
        y = GLASS[3] - abs(rng.normal(0, 130))
        base = np.array(palette.lights[rng.integers(len(palette.lights))], dtype=np.float32)
        strength = rng.uniform(0.12, 0.4)
        fill = tuple(int(v * strength) for v in base)
        rim = tuple(int(v * min(1.0, strength * 1.5)) for v in base)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=rim, width=max(2, int(r / 9)))
    return ImageChops.screen(image, layer.filter(ImageFilter.GaussianBlur(5)))


def _rain(image: Image.Image, rng: np.random.Generator, amount: float) -> Image.Image:
    """Streaks of falling rain outside, and drops running down the glass."""
    streaks = Image.new("L", SIZE, 0)
    draw = ImageDraw.Draw(streaks)
    slant = rng.uniform(0.12, 0.25)
    for _ in range(int(1100 * amount)):
        x, y = rng.uniform(-200, WIDTH), rng.uniform(-100, HEIGHT)
        length = rng.uniform(30, 110)
        draw.line((x, y, x + slant * length, y + length), fill=int(rng.uniform(50, 150)), width=rng.choice((1, 1, 2)))
    streaks = streaks.filter(ImageFilter.GaussianBlur(0.8))
    image = ImageChops.screen(image, _tint(streaks, (0.45, 0.49, 0.57)))

    drops = Image.new("L", SIZE, 0)
    shade = Image.new("L", SIZE, 0)
    ddraw, sdraw = ImageDraw.Draw(drops), ImageDraw.Draw(shade)
    for _ in range(int(420 * amount)):
        x, y = rng.uniform(GLASS[0], GLASS[2]), rng.uniform(GLASS[1], GLASS[3])
        r = rng.uniform(2, 7)
        sdraw.ellipse((x - r, y - r, x + r, y + r * 1.3), fill=90)  # a drop darkens behind it
        ddraw.ellipse((x - r * 0.45, y - r * 0.6, x + r * 0.1, y - r * 0.1), fill=210)  # and catches light
        if rng.random() < 0.18:  # a trail where a drop ran down
            ddraw.line((x, y - rng.uniform(30, 140), x, y), fill=45, width=max(1, int(r / 2)))
    darker = shade.filter(ImageFilter.GaussianBlur(1.2)).point([255 - int(0.35 * v) for v in range(256)])
    image = ImageChops.multiply(image, Image.merge("RGB", [darker] * 3))
    return ImageChops.screen(image, _tint(drops.filter(ImageFilter.GaussianBlur(0.7)), (0.8, 0.8, 0.8)))


def _interior(image: Image.Image, palette: Palette, rng: np.random.Generator) -> Image.Image:
    """Window frame, wall, sill with a mug and a plant, lit by a warm lamp from the left."""
    mask = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(mask)
    draw.rectangle(GLASS, fill=0)
    draw.rectangle((MULLION_X - 14, GLASS[1], MULLION_X + 14, GLASS[3]), fill=255)
    draw.rectangle((GLASS[0], TRANSOM_Y - 10, GLASS[2], TRANSOM_Y + 10), fill=255)
    # Objects on the sill (silhouettes in front of the glass).
    mug_x = int(rng.uniform(1180, 1450))
    draw.rounded_rectangle((mug_x, 800, mug_x + 95, 905), radius=14, fill=255)
    draw.ellipse((mug_x + 78, 822, mug_x + 128, 878), outline=255, width=13)
    plant_x = int(rng.uniform(330, 560))
    draw.polygon([(plant_x, 905), (plant_x + 120, 905), (plant_x + 105, 820), (plant_x + 15, 820)], fill=255)
    for _ in range(11):  # leaves: lens shapes fanning out of the pot
        angle = rng.uniform(-2.7, -0.45)
        length, width = rng.uniform(70, 150), rng.uniform(26, 44)
        sx, sy = plant_x + 60 + rng.uniform(-15, 15), 825
        along = np.array([math.cos(angle), math.sin(angle)])
        across = np.array([-along[1], along[0]])
        t = np.linspace(0, 1, 12)
        bulge = np.sin(np.pi * t) * width / 2
        side_a = [(sx, sy) + along * length * ti + across * b for ti, b in zip(t, bulge, strict=True)]
        side_b = [(sx, sy) + along * length * ti - across * b for ti, b in zip(t, bulge, strict=True)]
        draw.polygon([tuple(p) for p in side_a + side_b[::-1]], fill=255)

    # Warm lamp light from the lower left, falling off with distance.
    lamp = _field(lambda x, y: np.exp(-(((x + 250) / 1100) ** 2 + ((y - 1150) / 700) ** 2)))
    warm = (1.0, 0.62, 0.32)
    wall = ImageChops.add(_solid(palette.frame), _tint(_scaled(lamp, 0.38), warm))
    image = Image.composite(wall, image, mask.filter(ImageFilter.GaussianBlur(1.5)))
    # The sill's front edge catches the lamp.
    ledge = Image.new("L", SIZE, 0)
    ImageDraw.Draw(ledge).rectangle((0, GLASS[3] + 14, WIDTH, GLASS[3] + 19), fill=150)
    image = ImageChops.screen(image, _tint(ImageChops.multiply(ledge, lamp), warm))
    # A thin rim of city light along the inner edges of the frame.
    edge = mask.filter(ImageFilter.FIND_EDGES).filter(ImageFilter.GaussianBlur(1.2))
    return ImageChops.screen(image, _tint(edge, tuple(0.35 * c / 255 for c in palette.glow)))


def _finish(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Soft bloom, vignette and film grain."""
    bloom = image.filter(ImageFilter.GaussianBlur(24)).point([int(max(0, v - 90) * 0.6) for v in range(256)] * 3)
    image = ImageChops.screen(image, bloom)
    vignette = _field(
        lambda x, y: 1
        - 0.45 * np.clip(((x - WIDTH / 2) / (WIDTH * 0.62)) ** 2 + ((y - HEIGHT / 2) / (HEIGHT * 0.62)) ** 2, 0, 1.6)
        ** 1.4
    )
    image = ImageChops.multiply(image, Image.merge("RGB", [vignette] * 3))
    noise = np.clip(rng.standard_normal((HEIGHT, WIDTH), dtype=np.float32) * 9 + 128, 0, 255).astype(np.uint8)
    grain = Image.fromarray(noise)
    return ImageChops.add(image, Image.merge("RGB", [grain] * 3), 1.0, -128)


def make_artwork(out_path: Path | str, *, preset: str = DEFAULT_PRESET, seed: int = 0) -> ArtworkResult:
    """Render the cover for `preset` and `seed` as a 1920x1080 PNG at `out_path`."""
    mood = get_preset(preset)
    seed = int(seed) & 0xFFFF_FFFF_FFFF_FFFF
    out = Path(out_path)
    with atomic_output(out) as tmp:  # first, so an unwritable target fails before the work
        rng = np.random.default_rng([seed, zlib.crc32(mood.name.encode())])  # each mood its own city
        image = _sky(mood.palette, rng, sunset=mood.name == "sunset")
        image = _skyline(image, mood.palette, rng)
        image = _bokeh(image, mood.palette, rng)
        image = _rain(image, rng, amount=max(0.35, mood.rain))
        image = _interior(image, mood.palette, rng)
        _finish(image, rng).save(tmp, format="PNG", compress_level=3)
    return ArtworkResult(out, WIDTH, HEIGHT, out.stat().st_size, seed, mood.name)
