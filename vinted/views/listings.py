"""Listing pages: the board (counts, filters, search, sorting, bulk actions), new, page, edit, and
the one-click actions (mark ready, archive, unarchive, mark sold, delete). Thin: every change is a
call to vinted.services.listings; access is the listing queryset's rule (accounts.mixins)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView, FormView

from accounts.mixins import ObjectActionView, ObjectListView, ObjectPermissionMixin, RestrictedViewMixin
from accounts.roles import Action
from lofisite.page_mixins import FormStatusMixin, SectionTabMixin
from lofisite.validation import error_text

from .. import validation
from ..choices import EDITABLE_STATUSES, ListingStatus
from ..filtersets import ListingFilterSet
from ..forms import BulkActionForm, ListingForm, MarkSoldForm, apply_service_errors
from ..models import Listing, Photo
from ..services import listings as services


class VintedPageMixin(SectionTabMixin):
    """`tab` marks the section in the Vinted sub-navigation (templates/vinted/_subnav.html)."""

    tab = "listings"


def photo_count():
    """Photos per listing as a correlated subquery: computed for the page's rows only (a JOIN with
    GROUP BY would count the photos of every listing before the page is cut)."""
    photos = Photo.objects.filter(listing=OuterRef("pk")).order_by().values("listing").annotate(n=Count("pk"))
    return Coalesce(Subquery(photos.values("n")), 0)


BOARD_QUERYSET = (Listing.objects.select_related("owner", "category", "brand", "size")
                  .annotate(photo_count=photo_count()).order_by("-created_at", "-id"))


class ListingListView(VintedPageMixin, ObjectListView):
    queryset = BOARD_QUERYSET
    filterset_class = ListingFilterSet
    template_name = "vinted/listing_list.html"
    context_object_name = "listings"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        user = self.request.user
        visible = Listing.objects.restrict(user)
        context = super().get_context_data(counts=services.status_counts(visible), bulk_form=BulkActionForm(),
                                           shows_owner=visible.exclude(owner=user).exists(), **kwargs)
        # Only this page's rows: the board pages through thousands.
        page_ids = [listing.pk for listing in context["listings"]]
        context["changeable"] = set(
            Listing.objects.restrict(user, Action.CHANGE).filter(pk__in=page_ids).values_list("pk", flat=True)
        ) if page_ids and Listing.objects.model_permits(user, Action.CHANGE) else set()
        return context


class ListingCreateView(FormStatusMixin, VintedPageMixin, RestrictedViewMixin, FormView):
    queryset = Listing.objects.all()
    permission_action = Action.ADD
    template_name = "vinted/listing_form.html"
    form_class = ListingForm

    def form_valid(self, form):
        try:
            listing = services.create_listing(self.request.user, **form.service_fields())
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"{listing} saved as a draft. Add photos, or let the AI draft the rest.")
        return redirect(listing)


PAGE_QUERYSET = Listing.objects.select_related("owner", "category__parent__parent", "brand", "size",
                                               "batch").prefetch_related("colours", "photos")


def listing_context(request, listing, **extra) -> dict:
    user = request.user
    can_change = Listing.objects.permits(user, listing, Action.CHANGE)
    # The validator's problems matter while the content can still change; after that they are history.
    report = validation.check_ready(listing) if listing.status in EDITABLE_STATUSES else validation.Report()
    context = {
        "listing": listing, "object": listing, "tab": "listings", "report": report,
        "can_change": can_change,
        # Past "ready" the form still edits the inventory fields (the content is locked there).
        "can_edit": can_change and listing.status not in services.BUSY_STATUSES,
        "can_mark_ready": can_change and listing.status in (ListingStatus.DRAFT, ListingStatus.FAILED),
        "can_archive": can_change and listing.status in services.ARCHIVABLE,
        "can_unarchive": can_change and listing.status == ListingStatus.ARCHIVED,
        "can_mark_sold": can_change and listing.status not in ({ListingStatus.SOLD} | services.BUSY_STATUSES),
        "can_delete": (Listing.objects.permits(user, listing, Action.DELETE)
                       and listing.status in services.DELETABLE_STATUSES and not listing.vinted_item_id),
        "photo_count": validation.ready_photo_count(listing),
    }
    if context["can_mark_sold"]:
        context["sold_form"] = extra.pop("sold_form", None) or MarkSoldForm()
    context.update(extra)
    return context


class ListingDetailView(VintedPageMixin, ObjectPermissionMixin, DetailView):
    queryset = PAGE_QUERYSET
    template_name = "vinted/listing_detail.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **listing_context(self.request, self.object)}


class ListingUpdateView(FormStatusMixin, VintedPageMixin, ObjectPermissionMixin, FormView):
    queryset = PAGE_QUERYSET
    permission_action = Action.CHANGE
    template_name = "vinted/listing_form.html"
    form_class = ListingForm
    permission_denied_message = "Only the listing's owner or an admin may edit it."

    def dispatch(self, request, *args, **kwargs):
        self.listing = None
        return super().dispatch(request, *args, **kwargs)

    def get_listing(self):
        self.listing = self.listing or self.get_object()
        return self.listing

    def get_form_kwargs(self):
        listing = self.get_listing()
        return {**super().get_form_kwargs(), "instance": listing,
                "content_locked": listing.status not in EDITABLE_STATUSES}

    def get_context_data(self, **kwargs):
        listing = self.get_listing()
        return super().get_context_data(listing=listing, content_locked=listing.status not in EDITABLE_STATUSES,
                                        **kwargs)

    def form_valid(self, form):
        self.get_listing()
        was_ready = self.listing.status == ListingStatus.READY
        try:
            listing = services.update_listing(self.request.user, self.listing, **form.service_fields())
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        note = " It is a draft again: mark it ready once it passes the checks." if (
            was_ready and listing.status == ListingStatus.DRAFT) else ""
        messages.success(self.request, f"{listing} saved.{note}")
        return redirect(listing)


class ListingActionView(ObjectActionView):
    queryset = Listing.objects.all()
    permission_denied_message = "Only the listing's owner or an admin may change it."


class ListingMarkReadyView(ListingActionView):
    """Mark ready; when the validator refuses, the listing page shows each problem at its field."""

    queryset = PAGE_QUERYSET

    def post(self, request, *args, **kwargs):
        listing = self.get_object()
        try:
            report = services.mark_ready(request.user, listing)
        except services.ListingNotReady as exc:
            messages.error(request, "Not ready yet: fix the problems shown next to the fields.")
            return render(request, "vinted/listing_detail.html",
                          listing_context(request, listing, report=exc.report), status=400)
        except ValidationError as exc:
            messages.error(request, error_text(exc, name_fields=False))
            return redirect(listing)
        warned = " Check the warnings: they do not block it." if report.warnings else ""
        messages.success(request, f"{listing} is ready to publish.{warned}")
        return redirect(listing)


class ListingArchiveView(ListingActionView):
    def act(self, listing, user):
        services.archive_listing(user, listing)
        return f"{listing} archived."


class ListingUnarchiveView(ListingActionView):
    def act(self, listing, user):
        services.unarchive_listing(user, listing)
        return f"{listing} restored as a draft."


class ListingMarkSoldView(ListingActionView):
    queryset = PAGE_QUERYSET

    def post(self, request, *args, **kwargs):
        listing = self.get_object()
        form = MarkSoldForm(request.POST)
        if form.is_valid():
            try:
                services.mark_sold(request.user, listing, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"{listing} marked sold.")
                return redirect(listing)
        messages.error(request, "Not marked sold: see the sale form.")
        return render(request, "vinted/listing_detail.html", listing_context(request, listing, sold_form=form),
                      status=400)


class ListingDeleteView(ListingActionView):
    permission_action = Action.DELETE
    permission_denied_message = "Only the listing's owner or an admin may delete it."

    def post(self, request, *args, **kwargs):
        listing = self.get_object()
        label = str(listing)
        try:
            services.delete_listing(request.user, listing)
        except ValidationError as exc:
            messages.error(request, error_text(exc, name_fields=False))
            return redirect(listing)
        messages.success(request, f"{label} deleted with its photos.")
        return redirect("vinted:listing-list")


class ListingBulkView(RestrictedViewMixin, View):
    """The board's bulk actions: each listing on its own, one refusal never blocks the others."""

    queryset = Listing.objects.all()
    http_method_names = ["post"]

    def post(self, request):
        form = BulkActionForm(request.POST)
        back = request.POST.get("next", "")
        back = back if back.startswith("?") else ""
        if not form.is_valid():
            messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
            return redirect(reverse("vinted:listing-list") + back)
        result = services.bulk_action(request.user, form.cleaned_data["action"], form.cleaned_data["ids"])
        verb = {"archive": "archived", "mark_ready": "marked ready", "redraft": "queued for a new AI draft"}
        if result.succeeded:
            messages.success(request, f"{len(result.succeeded)} listing{'s' if len(result.succeeded) != 1 else ''} "
                                      f"{verb[result.action]}.")
        for pk, reason in sorted(result.failed.items()):
            messages.error(request, f"Listing #{pk}: {reason}")
        return redirect(reverse("vinted:listing-list") + back)
