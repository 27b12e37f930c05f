"""Pipeline pages: the YouTube channel (connect with Google or a refresh token, disconnect, quota)."""

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.csp import CSP
from django.views import View
from django.views.decorators.csp import csp_override
from django.views.generic import TemplateView

from accounts.mixins import RestrictedViewMixin
from accounts.roles import Action
from lofisite import crypto
from lofisite.validation import error_text

from .. import services, youtube_oauth
from ..forms import (
    ChannelForm,
    ChannelOAuthForm,
    apply_service_errors,
)
from ..models import YouTubeChannel
from .base import PipelinePageMixin


# --- YouTube channel ---------------------------------------------------------------------------
class ChannelView(PipelinePageMixin, RestrictedViewMixin, TemplateView):
    """Everyone sees whether a channel is connected; admins connect (POST: add) and disconnect it."""

    queryset = YouTubeChannel.objects.select_related("connected_by")
    write_action = Action.ADD
    permission_denied_message = "Only admins connect the YouTube channel."
    tab = "youtube"
    template_name = "pipeline/channel.html"

    def get_context_data(self, form=None, google_form=None, **kwargs):
        can_connect = self.queryset.can_add(self.request.user)
        return super().get_context_data(
            channel=self.get_queryset().first(),
            can_connect=can_connect, form=(form or ChannelForm()) if can_connect else None,
            google_form=(google_form or ChannelOAuthForm(prefix="google")) if can_connect else None,
            quota=services.quota_summary(), quota_day=services.quota_day(),
            callback_url=self.request.build_absolute_uri(reverse("pipeline:channel-callback")), **kwargs)

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        return allow_google_consent(response) if context.get("google_form") is not None else response

    def post(self, request, *args, **kwargs):
        form = ChannelForm(request.POST)
        if form.is_valid():
            try:
                services.connect_channel(request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "YouTube channel connected. New runs can upload to it.")
                return redirect("pipeline:channel")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ChannelDisconnectView(RestrictedViewMixin, View):
    queryset = YouTubeChannel.objects.all()
    permission_action = Action.DELETE
    http_method_names = ["post"]

    def post(self, request):
        services.disconnect_channel(request.user)
        messages.success(request, "YouTube channel disconnected; its credentials were deleted.")
        return redirect("pipeline:channel")


# "Connect with Google": authorization code with PKCE, the callback on this site, the state checked.
OAUTH_SESSION_KEY = "pipeline.youtube_oauth"


def allow_google_consent(response):
    """The page with the "Connect with Google" form may submit to a redirect to Google's consent
    page: browsers apply CSP form-action to the redirects of a form's submission, so this page's
    policy adds the consent page's origin there (and nowhere else)."""
    policy = settings.SECURE_CSP
    if not policy:
        return response
    consent = urlsplit(settings.YOUTUBE_AUTH_URL)
    config = {**policy, "form-action": [*policy.get("form-action", [CSP.SELF]),
                                        f"{consent.scheme}://{consent.netloc}"]}
    return csp_override(config)(lambda request: response)(None)


class ChannelGoogleConnectView(ChannelView):
    """POST the OAuth client: keep a state and the PKCE verifier in the session, go to Google's consent."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = ChannelOAuthForm(request.POST, prefix="google")
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(google_form=form), status=400)
        verifier, challenge = youtube_oauth.pkce_pair()
        state = secrets.token_urlsafe(32)
        redirect_uri = request.build_absolute_uri(reverse("pipeline:channel-callback"))
        request.session[OAUTH_SESSION_KEY] = {
            "state": state, "verifier": verifier, "redirect_uri": redirect_uri,
            "client_id": form.cleaned_data["client_id"],
            "client_secret": crypto.encrypt(form.cleaned_data["client_secret"]),  # sessions are rows too
        }
        return redirect(youtube_oauth.consent_url(form.cleaned_data["client_id"], redirect_uri, state, challenge))


class ChannelGoogleCallbackView(RestrictedViewMixin, View):
    """Google sends the browser back here: check the state, trade the code, verify and save.

    Every failure is a message on the channel page and saves nothing; the pending
    request is used once (a reload or a replayed callback cannot connect)."""

    queryset = YouTubeChannel.objects.all()
    permission_action = Action.ADD
    permission_denied_message = "Only admins connect the YouTube channel."
    http_method_names = ["get"]

    def get(self, request):
        pending = request.session.pop(OAUTH_SESSION_KEY, None)
        try:
            message = self.connect(request, pending)
        except ValidationError as exc:
            messages.error(request, f"The channel was not connected: {error_text(exc, name_fields=False)}")
        else:
            messages.success(request, message)
        return redirect("pipeline:channel")

    def connect(self, request, pending) -> str:
        if not pending:
            raise ValidationError("no connection was started from this browser (or it was already used). "
                                  "Start again with “Connect with Google”. Nothing was saved.")
        if not secrets.compare_digest(request.GET.get("state", ""), pending["state"]):
            raise ValidationError("the answer from Google does not belong to the request this browser made "
                                  "(state mismatch). Start again with “Connect with Google”. Nothing was saved.")
        if request.GET.get("error") or not request.GET.get("code"):
            reason = request.GET.get("error", "no authorization code")
            raise ValidationError(f"Google did not grant access ({reason}). Nothing was saved.")
        client_secret = crypto.decrypt(pending["client_secret"])
        refresh_token = youtube_oauth.exchange_code(
            client_id=pending["client_id"], client_secret=client_secret, code=request.GET["code"],
            redirect_uri=pending["redirect_uri"], verifier=pending["verifier"])
        channel = services.connect_channel(request.user, client_id=pending["client_id"],
                                           client_secret=client_secret, refresh_token=refresh_token)
        return f"YouTube channel “{channel.channel_title}” connected. New runs can upload to it."
