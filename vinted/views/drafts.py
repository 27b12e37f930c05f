"""AI draft pages: draft one listing (the listing page's panel posts here), and the bulk draft
batches (a batch's page, its live progress partial, "Draft all"). Thin: the services decide,
the base views apply the permission rule (404 for what the user cannot see, 403 for what they
may not change)."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import DetailView
from django_htmx.http import HttpResponseClientRedirect

from accounts.mixins import ObjectActionView, ObjectListView, ObjectPermissionMixin
from lofisite.validation import error_text
from monitoring import ai

from ..models import DraftBatch, Listing
from ..services import drafts


def _safe_next(request, fallback):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback()


def draft_message(result) -> tuple[int, str]:
    """The message level and text that tell the seller what a draft did."""
    labels = drafts.field_labels
    how = "Offline draft (no AI configured): colours read from the photos" if result.offline else (
        f"Drafted with {result.model}")
    parts = [f"{how}; filled {', '.join(labels(result.filled)) or 'nothing'}."]
    if result.kept:
        parts.append(f"Kept your own {', '.join(labels(result.kept))}.")
    if result.rejected:
        parts.append(f"Could not use the AI's {', '.join(labels(result.rejected))} (reasons in the AI panel).")
    if result.needs_user:
        parts.append(f"Still needed from you: {', '.join(labels(result.needs_user))}.")
    if not result.offline:
        parts.append(f"Cost ${result.cost_usd:.4f}.")
    level = messages.WARNING if result.rejected or not result.filled else messages.SUCCESS
    return level, " ".join(parts)


class ListingDraftView(ObjectActionView):
    """POST: draft the listing with AI (`overwrite=1` also replaces the seller's own edits)."""

    queryset = Listing.objects.all()

    def post(self, request, *args, **kwargs):
        listing = self.get_object()
        try:
            result = drafts.draft_listing(request.user, listing, overwrite=request.POST.get("overwrite") == "1")
        except ValidationError as exc:
            messages.error(request, error_text(exc, name_fields=False))
        except ai.AIError as exc:
            messages.error(request, drafts.ai_error_text(exc))
        else:
            messages.add_message(request, *draft_message(result))
        return redirect(_safe_next(request, listing.get_absolute_url))


class BatchListView(ObjectListView):
    queryset = DraftBatch.objects.select_related("owner")
    template_name = "vinted/batch_list.html"
    context_object_name = "batches"


class BatchDetailView(ObjectPermissionMixin, DetailView):
    queryset = DraftBatch.objects.select_related("owner")
    template_name = "vinted/batch_detail.html"
    context_object_name = "batch"


class BatchProgressView(ObjectPermissionMixin, View):
    """The live part of a batch (htmx polls it every 2 s while the batch runs; the answer that
    shows it finished carries no trigger, so polling stops)."""

    queryset = DraftBatch.objects.select_related("owner")

    def handle_no_permission(self):
        if getattr(self.request, "htmx", False) and not self.request.user.is_authenticated:
            return HttpResponseClientRedirect(
                redirect_to_login(reverse("vinted:batch-detail", args=[self.kwargs["pk"]]))["Location"])
        return super().handle_no_permission()

    def get(self, request, pk):
        return render(request, "vinted/_batch_progress.html", {"batch": self.get_object()})


class BatchDraftView(ObjectActionView):
    """POST "Draft all": every item of the batch, in one background job."""

    queryset = DraftBatch.objects.all()

    def act(self, batch, user):
        batch = drafts.queue_batch(user, batch)
        return f"Drafting {batch.total} item(s) in the background; this page follows the progress."

    def get_success_url(self, batch):
        return _safe_next(self.request, lambda: reverse("vinted:batch-detail", args=[batch.pk]))
