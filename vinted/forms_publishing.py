"""Forms of the publishing pages: choose the account to prepare on; confirm and publish."""

from django import forms

from .models import VintedAccount


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, account):
        status = "" if account.status == "active" else f" — {account.get_status_display().lower()}"
        dry_run = " — dry run" if account.dry_run else ""
        return f"{account.label} ({account.domain}){status}{dry_run}"


class PrepareForm(forms.Form):
    """`accounts`: the listing owner's Vinted accounts this user may use (the view narrows them by
    the access rule); any other id, another seller's account for one, is an invalid choice."""

    account = AccountChoiceField(
        queryset=VintedAccount.objects.none(), empty_label=None, label="Vinted account",
        error_messages={
            "required": "Choose the Vinted account to publish on.",
            "invalid_choice": "Choose one of the listing owner's Vinted accounts: that one is not among them.",
        })

    def __init__(self, *args, accounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts


class PublishForm(forms.Form):
    """The hidden fields of "Confirm and publish": the signed confirm token of the snapshot shown,
    and the idempotency key that makes a double click or a resent form publish once."""

    token = forms.CharField(max_length=2000, widget=forms.HiddenInput, error_messages={
        "required": "The confirmation is missing: open the publication page and confirm again."})
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, error_messages={
        "required": "The form's idempotency key is missing: open the publication page and confirm again.",
        "invalid": "The form's idempotency key is not valid: open the publication page and confirm again."})
