"""Forms of the price drop rules: the rule form (pages) and the filters shared by the pages and the API
(`account`: one of the user's visible Vinted accounts; `listing`: one of their visible listings)."""

import django_filters
from django import forms

from .forms_inbox import visible_accounts
from .models import Listing, PriceChange, PriceDropRule
from .services.price_drops import MAX_DAYS, RULE_FIELDS


def visible_listings(request):
    if request is None:
        return Listing.objects.none()
    return Listing.objects.restrict(request.user)


class PriceRuleFilterSet(django_filters.FilterSet):
    account = django_filters.ModelChoiceFilter(queryset=visible_accounts, label="Account")
    listing = django_filters.ModelChoiceFilter(queryset=visible_listings, label="Listing")

    class Meta:
        model = PriceDropRule
        fields = ["account", "listing"]


class PriceChangeFilterSet(django_filters.FilterSet):
    listing = django_filters.ModelChoiceFilter(queryset=visible_listings, label="Listing")

    class Meta:
        model = PriceChange
        fields = ["listing"]


class PriceRuleForm(forms.ModelForm):
    """The rule's numbers; which account and listing it is for come from the URL."""

    class Meta:
        model = PriceDropRule
        fields = RULE_FIELDS
        labels = {"after_days": "First drop after (days)", "every_days": "Then every (days)",
                  "percent": "Lower by (%)", "amount": "or lower by (amount)", "floor": "Floor",
                  "margin_percent": "Margin over the purchase cost (%)", "is_active": "Active"}
        help_texts = {"percent": "Give a percentage or an amount, not both.",
                      "floor": "Never below this (nor below the listing's minimum price)."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("percent", "amount", "floor", "margin_percent"):
            self.fields[name].widget.attrs.update(step="0.01", inputmode="decimal", min="0")
        for name in ("after_days", "every_days"):
            self.fields[name].widget.attrs.update(min="1", max=str(MAX_DAYS))

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in RULE_FIELDS}
