"""Forms of the Vinted account pages. The session and the user agent are secrets: their widgets
never render a value back, not even after a validation error (the seller pastes them again)."""

from django import forms
from django.conf import settings

from .services.accounts import SESSION_MAX_CHARS


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that is always empty when rendered (its value is a secret)."""

    def format_value(self, value):
        return None


class WriteOnlyTextInput(forms.TextInput):
    def format_value(self, value):
        return None


def domain_choices():
    return [(domain, domain) for domain in settings.VINTED_DOMAINS]


class AccountForm(forms.Form):
    label = forms.CharField(max_length=100, help_text="Your name for this account, e.g. “Main shop”.")
    domain = forms.ChoiceField(label="Vinted site", choices=domain_choices,
                               help_text="Changing the site of an account forgets its session.")


class SessionImportForm(forms.Form):
    session = forms.CharField(
        label="Cookies", widget=WriteOnlyTextarea(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false"}),
        # The service gives the clear message for an oversized paste; this only bounds what is read.
        max_length=SESSION_MAX_CHARS * 2, strip=True,
        help_text="In a browser tab signed in to Vinted: the request's <code>Cookie</code> header "
                  "(developer tools, Network), or a cookie export in JSON. It is stored encrypted and never "
                  "shown again.")
    user_agent = forms.CharField(
        label="User agent (optional)", required=False, max_length=500,
        widget=WriteOnlyTextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="That browser's user agent, so that Vinted sees the same browser. Stored encrypted.")
