"""Price drop rule pages: add (an account's default, or one listing's with ?listing=<id>), edit, delete.
Thin: vinted.services.price_drops does the work; access is the querysets' rule (owner-only: a seller
changes the rules of their own accounts, admins all; someone else's account or rule is a 404)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import FormView

from accounts.mixins import ObjectActionView, ObjectPermissionMixin
from accounts.roles import Action
from lofisite.page_mixins import FormStatusMixin

from ..forms import apply_service_errors
from ..forms_price_rules import PriceRuleForm
from ..models import Listing, PriceDropRule, VintedAccount
from ..services import price_drops as services
from .listings import VintedPageMixin

DENIED = "Only the account's owner or an admin may change its price drop rules."


def after_save(rule):
    """Back to the listing for its own rule, else to the account."""
    return redirect(rule.listing if rule.listing_id else rule.account)


class PriceRuleCreateView(FormStatusMixin, VintedPageMixin, ObjectPermissionMixin, FormView):
    queryset = VintedAccount.objects.all()
    permission_action = Action.CHANGE
    lookup_url_kwarg = "account_pk"
    template_name = "vinted/price_rules/rule_form.html"
    form_class = PriceRuleForm
    permission_denied_message = DENIED
    tab = "accounts"

    def dispatch(self, request, *args, **kwargs):
        self.account = self.listing = None
        return super().dispatch(request, *args, **kwargs)

    def get_target(self):
        if self.account is None:
            self.account = self.get_object()
            listing_id = self.request.GET.get("listing", "")
            if listing_id:
                if not listing_id.isdigit() or len(listing_id) > 11:
                    raise Http404("No such listing.")
                self.listing = Listing.objects.restrict(self.request.user).filter(
                    pk=int(listing_id), account=self.account).first()
                if self.listing is None:
                    raise Http404("No such listing on this account.")
        return self.account, self.listing

    def get_context_data(self, **kwargs):
        account, listing = self.get_target()
        return super().get_context_data(account=account, rule_listing=listing, **kwargs)

    def form_valid(self, form):
        account, listing = self.get_target()
        try:
            rule = services.create_rule(self.request.user, account, listing=listing, **form.service_fields())
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Price drop rule saved: {services.describe(rule)}.")
        return after_save(rule)


class PriceRuleUpdateView(FormStatusMixin, VintedPageMixin, ObjectPermissionMixin, FormView):
    queryset = PriceDropRule.objects.select_related("account", "listing")
    permission_action = Action.CHANGE
    template_name = "vinted/price_rules/rule_form.html"
    form_class = PriceRuleForm
    permission_denied_message = DENIED
    tab = "accounts"

    def dispatch(self, request, *args, **kwargs):
        self.rule = None
        return super().dispatch(request, *args, **kwargs)

    def get_rule(self):
        self.rule = self.rule or self.get_object()
        return self.rule

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": PriceDropRule.objects.get(pk=self.get_rule().pk)}

    def get_context_data(self, **kwargs):
        rule = self.get_rule()
        return super().get_context_data(account=rule.account, rule_listing=rule.listing, rule=rule, **kwargs)

    def form_valid(self, form):
        rule = self.get_rule()
        try:
            rule = services.update_rule(self.request.user, rule, **form.service_fields())
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Price drop rule saved: {services.describe(rule)}.")
        return after_save(rule)


class PriceRuleDeleteView(ObjectActionView):
    queryset = PriceDropRule.objects.select_related("account", "listing")
    permission_action = Action.DELETE
    permission_denied_message = DENIED

    def post(self, request, *args, **kwargs):
        rule = self.get_object()
        services.delete_rule(request.user, rule)
        messages.success(request, "Price drop rule deleted.")
        return redirect(rule.listing if rule.listing_id else rule.account)
