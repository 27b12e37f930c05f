"""Notification pages: everyone's own preferences (and a test send); the delivery log for admins.

Access is the querysets' rule (monitoring.querysets): NotificationPreference rows are each user's own,
whatever the role; Delivery rows are admin-only, so the log is a 403 for everyone else.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts.mixins import ObjectListView, RestrictedViewMixin

from . import notifications
from .choices import DeliveryChannel, DeliveryStatus
from .models import Delivery, NotificationPreference


class NotificationPreferenceForm(forms.Form):
    email_enabled = forms.BooleanField(label="Send me e-mails", required=False)
    kinds = forms.MultipleChoiceField(label="Tell me about", required=False, widget=forms.CheckboxSelectMultiple)
    webhook_url = forms.URLField(label="Webhook URL", required=False, max_length=500, assume_scheme="https",
                                 help_text="We POST signed JSON here (see the README's “Notifications”). "
                                           "Leave empty for no webhook.")
    webhook_secret = forms.CharField(
        label="Webhook secret", required=False, max_length=200, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The key of the HMAC-SHA256 signature, 16 characters or more. It is stored encrypted and never "
                  "shown again; leave empty to keep the saved one.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = list(notifications.kinds().items())

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"]
        if url:
            notifications.validate_webhook_url(url)  # its messages land on this field
        return url


def initial_of(preference: NotificationPreference) -> dict:
    return {"email_enabled": preference.email_enabled, "kinds": preference.kinds, "webhook_url": preference.webhook_url}


class NotificationPreferencesView(RestrictedViewMixin, TemplateView):
    """Your own preferences; any signed-in role may change them (NotificationPreferenceQuerySet)."""

    queryset = NotificationPreference.objects.all()
    template_name = "monitoring/notifications.html"

    def get_context_data(self, **kwargs):
        preference = notifications.preference_for(self.request.user)
        kwargs.setdefault("form", NotificationPreferenceForm(initial=initial_of(preference)))
        return super().get_context_data(
            preference=preference, has_secret=bool(preference.webhook_secret),
            can_see_deliveries=Delivery.objects.model_permits(self.request.user, "view"), **kwargs)

    def post(self, request):
        form = NotificationPreferenceForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                notifications.save_preferences(
                    request.user, email_enabled=data["email_enabled"], webhook_url=data["webhook_url"],
                    webhook_secret=data["webhook_secret"], kinds_chosen=data["kinds"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, "Your notification preferences were saved.")
                return redirect("monitoring:notifications")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class NotificationTestView(RestrictedViewMixin, View):
    """Send a test notification to your own channels (a change to your own preferences' world)."""

    queryset = NotificationPreference.objects.all()
    http_method_names = ["post"]

    def post(self, request):
        deliveries = notifications.send_test(request.user)
        if deliveries:
            channels = " and ".join(sorted({d.get_channel_display().lower() for d in deliveries}))
            messages.success(request, f"A test notification is on its way by {channels}.")
        else:
            messages.warning(request, "Nothing to send to: turn e-mail on (with an address on your profile) "
                                      "or save a webhook first.")
        return redirect("monitoring:notifications")


class DeliveryListView(ObjectListView):
    """Every delivery, newest first, filterable by status and channel: admins only (DeliveryQuerySet)."""

    queryset = Delivery.objects.select_related("recipient", "job_run")
    template_name = "monitoring/notifications_deliveries.html"
    context_object_name = "deliveries"
    columns = (("When", "created_at"), ("Kind", "kind"), ("To", None), ("Channel", "channel"),
               ("Status", "status"), ("Attempts", "attempts"), ("Answer", None))
    default_ordering = "-created_at"
    orderings = {"created_at", "kind", "channel", "status", "attempts"}

    def get_queryset(self):
        queryset = super().get_queryset()
        status, channel = self.request.GET.get("status"), self.request.GET.get("channel")
        if status in DeliveryStatus.values:
            queryset = queryset.filter(status=status)
        if channel in DeliveryChannel.values:
            queryset = queryset.filter(channel=channel)
        ordering = self.request.GET.get("ordering", self.default_ordering)
        if ordering.lstrip("-") not in self.orderings:
            ordering = self.default_ordering
        return queryset.order_by(ordering, "-id")

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            statuses=DeliveryStatus.choices, channels=DeliveryChannel.choices,
            status_filter=self.request.GET.get("status", ""), channel_filter=self.request.GET.get("channel", ""),
            preferences_url=reverse("monitoring:notifications"), **kwargs)
