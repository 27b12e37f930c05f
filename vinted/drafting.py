"""What an AI draft of a listing is made of, without touching the database's listing rows:

- `Catalogue`: the active catalogue as the model is shown it (leaf categories by path, brands,
  sizes per group, colours, conditions) and the JSON schema its answer must follow;
- `ask_model()`: a few downsized display copies -> the AI gateway (`monitoring.ai.vision_json`,
  request type `listing_draft`, structured output) -> the raw answer;
- `read_answer()`: that answer checked FIELD BY FIELD against the catalogue and the limits; a
  valid field is kept, an invalid one is rejected with a reason the seller can read;
- `dominant_colours()`: the honest offline fallback, colours from the pixels.

`vinted.services.drafts` applies a `Suggestion` to a listing (keeping the seller's edits).
"""

import io
import logging
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from monitoring import ai

from .choices import Condition
from .models import Brand, Category, Colour, Size

logger = logging.getLogger(__name__)

REQUEST_TYPE = "listing_draft"
# What ai_model says for a draft made without the AI (colours from the pixels only).
OFFLINE_MODEL = "offline"
# The fields a draft fills, in the order the page lists them ("price" stands for the AI's range too).
DRAFT_FIELDS = ("title", "description", "category", "brand", "size", "condition", "colours", "price", "hashtags")
FIELD_LABELS = {"title": "Title", "description": "Description", "category": "Category", "brand": "Brand",
                "size": "Size", "condition": "Condition", "colours": "Colours", "price": "Price",
                "hashtags": "Hashtags"}
NO_BRAND = "No brand"
PATH_SEPARATOR = " > "
# A few photos say enough; each is sent at most this wide or high (cost grows with pixels).
MAX_IMAGES = 4
IMAGE_EDGE = 768
MAX_TOKENS = 1200
# Structured outputs take at most a few hundred values in one enum: a longer list (a catalogue an
# admin grew) is asked as free text and checked against the catalogue all the same.
MAX_ENUM_VALUES = 250

_CENTS = Decimal("0.01")
_HASHTAG = re.compile(r"^[\w-]{1,40}$")


@dataclass
class Suggestion:
    """A checked answer: `values` holds model-ready values (catalogue rows, Decimals) per field,
    `rejected` the reason for each field that could not be used, `confidence` 0..1 per kept field."""

    values: dict = field(default_factory=dict)
    rejected: dict = field(default_factory=dict)
    confidence: dict = field(default_factory=dict)
    model: str = ""


# --- the catalogue as the model sees it ---------------------------------------------------------


def category_path(category) -> str:
    return category.path.replace(" › ", PATH_SEPARATOR)


class Catalogue:
    """The active catalogue, loaded once per draft (a handful of small queries)."""

    def __init__(self):
        categories = list(Category.objects.active().select_related("parent__parent__parent"))
        parents = {category.parent_id for category in categories}
        # Vinted lists items in leaf categories only.
        self.categories = {category_path(c): c for c in categories if c.pk not in parents}
        self.brands = {brand.name.casefold(): brand for brand in Brand.objects.active()}
        self.sizes: dict[str, list] = {}
        for size in Size.objects.active():
            self.sizes.setdefault(size.group, []).append(size)
        self.colours = {colour.name.casefold(): colour for colour in Colour.objects.active()}
        self.conditions = {label.casefold(): value for value, label in Condition.choices}

    def prompt(self, currency: str = "EUR") -> str:
        limits = (f"The title has at most {settings.VINTED_TITLE_MAX_CHARS} characters, the description at most "
                  f"{settings.VINTED_DESCRIPTION_MAX_CHARS}; give 0 to {settings.VINTED_HASHTAGS_MAX} hashtags "
                  f"(single words, no '#'); prices are in {currency}, at least {settings.VINTED_PRICE_MIN}.")
        categories = "\n".join(f"- {path}" + (f" (sizes: {c.size_group})" if c.size_group else "")
                               for path, c in sorted(self.categories.items()))
        sizes = "\n".join(f"- {group}: {', '.join(s.name for s in rows)}" for group, rows in sorted(self.sizes.items()))
        return (
            "You draft a second-hand clothing listing for Vinted from the seller's photos. Describe only what "
            "the photos show; never invent a brand, a size or a flaw you cannot see. Choose every value from the "
            "lists below; answer null for a brand or size you cannot read on a label, and 'No brand' only when "
            "the item visibly has none. Give a price range (min, target, max) a buyer on Vinted would pay for "
            "this item in this condition, and for every field your confidence from 0 to 1.\n"
            f"{limits}\n"
            "Vinted's rules: no contact details, no other marketplaces, no lists of brands the item is not.\n"
            f"Categories (answer the full path):\n{categories}\n"
            f"Sizes by group (pick from the group of the category):\n{sizes}\n"
            f"Brands: {', '.join(sorted(b.name for b in self.brands.values()))}, {NO_BRAND}\n"
            f"Colours (one or two): {', '.join(sorted(c.name for c in self.colours.values()))}\n"
            f"Conditions: {', '.join(label for _, label in Condition.choices)}"
        )

    def json_schema(self) -> dict:
        """Strict structured output: every property required, nothing extra; enums from the catalogue."""

        def nullable(values):
            if len(values) > MAX_ENUM_VALUES:  # past the API's enum limits; read_answer still checks the name
                return {"anyOf": [{"type": "string"}, {"type": "null"}]}
            return {"anyOf": [{"type": "string", "enum": sorted(values)}, {"type": "null"}]}

        size_names = {size.name for rows in self.sizes.values() for size in rows}
        number = {"type": "number"}
        confidence = {"type": "object", "additionalProperties": False, "required": list(DRAFT_FIELDS),
                      "properties": {name: number for name in DRAFT_FIELDS}}
        properties = {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "category": nullable(self.categories),
            "brand": nullable([b.name for b in self.brands.values()] + [NO_BRAND]),
            "size": nullable(size_names),
            "condition": nullable([label for _, label in Condition.choices]),
            "colours": {"type": "array", "items": {"type": "string", "enum": sorted(
                c.name for c in self.colours.values())}},
            "price": {"type": "object", "additionalProperties": False, "required": ["min", "target", "max"],
                      "properties": {"min": number, "target": number, "max": number}},
            "hashtags": {"type": "array", "items": {"type": "string"}},
            "confidence": confidence,
        }
        return {"name": "listing_draft", "strict": True, "schema": {
            "type": "object", "additionalProperties": False, "required": list(properties), "properties": properties}}


# --- asking the model ---------------------------------------------------------------------------


def model_images(photos) -> list[bytes]:
    """JPEG bytes of the first few photos' display copies, downsized (unreadable files are skipped)."""
    images = []
    for photo in photos:
        if len(images) >= MAX_IMAGES:
            break
        picture = _open(photo)
        if picture is None:
            continue
        picture.thumbnail((IMAGE_EDGE, IMAGE_EDGE))
        buffer = io.BytesIO()
        picture.convert("RGB").save(buffer, "JPEG", quality=82)
        images.append(buffer.getvalue())
    return images


def _open(photo):
    """The photo's display copy (else its original) as a loaded RGB image, or None."""
    for file in (photo.display, photo.original):
        if not file:
            continue
        try:
            with file.open("rb") as handle:
                picture = Image.open(handle)
                picture.draft("RGB", (IMAGE_EDGE, IMAGE_EDGE))  # JPEG: decode at a reduced scale
                return ImageOps.exif_transpose(picture).convert("RGB")
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError):
            logger.warning("Photo #%s: %s could not be read for the draft", photo.pk, file.name)
    return None


def ask_model(user, catalogue: Catalogue, images: list[bytes], *, currency: str = "EUR") -> tuple[dict, str]:
    """The model's raw answer and the model's name. Raises the gateway's AIError family.
    Call it outside a database transaction (the gateway's ledger row must survive a rollback)."""
    model = settings.OPENAI_VISION_MODEL
    answer = ai.vision_json(user=user, request_type=REQUEST_TYPE, prompt=catalogue.prompt(currency), images=images,
                            model=model, json_schema=catalogue.json_schema(), max_tokens=MAX_TOKENS)
    return answer, model


# --- checking the answer, field by field ------------------------------------------------------


class Rejected(ValueError):
    """This field's value cannot be used; the message says why."""


def read_answer(answer: dict, catalogue: Catalogue, *, size_category=None) -> Suggestion:
    """Check each field on its own: a bad one is rejected and named, the others are kept.
    Sizes must fit `size_category` when given (the seller's own category, which the draft keeps),
    else the answer's category; with neither, a size name must be unique in the catalogue."""
    suggestion = Suggestion()
    readers = {
        "title": lambda v: _text(v, settings.VINTED_TITLE_MAX_CHARS),
        "description": lambda v: _text(v, settings.VINTED_DESCRIPTION_MAX_CHARS),
        "category": lambda v: _category(v, catalogue),
        "brand": lambda v: _brand(v, catalogue),
        "condition": lambda v: _condition(v, catalogue),
        "colours": lambda v: _colours(v, catalogue),
        "price": _price,
        "hashtags": _hashtags,
    }
    for name, reader in readers.items():
        _read(suggestion, answer, name, reader)
    category = size_category or suggestion.values.get("category")
    _read(suggestion, answer, "size", lambda v: _size(v, catalogue, category))
    suggestion.rejected = {name: suggestion.rejected[name] for name in DRAFT_FIELDS if name in suggestion.rejected}
    confidences = answer.get("confidence")
    for name in suggestion.values:
        value = confidences.get(name) if isinstance(confidences, dict) else None
        if _is_number(value) and 0 <= value <= 1:
            suggestion.confidence[name] = round(float(value), 2)
    return suggestion


def _read(suggestion: Suggestion, answer: dict, name: str, reader) -> None:
    if name not in answer:
        suggestion.rejected[name] = "The AI answer has no value for it."
        return
    try:
        value = reader(answer[name])
    except Rejected as exc:
        suggestion.rejected[name] = str(exc)
        return
    if value is None:
        suggestion.rejected[name] = "The AI could not tell from the photos."
    else:
        suggestion.values[name] = value


def _text(value, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected(f"Not text: {_shown(value)}.")
    value = value.strip()
    if not value:
        return None
    if "\x00" in value:
        raise Rejected("Contains a NUL character.")
    if len(value) > limit:
        raise Rejected(f"{len(value)} characters; at most {limit} are allowed.")
    return value


def _choice(value, options: dict, what: str):
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected(f"Not a name: {_shown(value)}.")
    found = options.get(value.strip().casefold())
    if found is None:
        raise Rejected(f"'{_shown(value)}' is not a {what} in the catalogue.")
    return found


def _category(value, catalogue: Catalogue):
    if isinstance(value, str):
        value = value.replace("›", ">").replace(" > ", PATH_SEPARATOR)
    options = {path.casefold(): category for path, category in catalogue.categories.items()}
    return _choice(value, options, "category")


def _brand(value, catalogue: Catalogue):
    if isinstance(value, str) and value.strip().casefold() == NO_BRAND.casefold():
        return NO_BRAND
    return _choice(value, catalogue.brands, "brand")


def _condition(value, catalogue: Catalogue):
    return _choice(value, catalogue.conditions, "condition")


def _size(value, catalogue: Catalogue, category):
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected(f"Not a size: {_shown(value)}.")
    name = value.strip().casefold()
    if category is not None:
        if not category.size_group:
            raise Rejected(f"Items in {category_path(category)} have no size.")
        groups = [category.size_group]
    else:
        groups = list(catalogue.sizes)
    matches = [size for group in groups for size in catalogue.sizes.get(group, []) if size.name.casefold() == name]
    if not matches:
        where = f"the sizes of {category_path(category)}" if category is not None else "the catalogue"
        raise Rejected(f"'{_shown(value)}' is not one of {where}.")
    if len(matches) > 1:
        raise Rejected(f"'{_shown(value)}' fits several size groups; choose the category first.")
    return matches[0]


def _colours(value, catalogue: Catalogue):
    if not isinstance(value, list):
        raise Rejected(f"Not a list of colours: {_shown(value)}.")
    if not value:
        return None
    if len(value) > 2:
        raise Rejected(f"{len(value)} colours; Vinted takes one or two.")
    colours = [_choice(item, catalogue.colours, "colour") for item in value]
    if any(colour is None for colour in colours):
        raise Rejected("A colour is missing its name.")
    if len({colour.pk for colour in colours}) != len(colours):
        raise Rejected("The same colour twice.")
    return colours


def _price(value):
    if not isinstance(value, dict):
        raise Rejected(f"Not a price range: {_shown(value)}.")
    amounts = {}
    for key in ("min", "target", "max"):
        amount = value.get(key)
        if not _is_number(amount):
            raise Rejected(f"The {key} price is not a number: {_shown(amount)}.")
        try:
            amounts[key] = Decimal(str(amount)).quantize(_CENTS)
        except InvalidOperation:
            raise Rejected(f"The {key} price is not a usable amount: {_shown(amount)}.") from None
        if amounts[key] <= 0:
            raise Rejected(f"The {key} price is {amounts[key]}; a price must be above 0.")
        if amounts[key] >= Decimal("100000000"):
            raise Rejected(f"The {key} price is {amounts[key]}; that is not a second-hand price.")
    if not amounts["min"] <= amounts["target"] <= amounts["max"]:
        raise Rejected(f"The range is not in order (min {amounts['min']}, target {amounts['target']}, "
                       f"max {amounts['max']}).")
    minimum = Decimal(settings.VINTED_PRICE_MIN)
    if amounts["target"] < minimum:
        raise Rejected(f"The target {amounts['target']} is below Vinted's minimum of {minimum}.")
    return amounts


def _hashtags(value):
    if not isinstance(value, list):
        raise Rejected(f"Not a list of hashtags: {_shown(value)}.")
    limit = settings.VINTED_HASHTAGS_MAX
    if len(value) > limit:
        raise Rejected(f"{len(value)} hashtags; at most {limit} are allowed.")
    tags = []
    for item in value:
        tag = item.strip().lstrip("#") if isinstance(item, str) else None
        if tag is None or not _HASHTAG.match(tag):
            raise Rejected(f"'{_shown(item)}' is not one word of letters, digits, '-' or '_'.")
        if tag.casefold() not in {t.casefold() for t in tags}:
            tags.append(tag)
    return tags  # an empty list is a valid answer: no hashtags


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _shown(value) -> str:
    """A value as the seller may see it in a reason: short, one line."""
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"


# --- offline: colours from the pixels -------------------------------------------------------------

# Not a shade: never the nearest colour of a pixel.
_NOT_A_SHADE = {"multicolour", "multicolor"}
_SAMPLE_EDGE = 96
_BACKGROUND_DISTANCE = 12.0  # Lab units: "the same colour" as the border
_SECOND_COLOUR_SHARE = 0.25  # a second colour must cover this share of the item


def dominant_colours(photos, colours=None) -> list[tuple[object, float]]:
    """One or two catalogue colours with their share (0..1) of the item's pixels, from the first
    few photos. A near-uniform border is taken as the background and left out (unless it is
    nearly the whole picture, when the picture is the item)."""
    palette = [(colour, _lab(_hex_rgb(colour.hex))) for colour in (colours or Colour.objects.active())
               if colour.name.casefold() not in _NOT_A_SHADE and _hex_rgb(colour.hex) is not None]
    if not palette:
        return []
    weights: dict[int, float] = {}
    rows = {}
    read = 0
    for photo in photos:
        if read >= MAX_IMAGES:
            break
        picture = _open(photo)
        if picture is None:
            continue
        read += 1
        for rgb, share in _item_pixels(picture):
            colour = min(palette, key=lambda entry: _distance(entry[1], _lab(rgb)))[0]
            weights[colour.pk] = weights.get(colour.pk, 0.0) + share
            rows[colour.pk] = colour
    if not weights:
        return []
    total = sum(weights.values())
    ranked = sorted(((rows[pk], weight / total) for pk, weight in weights.items()), key=lambda item: -item[1])
    chosen = ranked[:1] + [item for item in ranked[1:2] if item[1] >= _SECOND_COLOUR_SHARE]
    return [(colour, round(share, 2)) for colour, share in chosen]


def _item_pixels(picture) -> list[tuple[tuple[int, int, int], float]]:
    """(colour, share) of the picture's main colours, the background border left out."""
    sample = picture.copy()
    sample.thumbnail((_SAMPLE_EDGE, _SAMPLE_EDGE))
    width, height = sample.size
    pixels = list(sample.get_flattened_data())
    border = max(1, min(width, height) // 12)
    edge = [pixels[y * width + x] for y in range(height) for x in range(width)
            if x < border or y < border or x >= width - border or y >= height - border]
    background = _lab(tuple(sorted(channel)[len(channel) // 2] for channel in zip(*edge, strict=True)))
    uniform = sum(_distance(_lab(p), background) <= _BACKGROUND_DISTANCE for p in edge) >= 0.8 * len(edge)
    item = pixels
    if uniform:
        foreground = [p for p in pixels if _distance(_lab(p), background) > _BACKGROUND_DISTANCE]
        if len(foreground) >= 0.05 * len(pixels):
            item = foreground
    strip = Image.new("RGB", (len(item), 1))
    strip.putdata(item)
    quantized = strip.quantize(colors=5, method=Image.Quantize.MEDIANCUT)
    flat = quantized.getpalette()[:15]
    counts = quantized.getcolors() or []
    return [(tuple(flat[index * 3:index * 3 + 3]), count / len(item)) for count, index in counts
            if index * 3 + 2 < len(flat)]


def _hex_rgb(value: str):
    match = re.fullmatch(r"#?([0-9a-fA-F]{6})", (value or "").strip())
    if not match:
        return None
    number = int(match.group(1), 16)
    return number >> 16, (number >> 8) & 255, number & 255


def _lab(rgb) -> tuple[float, float, float]:
    """sRGB (0-255) to CIE Lab (D65): distances there follow what people see as "the same colour"."""

    def linear(channel):
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def _distance(a, b) -> float:
    return math.dist(a, b)
