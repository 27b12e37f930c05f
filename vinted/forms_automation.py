"""The Automation page's forms: every setting of one account in one form (its rules are
vinted.services.automation.update_settings, which the API's PATCH uses too), and the history filter
shared by the page and the API (`account`, `feature`, `outcome`)."""

import django_filters
from django import forms

from .choices import AutomationFeature, AutomationOutcome, ReplyTone
from .forms_inbox import visible_accounts
from .models import AutomationEvent
from .services import automation as services

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class AutomationSettingsForm(forms.Form):
    """Types only: the ranges and the rules across fields are checked by the service (one place)."""

    auto_reply_intents = forms.MultipleChoiceField(
        label="Send automatic replies to", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(intent.value, intent.label) for intent in services.AUTO_SEND_INTENTS],
        help_text="Other messages get a suggestion you send yourself. Offers are never answered automatically.")
    reply_tone = forms.ChoiceField(label="Tone", choices=ReplyTone.choices)
    auto_replies_per_conversation = forms.IntegerField(
        label="Automatic replies per conversation",
        help_text=f"0 to {services.REPLIES_PER_CONVERSATION_MAX}.")
    auto_reply_delay_min_seconds = forms.IntegerField(label="Shortest delay (seconds)",
                                                      help_text=f"0 to {services.DELAY_MAX_SECONDS}.")
    auto_reply_delay_max_seconds = forms.IntegerField(label="Longest delay (seconds)",
                                                      help_text="A random delay between the two.")
    night_start = forms.TimeField(label="Night starts", widget=TIME, help_text="No automatic reply at night …")
    night_end = forms.TimeField(label="Night ends", widget=TIME,
                                help_text="… until this time (the same time twice: no night).")
    price_drops_enabled = forms.BooleanField(label="Price drops on", required=False,
                                             help_text="Lower prices by the rules below.")
    reposts_enabled = forms.BooleanField(label="Reposts on", required=False,
                                         help_text="Repost listings live too long without a sale.")
    repost_after_days = forms.IntegerField(label="Repost after (days)",
                                           help_text=f"1 to {services.REPOST_AFTER_DAYS_MAX}.")
    busy_windows = forms.CharField(
        label="Busy windows", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="When reposts run, one window a line: “Mon-Fri 18:00-21:30”, “Sat,Sun 10:00-12:00”.")
    time_zone = forms.CharField(label="Time zone", max_length=64,
                                help_text="Nights and busy windows are in it, e.g. Europe/Paris.")

    @classmethod
    def initial_for(cls, automation) -> dict:
        initial = {name: getattr(automation, name) for name in services.EDITABLE_FIELDS}
        initial["busy_windows"] = services.format_busy_windows(automation.busy_windows)
        return initial


class AutomationEventFilterSet(django_filters.FilterSet):
    account = django_filters.ModelChoiceFilter(queryset=visible_accounts, label="Account",
                                               empty_label="All accounts")
    feature = django_filters.ChoiceFilter(choices=AutomationFeature.choices, empty_label="All features")
    outcome = django_filters.ChoiceFilter(choices=AutomationOutcome.choices, empty_label="All outcomes")

    class Meta:
        model = AutomationEvent
        fields = ["account", "feature", "outcome"]
