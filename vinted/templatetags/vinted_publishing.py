"""What the publishing pages show, loaded by the templates themselves (the listing page that
includes the panel belongs to another part of the desk and passes only `listing`):

    {% load vinted_publishing %}{% publishing_panel listing %}
    {% publication_values publication.snapshot.values as rows %}
    {% publication_difference publication.difference as rows %}

Vinted's ids are shown with the catalogue's names (Category/Brand/Size/Colour by `vinted_id`,
the Condition and PackageSize choices) so the seller can tell what was filled.
"""

from dataclasses import dataclass

from django import template

from accounts.roles import Action

from ..choices import Condition, ListingStatus, PackageSize, PublicationStatus
from ..forms_publishing import PrepareForm
from ..models import Brand, Category, Colour, Listing, Publication, Size, VintedAccount
from ..services import publishing as services

register = template.Library()

# One colour per status across the product (static/css/app.css .badge-*): on its way blue, waiting for
# the seller amber, done green, failed red, replaced muted.
_BADGE = {
    PublicationStatus.PREPARING: "running",
    PublicationStatus.PUBLISHING: "running",
    PublicationStatus.PREPARED: "warning",
    PublicationStatus.DRY_RUN: "warning",
    PublicationStatus.PUBLISHED: "succeeded",
    PublicationStatus.FAILED: "failed",
    PublicationStatus.SUPERSEDED: "cancelled",
}

# The order and labels of the values prepare fills in Vinted's form.
VALUE_LABELS = {
    "title": "Title",
    "description": "Description",
    "catalog_id": "Category",
    "brand_id": "Brand",
    "size_id": "Size",
    "status_id": "Condition",
    "color_ids": "Colours",
    "price": "Price",
    "package_size_id": "Package size",
    "photos": "Photos",  # only in a read-back difference: the photos' hashes, in order
}
# Keys whose value is one of Vinted's ids (shown as "name" with "Vinted id N" beside it).
_ID_KEYS = {"catalog_id", "brand_id", "size_id", "status_id", "color_ids", "package_size_id"}

# Statuses of a listing from which a new prepare may be asked (the service has the last word).
PREPARABLE_LISTING_STATUSES = frozenset({ListingStatus.READY, ListingStatus.PREPARED, ListingStatus.FAILED})
ACTIVE_STATUSES = frozenset({PublicationStatus.PREPARING, PublicationStatus.PUBLISHING})


@register.filter
def publication_badge(status):
    return f"badge badge-{_BADGE.get(str(status), 'queued')}"


def _user(context):
    return context.get("user") or context["request"].user


@dataclass
class ValueRow:
    key: str
    label: str
    text: str  # what a person reads: the catalogue's name, or the value itself
    ids: str  # Vinted's id(s) behind it, "" for plain text


def _as_ids(value) -> list[str]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    return [str(item) for item in items if str(item) != ""]


class _Names:
    """Looks up the catalogue names of every id in a set of values with one query per table."""

    def __init__(self, *value_dicts):
        wanted = {"catalog_id": set(), "brand_id": set(), "size_id": set(), "color_ids": set()}
        for values in value_dicts:
            for key, ids in wanted.items():
                ids.update(int(i) for i in _as_ids((values or {}).get(key)) if i.isdigit())
        self.names = {
            "catalog_id": {c.vinted_id: c.path for c in Category.objects.filter(vinted_id__in=wanted["catalog_id"])
                           .select_related("parent__parent")},
            "brand_id": dict(Brand.objects.filter(vinted_id__in=wanted["brand_id"]).values_list("vinted_id", "name")),
            "size_id": dict(Size.objects.filter(vinted_id__in=wanted["size_id"]).values_list("vinted_id", "name")),
            "color_ids": dict(Colour.objects.filter(vinted_id__in=wanted["color_ids"])
                              .values_list("vinted_id", "name")),
            "status_id": {value: label for value, label in Condition.choices},
            "package_size_id": {value: label for value, label in PackageSize.choices},
        }

    def text(self, key, value, currency="") -> tuple[str, str]:
        if key == "photos":
            hashes = [str(item) for item in value or []]
            return (f"{len(hashes)} photo{'' if len(hashes) == 1 else 's'}"
                    + (": " + ", ".join(h[:10] for h in hashes) if hashes else "")), ""
        if key not in _ID_KEYS:
            if key == "price" and value not in (None, ""):
                return f"{value} {currency}".strip(), ""
            return ("" if value is None else str(value)), ""
        ids = _as_ids(value)
        if not ids:
            return {"brand_id": "No brand", "size_id": "No size", "color_ids": "None"}.get(key, "–"), ""
        table = self.names[key]
        names = [table.get(int(i), f"unknown id {i}") if i.isdigit() else f"unknown id {i}" for i in ids]
        return ", ".join(names), ", ".join(ids)


def value_rows(values, currency="") -> list[ValueRow]:
    values = values or {}
    names = _Names(values)
    keys = list(VALUE_LABELS) + [key for key in values if key not in VALUE_LABELS]
    return [ValueRow(key, VALUE_LABELS.get(key, key), *names.text(key, values.get(key), currency))
            for key in keys if key in values]


@register.simple_tag
def publication_values(values, currency=""):
    """The rows of the values table: label, name, Vinted's id(s)."""
    return value_rows(values, currency)


@register.simple_tag
def publication_difference(difference, currency=""):
    """The rows of the read-back difference: what was expected, what Vinted's form held instead."""
    difference = difference or {}
    expected = {key: (change or {}).get("expected") for key, change in difference.items()}
    found = {key: (change or {}).get("found") for key, change in difference.items()}
    names = _Names(expected, found)
    rows = []
    for key in sorted(difference, key=lambda k: list(VALUE_LABELS).index(k) if k in VALUE_LABELS else 99):
        rows.append({
            "label": VALUE_LABELS.get(key, key),
            "expected": names.text(key, expected[key], currency),
            "found": names.text(key, found[key], currency),
        })
    return rows


def prepare_accounts(user, listing):
    """The accounts this user may prepare `listing` on: its owner's, those the user may change."""
    return VintedAccount.objects.restrict(user, Action.CHANGE).filter(owner_id=listing.owner_id)


def can_prepare(user, listing, publication=None) -> bool:
    """Whether to offer "Prepare on Vinted" (the service repeats every check)."""
    busy = publication is not None and publication.status in ACTIVE_STATUSES
    return (not busy and listing.status in PREPARABLE_LISTING_STATUSES and not listing.vinted_item_id
            and Listing.objects.permits(user, listing, Action.CHANGE))


@register.inclusion_tag("vinted/publishing/_panel_body.html", takes_context=True)
def publishing_panel(context, listing):
    user = _user(context)
    current = services.current_publication(listing)
    if current is not None and not Publication.objects.permits(user, current):
        current = None
    can_change = Listing.objects.permits(user, listing, Action.CHANGE)
    offer_prepare = can_prepare(user, listing, current)
    form = context.get("prepare_form")
    if form is None and offer_prepare:
        accounts = prepare_accounts(user, listing)
        form = PrepareForm(accounts=accounts, initial={"account": listing.account_id or
                                                       (current.account_id if current else None)})
    return {
        "listing": listing,
        "publication": current,
        "can_change": can_change,
        "can_prepare": offer_prepare,
        "prepare_form": form,
        "has_accounts": form is not None and form.fields["account"].queryset.exists(),
        "is_own": listing.owner_id == user.pk,
        "csrf_token": context.get("csrf_token"),
        "show": can_change or current is not None,
    }
