"""Vinted account pages: the list, add, the account's page (status, what to do now, the risk
ledger and its recent calls), edit, session import, check now, delete and the admins' dry-run
switch. Thin: changes are vinted.services.accounts; access is the account queryset's rule
(owner-only; turning dry run on or off is Action.ADMIN on the account)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import DetailView, FormView

from accounts.mixins import ObjectActionView, ObjectListView, ObjectPermissionMixin, RestrictedViewMixin
from accounts.roles import Action
from lofisite.page_mixins import FormStatusMixin
from lofisite.validation import error_text
from monitoring.jobs import TransientError

from .. import ledger
from ..choices import AccountStatus
from ..forms import apply_service_errors
from ..forms_accounts import AccountForm, SessionImportForm
from ..models import VintedAccount, VintedCall
from ..services import accounts as services
from .listings import VintedPageMixin

CALLS_PER_PAGE = 25
NO_ANSWER = "Vinted did not answer the check ({reason}); the account is unchanged. Try “Check now” in a few minutes."


class AccountPageMixin(VintedPageMixin):
    tab = "accounts"


class AccountListView(AccountPageMixin, ObjectListView):
    queryset = VintedAccount.objects.select_related("owner")
    template_name = "vinted/accounts/account_list.html"
    context_object_name = "accounts"

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(shows_owner=VintedAccount.objects.shows_everyone(user), **kwargs)


class AccountCreateView(FormStatusMixin, AccountPageMixin, RestrictedViewMixin, FormView):
    queryset = VintedAccount.objects.all()
    permission_action = Action.ADD
    template_name = "vinted/accounts/account_form.html"
    form_class = AccountForm

    def form_valid(self, form):
        try:
            account = services.create_account(self.request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"{account} added. Now import its session.")
        return redirect("vinted:account-session", account.pk)


def wait_text(seconds) -> str:
    """A wait as a person reads it: "now", "45 s", "12 min"."""
    seconds = max(0, round(seconds or 0))
    if not seconds:
        return "now"
    return f"{seconds} s" if seconds < 60 else f"{-(-seconds // 60)} min"


def account_context(request, account) -> dict:
    """The account page's buttons (the queryset's rule) and its risk ledger."""
    user = request.user
    calls = VintedCall.objects.restrict(user).filter(account=account)
    page = Paginator(calls, CALLS_PER_PAGE).get_page(request.GET.get("page"))
    can_change = VintedAccount.objects.permits(user, account, Action.CHANGE)
    summary = ledger.summary(account)
    return {
        "account": account, "object": account, "tab": "accounts",
        "what_to_do": services.what_to_do(account), "ledger": summary,
        "limit_frees_in": wait_text(summary["limit_frees_in_seconds"]),
        "calls": page.object_list, "page_obj": page,
        "can_change": can_change,
        "can_delete": VintedAccount.objects.permits(user, account, Action.DELETE),
        "can_set_dry_run": VintedAccount.objects.permits(user, account, Action.ADMIN),
    }


class AccountDetailView(AccountPageMixin, ObjectPermissionMixin, DetailView):
    queryset = VintedAccount.objects.select_related("owner")
    template_name = "vinted/accounts/account_detail.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **account_context(self.request, self.object)}


class AccountObjectFormView(FormStatusMixin, AccountPageMixin, ObjectPermissionMixin, FormView):
    """A form about one account the user may change."""

    queryset = VintedAccount.objects.select_related("owner")
    permission_action = Action.CHANGE
    permission_denied_message = "Only the account's owner or an admin may change it."

    def dispatch(self, request, *args, **kwargs):
        self.account = None
        return super().dispatch(request, *args, **kwargs)

    def get_account(self):
        self.account = self.account or self.get_object()
        return self.account

    def get_context_data(self, **kwargs):
        return super().get_context_data(account=self.get_account(), **kwargs)


class AccountUpdateView(AccountObjectFormView):
    template_name = "vinted/accounts/account_form.html"
    form_class = AccountForm

    def get_initial(self):
        account = self.get_account()
        return {"label": account.label, "domain": account.domain}

    def form_valid(self, form):
        account = self.get_account()
        try:
            services.update_account(self.request.user, account, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"{account} saved.")
        return redirect(account)


# Error reports (a 500's log or mail) show the POST without the pasted session and user agent.
@method_decorator(sensitive_post_parameters("session", "user_agent"), name="dispatch")
class AccountSessionView(AccountObjectFormView):
    """Paste a session; it is checked at once. The pasted text is never rendered back."""

    template_name = "vinted/accounts/account_session.html"
    form_class = SessionImportForm

    def form_valid(self, form):
        account = self.get_account()
        try:
            account = services.import_session(account, form.cleaned_data["session"],
                                              user_agent=form.cleaned_data["user_agent"], by_user=self.request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        except TransientError as exc:
            messages.warning(self.request, "Session saved. " + NO_ANSWER.format(reason=exc))
            return redirect(account)
        if account.status == AccountStatus.ACTIVE:
            messages.success(self.request, f"Session imported and checked: signed in as {account.vinted_login}.")
        else:
            messages.error(self.request, f"Session imported, but the check failed: {account.status_message}")
        return redirect(account)


class AccountActionView(ObjectActionView):
    queryset = VintedAccount.objects.all()
    permission_denied_message = "Only the account's owner or an admin may change it."


class AccountCheckView(AccountActionView):
    def post(self, request, *args, **kwargs):
        account = self.get_object()
        try:
            account = services.check_session(account)
        except TransientError as exc:
            messages.warning(request, NO_ANSWER.format(reason=exc))
            return redirect(account)
        if account.status == AccountStatus.ACTIVE:
            messages.success(request, f"The session works: signed in as {account.vinted_login}.")
        else:
            messages.error(request, f"The check failed: {services.what_to_do(account)}")
        return redirect(account)


class AccountDryRunView(AccountActionView):
    permission_action = Action.ADMIN
    permission_denied_message = "Only an admin may turn an account's dry run on or off."

    def act(self, account, user):
        choice = self.request.POST.get("dry_run")
        if choice not in ("on", "off"):
            raise ValidationError("Say whether dry run should be on or off.")
        value = choice == "on"
        services.set_dry_run(account, value, user)
        return f"Dry run {'on: publishing stops after prepare' if value else 'off: publishing is real'} " \
               f"for {account}."


class AccountUnblockView(AccountActionView):
    permission_action = Action.ADMIN
    permission_denied_message = "Only an admin may unblock a Vinted account."

    def act(self, account, user):
        account = services.unblock(account, user)
        return f"{account} unblocked: {account.get_status_display().lower()}."


class AccountDeleteView(AccountActionView):
    permission_action = Action.DELETE
    permission_denied_message = "Only the account's owner or an admin may delete it."

    def post(self, request, *args, **kwargs):
        account = self.get_object()
        label = str(account)
        try:
            services.delete_account(account, request.user)
        except ValidationError as exc:
            messages.error(request, error_text(exc, name_fields=False))
            return redirect(account)
        messages.success(request, f"{label} deleted with its ledger and inbox.")
        return redirect("vinted:account-list")
