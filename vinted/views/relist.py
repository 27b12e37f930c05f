"""Vinted relist pages (thin: services do the work; access is the querysets' rule).

- POST `vinted:listing-relist`: the relist form of a listing page (option "also delete it on Vinted");
  redirects to the new draft, or back to the listing with the reason it was refused.
- GET `vinted:listing-relist-status`: the relist panel alone, which the page polls (htmx) while the old
  item is being deleted on Vinted.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views import View

from accounts.mixins import ObjectPermissionMixin
from accounts.roles import Action
from lofisite.validation import error_text

from ..models import Listing
from ..services import relist as services
from .listings import ListingActionView


class RelistForm(forms.Form):
    delete_old = forms.BooleanField(label="Also delete it on Vinted", required=False,
                                    help_text="The old listing is archived once Vinted confirms (unless sold).")


class ListingRelistView(ListingActionView):
    permission_denied_message = "Only the listing's owner or an admin may relist it."

    def post(self, request, *args, **kwargs):
        listing = self.get_object()
        form = RelistForm(request.POST)
        form.is_valid()  # one optional checkbox: always valid
        delete_old = form.cleaned_data["delete_old"]
        try:
            new = services.relist(listing, by_user=request.user, delete_old=delete_old)
        except ValidationError as exc:
            messages.error(request, "Not relisted: " + error_text(exc, name_fields=False))
            return redirect(listing)
        note = " The old item is being deleted on Vinted; its listing page shows how that goes." if delete_old else ""
        messages.success(request, f"{listing} relisted as this new draft, with its photos.{note}")
        return redirect(new)


class ListingRelistStatusView(ObjectPermissionMixin, View):
    queryset = Listing.objects.all()
    permission_action = Action.VIEW
    http_method_names = ["get", "head"]

    def get(self, request, *args, **kwargs):
        return render(request, "vinted/_relist.html", {"listing": self.get_object()})
