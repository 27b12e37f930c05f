"""The Automation page of one Vinted account: the status banner with pause-all / resume, every
setting in one form, the price drop rules, what is scheduled next and the history. Thin: changes are
vinted.services.automation (the API uses the same functions); access is the account queryset's rule
(owner-only: the owner and admins; anyone else gets a 404)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import DetailView, FormView

from accounts.mixins import ObjectActionView, ObjectPermissionMixin
from accounts.roles import Action
from lofisite.page_mixins import FormStatusMixin

from ..choices import AutomationFeature
from ..forms import apply_service_errors
from ..forms_automation import AutomationEventFilterSet, AutomationSettingsForm
from ..models import AutomationEvent, PriceDropRule, VintedAccount
from ..services import automation as services
from .listings import VintedPageMixin

EVENTS_PER_PAGE = 25
UPCOMING_HOURS = 24
ACCOUNTS = VintedAccount.objects.select_related("owner", "automation")


class AutomationPageMixin(VintedPageMixin):
    tab = "automation"


def upcoming_rows(planned) -> list[dict]:
    """Planned actions as the page's "Scheduled next" table shows them (templates/vinted/automation/_upcoming.html)."""
    return [{"at": item.at, "feature": AutomationFeature(item.feature).label, "what": item.what,
             "listing": item.listing, "conversation": item.conversation} for item in planned]


def automation_context(request, account, form=None) -> dict:
    user = request.user
    automation = services.settings_for(account)
    can_change = VintedAccount.objects.permits(user, account, Action.CHANGE)
    events = AutomationEvent.objects.restrict(user).filter(account=account).select_related("listing")
    history = AutomationEventFilterSet(request.GET or None, queryset=events, request=request)
    page = Paginator(history.qs, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    rules = (PriceDropRule.objects.restrict(user).filter(account=account).select_related("listing")
             .order_by("listing_id", "id"))
    context = {
        "account": account, "object": account, "automation": automation, "tab": "automation",
        "status": services.status(account), "time_zone": services.zone(automation).key,
        "can_change": can_change, "rules": rules,
        "upcoming": upcoming_rows(services.upcoming(account, hours=UPCOMING_HOURS)),
        "upcoming_hours": UPCOMING_HOURS,
        "history_form": history.form, "events": page.object_list, "page_obj": page,
        "filtered": any(request.GET.get(name) for name in ("feature", "outcome")),
    }
    if can_change:
        context["form"] = form or AutomationSettingsForm(initial=AutomationSettingsForm.initial_for(automation))
    return context


class AutomationView(AutomationPageMixin, ObjectPermissionMixin, DetailView):
    queryset = ACCOUNTS
    template_name = "vinted/automation/automation_page.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **automation_context(self.request, self.object)}


class AutomationSettingsView(FormStatusMixin, AutomationPageMixin, ObjectPermissionMixin, FormView):
    """POST of the settings form: saved as a whole, or the page again with the errors (400)."""

    queryset = ACCOUNTS
    permission_action = Action.CHANGE
    permission_denied_message = "Only the account's owner or an admin may change its automation."
    template_name = "vinted/automation/automation_page.html"
    form_class = AutomationSettingsForm
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self.account = self.get_object()
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        form = kwargs.pop("form", None)
        return {**super().get_context_data(**kwargs), **automation_context(self.request, self.account, form)}

    def form_valid(self, form):
        try:
            services.update_settings(self.account, form.cleaned_data, by_user=self.request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Automation settings of {self.account.label} saved.")
        return redirect("vinted:automation", self.account.pk)


class AutomationActionView(ObjectActionView):
    queryset = VintedAccount.objects.all()
    permission_denied_message = "Only the account's owner or an admin may pause or resume its automation."

    def get_success_url(self, account):
        return reverse("vinted:automation", args=[account.pk])


class AutomationPauseView(AutomationActionView):
    def act(self, account, user):
        services.pause(account, by_user=user)
        return f"Automation of {account.label} paused: nothing automatic runs until you resume it."


class AutomationResumeView(AutomationActionView):
    def act(self, account, user):
        services.resume(account, by_user=user)
        return f"Automation of {account.label} resumed."
