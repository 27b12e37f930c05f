"""Photo pages (thin): a listing's photos panel and page, the plain multi-file upload form (the
page's script uploads through the API instead, one file per request with progress), order, cover,
delete, the stored files, and the bulk upload with its grouping into items.

Access is the base views' (accounts.mixins): a listing, photo or bulk upload the user cannot see
is a 404; one they see but may not change is a 403. The services repeat the rule for API callers.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import DetailView

from accounts.mixins import ObjectActionView, ObjectListView, ObjectPermissionMixin
from accounts.roles import Action
from lofisite.media import serve_media_file
from lofisite.validation import error_text

from ..models import DraftBatch, Listing, Photo
from ..photos import ACCEPTED_TEXT
from ..services import bulk as bulk_services
from ..services import photos as photo_services

FILE_KINDS = ("original", "display", "thumbnail")


def _next_url(request, fallback: str) -> str:
    """Where a form goes back to: its `next` field when it is on this site, else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


def _report(request, results) -> None:
    """One message for what was added, one per refused file (named as the seller named it)."""
    added = sum(result.ok for result in results)
    if added:
        messages.success(request, f"{added} photo{'' if added == 1 else 's'} added.")
    for result in results:
        if not result.ok:
            messages.error(request, f"{result.name}: {result.error}")


def photos_url(photo_or_target) -> str:
    """The page that shows a photo (its listing's photos, or its bulk upload)."""
    obj = photo_or_target
    if isinstance(obj, Photo):
        obj = obj.listing if obj.listing_id is not None else obj.batch
    if isinstance(obj, Listing):
        return reverse("vinted:listing-photos", args=[obj.pk])
    return reverse("vinted:bulk-detail", args=[obj.pk])


class ListingPhotosView(ObjectPermissionMixin, DetailView):
    """A listing's photos on a page of their own (the listing page includes the same panel);
    `?panel=1` (the script, after an upload) answers only the panel."""

    queryset = Listing.objects.all()
    context_object_name = "listing"

    def get_template_names(self):
        if self.request.GET.get("panel"):
            return ["vinted/_photos.html"]
        return ["vinted/listing_photos.html"]

    def get_context_data(self, **kwargs):
        # The panel's buttons go back to the page that shows it (the script sends it as `next`).
        if self.request.GET.get("panel"):
            kwargs["next_url"] = _next_url(self.request, self.request.path)
        return super().get_context_data(**kwargs)


class PhotoUploadView(ObjectPermissionMixin, View):
    """The plain form (no script needed): several files at once, a message per refused file."""

    queryset = Listing.objects.all()
    http_method_names = ["post"]
    permission_action = Action.CHANGE

    def post(self, request, *args, **kwargs):
        listing = self.get_object()
        files = request.FILES.getlist("files")
        if not files:
            messages.error(request, f"Choose one or more photos ({ACCEPTED_TEXT}).")
        else:
            try:
                _report(request, photo_services.add_photos(request.user, files, listing=listing))
            except ValidationError as exc:
                messages.error(request, error_text(exc, name_fields=False))
        return redirect(_next_url(request, photos_url(listing)))


class PhotoActionView(ObjectActionView):
    queryset = Photo.objects.select_related("listing", "batch")

    def get_success_url(self, photo):
        return _next_url(self.request, photos_url(photo))


class PhotoMoveView(PhotoActionView):
    def act(self, photo, user):
        offset = -1 if self.kwargs["direction"] == "earlier" else 1
        photo = photo_services.move_photo(user, photo, offset)
        return f"Photo moved to place {photo.position + 1}."


class PhotoCoverView(PhotoActionView):
    def act(self, photo, user):
        photo_services.set_cover(user, photo)
        return "This photo is now the cover."


class PhotoDeleteView(PhotoActionView):
    permission_action = Action.DELETE

    def get_success_url(self, photo):
        return _next_url(self.request, photos_url(self.target))

    def act(self, photo, user):
        self.target = photo.listing if photo.listing_id is not None else photo.batch
        photo_services.delete_photo(user, photo)
        return "Photo deleted."


class PhotoFileView(ObjectPermissionMixin, View):
    """A stored file of a photo, for whoever may see the photo (the rule, not the URL, decides)."""

    queryset = Photo.objects.all()
    http_method_names = ["get", "head"]

    def get(self, request, *args, **kwargs):
        photo = self.get_object()
        kind = self.kwargs["kind"]
        return serve_media_file(request, getattr(photo, kind), f"photo-{photo.pk}-{kind}")


# --- bulk upload ---------------------------------------------------------------------------------------
class BulkListView(ObjectListView):
    """The user's bulk uploads (viewers read everyone's); a POST starts a new one."""

    queryset = DraftBatch.objects.select_related("owner").annotate(
        photo_count=Count("photos", distinct=True), item_count=Count("listings", distinct=True),
    ).order_by("-created_at", "-id")
    template_name = "vinted/bulk_list.html"
    context_object_name = "batches"
    http_method_names = ["get", "post"]

    def post(self, request, *args, **kwargs):
        batch = bulk_services.start_bulk_upload(request.user)
        return redirect("vinted:bulk-detail", batch.pk)


class BulkDetailView(ObjectPermissionMixin, DetailView):
    """One bulk upload: add photos, group them into items, then draft the items (vinted/_batch_draft.html)."""

    queryset = DraftBatch.objects.select_related("owner")
    template_name = "vinted/bulk_detail.html"
    context_object_name = "batch"

    def get_template_names(self):
        if self.request.GET.get("panel"):
            return ["vinted/_bulk_ungrouped.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        batch = self.object
        ungrouped = list(bulk_services.ungrouped_photos(batch))
        return super().get_context_data(
            ungrouped=ungrouped, listings=bulk_services.grouped_listings(batch),
            group_choices=range(1, max(len(ungrouped), 1) + 1), **kwargs)


class BulkUploadView(ObjectPermissionMixin, View):
    queryset = DraftBatch.objects.all()
    http_method_names = ["post"]
    permission_action = Action.CHANGE

    def post(self, request, *args, **kwargs):
        batch = self.get_object()
        files = request.FILES.getlist("files")
        if not files:
            messages.error(request, f"Choose one or more photos ({ACCEPTED_TEXT}).")
        else:
            _report(request, photo_services.add_photos(request.user, files, batch=batch))
        return redirect("vinted:bulk-detail", batch.pk)


class BulkGroupView(ObjectPermissionMixin, View):
    """Group the ungrouped photos: `mode=every` with `every` = N, or `mode=manual` with a
    `group_<photo id>` = item number per photo (the page's selects; its script sets them by drag)."""

    queryset = DraftBatch.objects.all()
    http_method_names = ["post"]
    permission_action = Action.CHANGE

    def post(self, request, *args, **kwargs):
        batch = self.get_object()
        try:
            if request.POST.get("mode") == "every":
                listings = bulk_services.group_every(request.user, batch, _int(request.POST.get("every"), "every"))
            else:
                listings = bulk_services.group_photos(request.user, batch, self._manual_groups(batch))
        except ValidationError as exc:
            messages.error(request, error_text(exc, name_fields=False))
        else:
            messages.success(request, f"{len(listings)} item{'' if len(listings) == 1 else 's'} made: each is a "
                                      "draft listing with its photos.")
        return redirect("vinted:bulk-detail", batch.pk)

    def _manual_groups(self, batch):
        groups: dict[int, list[int]] = {}
        for photo in bulk_services.ungrouped_photos(batch):
            value = self.request.POST.get(f"group_{photo.pk}", "")
            if value:
                groups.setdefault(_int(value, "groups"), []).append(photo.pk)
        return [groups[number] for number in sorted(groups)]


def _int(value, field) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: "Enter a whole number."}) from None

