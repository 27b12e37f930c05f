"""Vinted publishing pages: prepare a listing on one of its owner's accounts, the publication's
page (status, live job progress, the screenshot of Vinted's filled form, the values, the read-back
difference, the dry-run notice) with "Confirm and publish", and the screenshot file.

Thin: vinted.services.publishing decides and does everything (tokens, idempotency, jobs); access
is the querysets' rule through the base views (a listing or publication the user cannot see is a
404, one they see but may not change a 403).
"""

import uuid

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView
from django_htmx.http import HttpResponseClientRedirect

from accounts.mixins import ObjectActionView, ObjectPermissionMixin
from accounts.roles import Action
from lofisite.media import serve_media_file

from ..choices import PublicationStatus
from ..forms_publishing import PrepareForm, PublishForm
from ..models import Publication
from ..services import publishing as services
from ..templatetags.vinted_publishing import ACTIVE_STATUSES, can_prepare, prepare_accounts
from .listings import PAGE_QUERYSET, VintedPageMixin, listing_context

PUBLICATION_QUERYSET = Publication.objects.select_related(
    "listing__owner", "account", "owner", "prepare_job", "publish_job", "confirmed_by")


def publication_url(publication) -> str:
    return reverse("vinted:publication-detail", args=[publication.pk])


def refusal_status(exc) -> int:
    """The service's own answer: 400 for bad input (a forged token), 409 when the state refuses it."""
    return getattr(exc, "http_status", 400)


def publication_context(request, publication, **extra) -> dict:
    """Everything the publication page and its live partial show."""
    user = request.user
    listing = publication.listing
    may_change = Publication.objects.permits(user, publication, Action.CHANGE)
    context = {
        "publication": publication, "object": publication, "listing": listing, "tab": "listings",
        "job": publication.publish_job if publication.publish_job_id else publication.prepare_job,
        "active": publication.status in ACTIVE_STATUSES,
        "values": publication.snapshot.get("values") if publication.snapshot else None,
        "photo_hashes": (publication.snapshot or {}).get("photo_hashes", []),
        "refusal": extra.pop("refusal", ""),
    }
    if context["values"] is None:
        # Nothing read back from Vinted yet: show what prepare is filling in.
        context["planned_values"] = services.listing_values(listing)
    if may_change and publication.status == PublicationStatus.PREPARED and not context["refusal"]:
        try:
            token, expires_at = services.issue_confirm_token(publication, by_user=user)
        except services.PublishRefused as exc:
            context["refusal"] = exc.message
        else:
            context["publish_form"] = PublishForm(initial={"token": token, "idempotency_key": uuid.uuid4()})
            context["token_expires_at"] = expires_at
    context["can_prepare_again"] = (
        publication.status != PublicationStatus.PUBLISHED and can_prepare(user, listing, publication)
        and prepare_accounts(user, listing).filter(pk=publication.account_id).exists())
    context.update(extra)
    return context


class PublicationPageMixin(VintedPageMixin):
    queryset = PUBLICATION_QUERYSET


class ListingPrepareView(ObjectActionView):
    """POST: prepare the listing on the chosen account (a background job), then show its page."""

    queryset = PAGE_QUERYSET
    permission_denied_message = "Only the listing's owner or an admin may publish it."

    def refuse(self, listing, form, message, status=400):
        messages.error(self.request, message)
        return render(self.request, "vinted/listing_detail.html",
                      listing_context(self.request, listing, prepare_form=form), status=status)

    def post(self, request, *args, **kwargs):
        listing = self.get_object()
        form = PrepareForm(request.POST, accounts=prepare_accounts(request.user, listing))
        if not form.is_valid():
            return self.refuse(listing, form, "Not prepared: " + " ".join(form.errors.get("account", [])))
        try:
            publication = services.request_prepare(listing, form.cleaned_data["account"], by_user=request.user)
        except services.PublishRefused as exc:
            return self.refuse(listing, form, f"Not prepared: {exc.message}", refusal_status(exc))
        messages.success(request, f"Preparing {listing} on {publication.account.label}: Chromium fills in "
                                  "Vinted's form in the background and this page follows it. Nothing is "
                                  "published until you confirm.")
        return redirect(publication_url(publication))


class PublicationDetailView(PublicationPageMixin, ObjectPermissionMixin, DetailView):
    template_name = "vinted/publishing/publication_detail.html"
    context_object_name = "publication"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **publication_context(self.request, self.object)}


class PublicationProgressView(PublicationPageMixin, ObjectPermissionMixin, View):
    """The live part of the page: htmx polls it every 2 s while a job runs; the answer that shows the
    job finished carries no trigger, so polling stops."""

    http_method_names = ["get"]

    def handle_no_permission(self):
        if getattr(self.request, "htmx", False) and not self.request.user.is_authenticated:
            return HttpResponseClientRedirect(
                redirect_to_login(reverse("vinted:publication-detail", args=[self.kwargs["pk"]]))["Location"])
        return super().handle_no_permission()

    def get(self, request, pk):
        return render(request, "vinted/publishing/_state.html", publication_context(request, self.get_object()))


class PublicationScreenshotView(ObjectPermissionMixin, View):
    """The full-page screenshot prepare took of Vinted's filled form, for whoever may see the publication."""

    queryset = Publication.objects.all()
    http_method_names = ["get", "head"]

    def get(self, request, *args, **kwargs):
        publication = self.get_object()
        return serve_media_file(request, publication.screenshot, f"publication-{publication.pk}-screenshot")


class PublicationPublishView(PublicationPageMixin, ObjectActionView):
    """POST "Confirm and publish": the confirm token and idempotency key of the page's form."""

    permission_denied_message = "Only the publication's owner or an admin may publish it."

    def refuse(self, publication, message, status=400):
        messages.error(self.request, message)
        return render(self.request, "vinted/publishing/publication_detail.html",
                      publication_context(self.request, publication, refusal=message), status=status)

    def post(self, request, *args, **kwargs):
        publication = self.get_object()
        form = PublishForm(request.POST)
        if not form.is_valid():
            errors = [error for field_errors in form.errors.values() for error in field_errors]
            return self.refuse(publication, "Not published: " + " ".join(errors))
        try:
            publication = services.request_publish(
                publication, form.cleaned_data["token"], str(form.cleaned_data["idempotency_key"]),
                by_user=request.user)
        except services.PublishRefused as exc:
            return self.refuse(publication, f"Not published: {exc.message}", refusal_status(exc))
        if publication.status == PublicationStatus.PUBLISHED:
            messages.info(request, "Already published: this confirmation was used once, nothing was sent again.")
        else:
            messages.success(request, "Publishing on Vinted in the background: this page follows it.")
        return redirect(publication_url(publication))
