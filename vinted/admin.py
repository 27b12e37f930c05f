"""Admin pages of the Vinted desk (admins only, see accounts.admin_site).

The catalogue tables and the forbidden phrases are edited here (a regex must compile). Listings'
content and inventory may be corrected here within the same limits as the listing form
(vinted.validation.check_limits); their status, owner, AI suggestion and Vinted ids move only
through the desk's services. Photos and draft batches are read-only (photos are typed, oriented and
stripped of metadata on upload; their files are links, never replaced here).
"""

import re

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from . import validation
from .models import Brand, Category, Colour, DraftBatch, ForbiddenPhrase, Listing, Photo, Size


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ListingAdminForm(forms.ModelForm):
    # No Meta: ModelAdmin builds the form's fields (modelform_factory).
    def clean(self):
        data = super().clean()
        values = {name: data.get(name) for name in ("title", "description", "price", "category", "size", "brand",
                                                      "no_brand")}
        values["hashtags"] = validation.normalise_hashtags(data.get("hashtags"))
        values["colours"] = list(data.get("colours") or [])
        data["hashtags"] = values["hashtags"]
        report = validation.check_limits(values)
        for name, messages in report.errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        return data


class PhotoInline(ReadOnlyMixin, admin.TabularInline):
    model = Photo
    fk_name = "listing"
    fields = ("position", "status", "thumbnail_link", "width", "height", "content_type", "size_bytes", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    @admin.display(description="thumbnail")
    def thumbnail_link(self, photo):
        return format_html('<a href="{}">{}</a>', photo.thumbnail.url, "open") if photo.thumbnail else "–"


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    form = ListingAdminForm
    list_display = ("id", "title", "status", "owner", "category", "brand", "price", "currency", "sku",
                    "created_at", "sold_at")
    list_filter = ("status", "currency", "condition", "category")
    search_fields = ("title", "description", "sku", "owner__username")
    date_hierarchy = "created_at"
    list_select_related = ("owner", "category", "category__parent", "category__parent__parent", "brand")
    autocomplete_fields = ("category", "brand", "size")
    filter_horizontal = ("colours",)
    readonly_fields = ("owner", "status", "ai_price_min", "ai_price_target", "ai_price_max", "ai_confidence",
                       "ai_model", "ai_drafted_at", "ai_rejected", "edited_fields", "batch", "vinted_item_id",
                       "vinted_url", "created_at", "updated_at", "ready_at", "listed_at", "sold_at")
    inlines = [PhotoInline]

    def has_add_permission(self, request):
        return False  # created on the desk, which sets the owner and records the seller's edits


@admin.register(Photo)
class PhotoAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "listing", "owner", "position", "status", "width", "height", "size_bytes", "created_at")
    list_filter = ("status", "content_type")
    list_select_related = ("listing", "owner")
    fields = ("owner", "listing", "batch", "position", "status", "error", "original", "display", "thumbnail",
              "content_type", "width", "height", "size_bytes", "sha256", "created_at")
    readonly_fields = fields


@admin.register(DraftBatch)
class DraftBatchAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "owner", "status", "total", "done", "failed", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("owner",)
    readonly_fields = ("owner", "status", "total", "done", "failed", "results", "error", "created_at",
                       "finished_at")


class CatalogueAdmin(admin.ModelAdmin):
    list_display = ("name", "vinted_id", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "=vinted_id")


@admin.register(Category)
class CategoryAdmin(CatalogueAdmin):
    list_display = ("name", "vinted_id", "parent", "size_group", "is_active")
    list_filter = ("is_active", "size_group")
    list_select_related = ("parent", "parent__parent")
    autocomplete_fields = ("parent",)


@admin.register(Brand)
class BrandAdmin(CatalogueAdmin):
    pass


@admin.register(Size)
class SizeAdmin(CatalogueAdmin):
    list_display = ("name", "group", "order", "vinted_id", "is_active")
    list_filter = ("is_active", "group")


@admin.register(Colour)
class ColourAdmin(CatalogueAdmin):
    list_display = ("name", "hex", "vinted_id", "is_active")


class ForbiddenPhraseForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        if data.get("kind") == ForbiddenPhrase.Kind.REGEX and data.get("pattern"):
            try:
                re.compile(data["pattern"])
            except re.error as exc:
                self.add_error("pattern", f"Not a valid regular expression: {exc}.")
        return data


@admin.register(ForbiddenPhrase)
class ForbiddenPhraseAdmin(admin.ModelAdmin):
    form = ForbiddenPhraseForm
    list_display = ("pattern", "kind", "reason", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("pattern", "reason")


# --- Vinted accounts and their risk ledger --------------------------------------------------------
# The session cookies and the user agent are secrets: they are not fields of these pages at all, not
# even read-only (sessions are imported on the account's page). Status and dry run change through
# vinted.services.accounts (the account page), so these pages only show (and an admin may delete).
# (Imported here, not at the top, so that each part of the desk appends its own block.)
from .models import VintedAccount, VintedCall  # noqa: E402


@admin.register(VintedAccount)
class VintedAccountAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("label", "domain", "owner", "status", "dry_run", "vinted_login", "last_checked_at", "created_at")
    list_filter = ("status", "dry_run", "domain")
    search_fields = ("label", "vinted_login", "owner__username")
    list_select_related = ("owner",)
    fields = ("owner", "label", "domain", "status", "status_message", "cooling_until", "dry_run", "has_session",
              "vinted_user_id", "vinted_login", "session_imported_at", "last_checked_at", "last_inbox_sync_at",
              "created_at", "updated_at")
    readonly_fields = fields
    exclude = ("cookies", "user_agent")

    @admin.display(boolean=True, description="session imported")
    def has_session(self, account):
        return account.has_session


@admin.register(VintedCall)
class VintedCallAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "account", "kind", "action", "what", "status_code", "outcome", "duration_ms")
    list_filter = ("kind", "outcome", "action")
    search_fields = ("what", "message", "account__label")
    list_select_related = ("account",)
    date_hierarchy = "at"
    fields = ("account", "at", "kind", "action", "what", "status_code", "outcome", "duration_ms", "message")
    readonly_fields = fields
