"""The "ready" validator of a listing, and the limits every save respects.

Two levels, because a draft may be saved with any subset of its fields:

- `check_limits(values)`: what no saved listing may break, whatever its status (a title over
  VINTED_TITLE_MAX_CHARS, a description over VINTED_DESCRIPTION_MAX_CHARS, a price under
  VINTED_PRICE_MIN, more than VINTED_HASHTAGS_MAX hashtags or one with a space, more than two
  colours, a size of another size group than the category's). Missing values are fine here.
- `check_ready(listing)`: everything "ready" demands: the limits, the required fields (title,
  description, category, brand or "no brand", a size where the category needs one, condition,
  price, 1 to VINTED_PHOTOS_MAX ready photos, one or two colours), and the active forbidden
  phrases (ForbiddenPhrase) in the title, description and hashtags. A price far from the AI's
  range (under half its minimum or over twice its maximum) is a warning, never a block.

Both answer a `Report`: per field, the errors and the warnings, in words a seller understands.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError

from .choices import PhotoStatus
from .models import ForbiddenPhrase

MAX_COLOURS = 2
# Below half the AI's minimum or above twice its maximum: worth a second look (a warning).
PRICE_WARNING_LOW = Decimal("0.5")
PRICE_WARNING_HIGH = Decimal("2")
# Texts searched for forbidden phrases (hashtags are joined into one text).
PHRASE_FIELDS = ("title", "description", "hashtags")


@dataclass
class Report:
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, name, message):
        self.errors.setdefault(name, []).append(message)

    def warn(self, name, message):
        self.warnings.setdefault(name, []).append(message)

    def extend(self, other: "Report"):
        for name, messages in other.errors.items():
            for message in messages:
                if message not in self.errors.get(name, []):
                    self.error(name, message)
        for name, messages in other.warnings.items():
            for message in messages:
                self.warn(name, message)

    def as_validation_error(self) -> ValidationError:
        return ValidationError({name: list(messages) for name, messages in self.errors.items()})


def price_minimum() -> Decimal:
    return Decimal(str(settings.VINTED_PRICE_MIN))


def normalise_hashtags(value) -> list[str]:
    """Hashtags from a list or a text ("#denim, vintage 90s"): without '#', lower case, no repeats.
    A tag that is not one word is kept as typed so that check_limits can name it."""
    if value is None:
        return []
    if isinstance(value, str):
        items = re.split(r"[,\s]+", value)
    elif isinstance(value, (list, tuple)):
        items = [str(item) for item in value]
    else:
        raise ValidationError({"hashtags": ["Give the hashtags as a list of words."]})
    tags = []
    for item in items:
        tag = item.strip().lstrip("#").strip().lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _money(value):
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def check_limits(values: dict) -> Report:
    """The limits for the fields present in `values` (a listing's field values; `colours` a list)."""
    report = Report()
    title = values.get("title") or ""
    if len(title) > settings.VINTED_TITLE_MAX_CHARS:
        report.error("title", f"At most {settings.VINTED_TITLE_MAX_CHARS} characters (this one has {len(title)}).")
    description = values.get("description") or ""
    if len(description) > settings.VINTED_DESCRIPTION_MAX_CHARS:
        report.error("description", f"At most {settings.VINTED_DESCRIPTION_MAX_CHARS} characters "
                                    f"(this one has {len(description)}).")
    price = _money(values.get("price"))
    if price is not None and price < price_minimum():
        report.error("price", f"Vinted's lowest price is {price_minimum()}.")
    hashtags = values.get("hashtags") or []
    if len(hashtags) > settings.VINTED_HASHTAGS_MAX:
        report.error("hashtags", f"At most {settings.VINTED_HASHTAGS_MAX} hashtags (there are {len(hashtags)}).")
    for tag in hashtags:
        if not re.fullmatch(r"\w+", tag):
            report.error("hashtags", f"“{tag}” is not one word: a hashtag has letters, digits or _ only.")
    colours = values.get("colours")
    if colours is not None and len(colours) > MAX_COLOURS:
        report.error("colours", f"Choose at most {MAX_COLOURS} colours.")
    category, size = values.get("category"), values.get("size")
    if size is not None and category is not None:
        if not category.needs_size:
            report.error("size", f"Items in {category.name} have no size; leave the size empty.")
        elif size.group != category.size_group:
            report.error("size", f"{size.name} is not a size for {category.name}; choose one of its sizes.")
    if values.get("brand") is not None and values.get("no_brand"):
        report.error("brand", "Choose a brand or tick “no brand”, not both.")
    return report


def phrase_match(phrase: ForbiddenPhrase, text: str) -> str | None:
    """The text a forbidden phrase found (phrase: whole words, any case; regex: re.search), or None."""
    if phrase.kind == ForbiddenPhrase.Kind.REGEX:
        try:
            found = re.search(phrase.pattern, text, re.IGNORECASE)
        except re.error:
            return None  # a broken pattern in the admin blocks no seller (the admin form refuses one)
    else:
        words = r"\s+".join(re.escape(word) for word in phrase.pattern.split())
        found = re.search(rf"(?<!\w){words}(?!\w)", text, re.IGNORECASE) if words else None
    return found.group(0) if found else None


def check_phrases(texts: dict[str, str], phrases=None) -> Report:
    """Forbidden phrases (active rows) in each text, with the rule's reason."""
    report = Report()
    phrases = list(ForbiddenPhrase.objects.filter(is_active=True)) if phrases is None else phrases
    for name, text in texts.items():
        for phrase in phrases:
            found = phrase_match(phrase, text) if text else None
            if found:
                report.error(name, f"{phrase.reason.rstrip('.')}: “{found.strip()}”.")
    return report


def listing_values(listing) -> dict:
    """A saved listing's field values as check_limits reads them (colours from the prefetch if any)."""
    return {
        "title": listing.title, "description": listing.description, "price": listing.price,
        "hashtags": listing.hashtags or [], "colours": list(listing.colours.all()),
        "category": listing.category, "size": listing.size, "brand": listing.brand, "no_brand": listing.no_brand,
    }


def ready_photo_count(listing) -> int:
    return sum(1 for photo in listing.photos.all() if photo.status == PhotoStatus.READY)


def check_ready(listing, phrases=None) -> Report:
    """Everything "ready" demands of a saved listing (errors), and the price warning."""
    values = listing_values(listing)
    report = check_limits(values)
    required = {"title": "Give the item a title.", "description": "Describe the item.",
                "category": "Choose a category.", "condition": "Choose the item's condition.",
                "price": "Set a price."}
    for name, message in required.items():
        if getattr(listing, name) in (None, ""):
            report.error(name, message)
    if listing.brand is None and not listing.no_brand:
        report.error("brand", "Choose a brand, or tick “no brand”.")
    if listing.category is not None and listing.category.needs_size and listing.size is None:
        report.error("size", f"Items in {listing.category.name} need a size.")
    if not values["colours"]:
        report.error("colours", "Choose one or two colours.")
    photos = ready_photo_count(listing)
    if photos < settings.VINTED_PHOTOS_MIN:
        report.error("photos", f"Add at least {settings.VINTED_PHOTOS_MIN} photo"
                               f"{'s' if settings.VINTED_PHOTOS_MIN != 1 else ''}.")
    elif photos > settings.VINTED_PHOTOS_MAX:
        report.error("photos", f"At most {settings.VINTED_PHOTOS_MAX} photos (there are {photos}).")
    report.extend(check_phrases({"title": listing.title, "description": listing.description,
                                 "hashtags": " ".join(listing.hashtags or [])}, phrases))
    price = listing.price
    if price is not None:
        if listing.ai_price_min is not None and price < listing.ai_price_min * PRICE_WARNING_LOW:
            report.warn("price", f"Far below the suggested range ({listing.ai_price_min}–"
                                 f"{listing.ai_price_max or listing.ai_price_min}): is {price} on purpose?")
        elif listing.ai_price_max is not None and price > listing.ai_price_max * PRICE_WARNING_HIGH:
            report.warn("price", f"Far above the suggested range ({listing.ai_price_min or listing.ai_price_max}–"
                                 f"{listing.ai_price_max}): is {price} on purpose?")
    return report
