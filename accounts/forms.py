from django import forms
from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autofocus": True,
                                                                            "autocomplete": "username"}))
    password = forms.CharField(max_length=4096, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class APITokenForm(forms.Form):
    """A new personal API token. The role still applies: a viewer's token never writes."""

    name = forms.CharField(max_length=100, help_text='What it is for, e.g. "nightly backup script".')
    write_enabled = forms.BooleanField(
        label="Allow writes", required=False,
        help_text="Leave off for a read-only token. On: the token can do what your role allows.")
    expires_on = forms.DateField(
        label="Expires on", required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token stops working at the start of this day (UTC). Empty: it never expires.")
    allowed_ips = forms.CharField(
        label="Allowed networks", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One network per line in CIDR notation (203.0.113.0/24, 2001:db8::/32) or an address. "
                  "Empty: any address.")

    def clean_expires_on(self):
        from datetime import UTC, datetime

        from django.utils import timezone

        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if moment <= timezone.now():
            raise forms.ValidationError("Choose a day in the future.")
        return moment

    def clean_allowed_ips(self):
        from .models import validate_networks

        networks = [item for item in self.cleaned_data.get("allowed_ips", "").replace(",", "\n").split() if item]
        validate_networks(networks)
        return networks


class OTPCodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=32,
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}))
