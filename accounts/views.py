from datetime import datetime

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, user_login_failed
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import FormView, TemplateView
from django_otp import login as otp_login

from . import tokens, two_factor
from .forms import APITokenForm, LoginForm, OTPCodeForm
from .lockout import lockout_response
from .mixins import RoleRequiredMixin
from .models import APIToken, LoginEvent, User
from .roles import Action

_PENDING = "accounts.otp_pending"  # session key: the user who gave the right password, awaiting a code


class LoginView(auth_views.LoginView):
    """Password first; a user with a confirmed second factor is then asked for a code."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.has_device(user):
            return super().form_valid(form)
        self.request.session[_PENDING] = {"user": user.pk, "backend": user.backend,
                                          "at": timezone.now().isoformat(), "next": self.get_success_url()}
        return redirect("accounts:login_code")


class LoginCodeView(FormView):
    """The second step of signing in (or re-proving a second factor for an unverified admin session).

    A wrong code counts as a failed sign-in for django-axes, like a wrong password.
    """

    template_name = "accounts/login_code.html"
    form_class = OTPCodeForm

    def dispatch(self, request, *args, **kwargs):
        self.user, self.backend, self.next_url = self._who(request)
        if self.user is None:
            messages.info(request, "Sign in with your password first.")
            return redirect("accounts:login")
        if request.method == "POST" and AxesProxyHandler.is_locked(request, self._credentials()):
            return lockout_response(request)
        return super().dispatch(request, *args, **kwargs)

    def _who(self, request):
        next_url = request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
            next_url = ""
        if request.user.is_authenticated:
            if not two_factor.has_device(request.user):
                return None, None, None
            return request.user, None, next_url or reverse(settings.LOGIN_REDIRECT_URL)
        pending = request.session.get(_PENDING)
        if not pending:
            return None, None, None
        age = (timezone.now() - datetime.fromisoformat(pending["at"])).total_seconds()
        user = User.objects.filter(pk=pending["user"], is_active=True).first()
        if user is None or age > settings.OTP_LOGIN_PENDING_SECONDS:
            request.session.pop(_PENDING, None)
            return None, None, None
        return user, pending["backend"], pending["next"]

    def _credentials(self):
        return {"username": self.user.get_username()}

    def form_valid(self, form):
        device = two_factor.verify(self.user, form.cleaned_data["code"])
        if device is None:
            user_login_failed.send(sender=__name__, credentials=self._credentials(), request=self.request)
            if getattr(self.request, "axes_locked_out", False):
                self.request.session.pop(_PENDING, None)
                return lockout_response(self.request)
            form.add_error("code", "That code is not valid. Check the time on your phone, or use a recovery code.")
            return self.form_invalid(form)
        if not self.request.user.is_authenticated:
            self.request.session.pop(_PENDING, None)
            login(self.request, self.user, backend=self.backend)
        else:  # re-verified: django-axes resets the failures as on a sign-in
            AxesProxyHandler.user_logged_in(sender=type(self), request=self.request, user=self.user)
        otp_login(self.request, device)
        return HttpResponseRedirect(self.next_url)


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have been signed out.")
        return response


class ProfileView(RoleRequiredMixin, TemplateView):
    template_name = "accounts/profile.html"

    def get_context_data(self, **kwargs):
        user, now = self.request.user, timezone.now()
        return super().get_context_data(
            sign_ins=LoginEvent.objects.restrict(user).filter(user=user)[:15],
            api_tokens=[(token, token.status(now)) for token in APIToken.objects.restrict(user).filter(user=user)],
            has_2fa=two_factor.has_device(user),
            **kwargs,
        )


class PasswordChangeView(RoleRequiredMixin, auth_views.PasswordChangeView):
    """Changing the password also revokes your API tokens and refresh tokens (accounts.signals)."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        messages.success(self.request, "Your password was changed. Your API tokens were revoked.")
        return super().form_valid(form)


class APITokenCreateView(RoleRequiredMixin, FormView):
    template_name = "accounts/token_form.html"
    form_class = APITokenForm

    def form_valid(self, form):
        data = form.cleaned_data
        issued = tokens.create_token(self.request.user, data["name"], write=data["write_enabled"],
                                     expires_at=data["expires_on"], allowed_ips=data["allowed_ips"])
        response = render(self.request, "accounts/token_created.html", {"issued": issued}, status=201)
        response["Cache-Control"] = "no-store"  # the secret is on this page, once
        return response

    def form_invalid(self, form):
        """Bad input: the form again with the errors at the fields, as 400 (like every other form)."""
        return self.render_to_response(self.get_context_data(form=form), status=400)


class APITokenRevokeView(RoleRequiredMixin, View):
    """Revoke a token: its owner (any role), or an admin (anyone's). To anyone else it is a 404."""

    http_method_names = ["post"]

    def post(self, request, pk):
        token = get_object_or_404(APIToken.objects.restrict(request.user, Action.DELETE), pk=pk)
        tokens.revoke(APIToken.objects.filter(pk=token.pk), tokens.revoke_reason(token, request.user))
        messages.success(request, f"The token “{token.name}” was revoked.")
        return redirect("accounts:profile")


class TwoFactorView(RoleRequiredMixin, FormView):
    """Enrol an authenticator app: QR code (or the secret typed by hand), then a first code to confirm."""

    template_name = "accounts/two_factor.html"
    form_class = OTPCodeForm

    def get_context_data(self, **kwargs):
        user = self.request.user
        context = {"has_2fa": two_factor.has_device(user), "required": two_factor.must_enrol(user)}
        if context["has_2fa"]:
            context["recovery_left"] = two_factor.recovery_codes_left(user)
        else:
            context["secret"] = two_factor.secret_of(two_factor.pending_device(user))
        return super().get_context_data(**context, **kwargs)

    def post(self, request, *args, **kwargs):
        if two_factor.has_device(request.user):
            if request.POST.get("action") != "recovery-codes":
                return redirect("accounts:two_factor")
            if not request.user.is_verified():
                messages.error(request, "Sign in with your code first.")
                return redirect("accounts:login_code")
            codes = two_factor.new_recovery_codes(request.user)
            return self._show_codes(codes, "New recovery codes")
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        codes = two_factor.confirm(self.request.user, form.cleaned_data["code"])
        if codes is None:
            form.add_error("code", "That code is not valid. Scan the QR code again and enter the newest code.")
            return self.form_invalid(form)
        otp_login(self.request, two_factor.totp_device(self.request.user))
        return self._show_codes(codes, "Two-factor sign-in is on")

    def _show_codes(self, codes, heading):
        next_url = self.request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(next_url, {self.request.get_host()}, self.request.is_secure()):
            next_url = reverse("accounts:profile")
        response = render(self.request, "accounts/recovery_codes.html",
                          {"codes": codes, "heading": heading, "next_url": next_url})
        response["Cache-Control"] = "no-store"
        return response


class TwoFactorQRView(RoleRequiredMixin, View):
    """The QR code of the device being enrolled, as its own SVG (shown with <img>: no inline code)."""

    def get(self, request):
        device = two_factor.pending_device(request.user, create=False)
        if device is None:
            raise Http404("Nothing is being enrolled.")
        response = HttpResponse(two_factor.qr_svg(device), content_type="image/svg+xml")
        response["Cache-Control"] = "no-store"
        return response

