"""Reply suggestions in the conversation view: send (the body as edited) or discard. Thin:
vinted.services.replies decides; access is the suggestion queryset's rule (owner-only)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.generic import FormView

from accounts.mixins import ObjectActionView, ObjectPermissionMixin
from accounts.roles import Action
from lofisite.page_mixins import FormStatusMixin

from ..forms import apply_service_errors
from ..forms_inbox import SuggestionForm
from ..models import ReplySuggestion
from ..services import inbox
from ..services import replies as services
from .inbox import InboxPageMixin, conversation_context

SUGGESTIONS = ReplySuggestion.objects.select_related("conversation__account__owner", "conversation__listing")


class SuggestionSendView(FormStatusMixin, InboxPageMixin, ObjectPermissionMixin, FormView):
    queryset = SUGGESTIONS
    permission_action = Action.CHANGE
    template_name = "vinted/inbox/conversation_detail.html"
    form_class = SuggestionForm
    http_method_names = ["post"]
    permission_denied_message = "Only the account's owner or an admin may send its suggested replies."

    def post(self, request, *args, **kwargs):
        self.suggestion = self.get_object()
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "auto_id": f"id_suggestion_{self.suggestion.pk}_%s"}

    def get_context_data(self, **kwargs):
        form = kwargs.pop("form", None)
        conversation = self.suggestion.conversation
        return {**super().get_context_data(**kwargs),
                **conversation_context(self.request, conversation, suggestion_form=(self.suggestion.pk, form))}

    def form_valid(self, form):
        # No body field posted: the suggestion as drafted; a posted one (even emptied) is what is checked.
        body = form.cleaned_data["body"] if "body" in self.request.POST else None
        try:
            services.send(self.suggestion, by_user=self.request.user, body=body)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        except inbox.ReplyLimitReached as exc:
            form.add_error(None, exc.message)
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            response["Retry-After"] = str(exc.retry_after)
            return response
        messages.success(self.request, "Reply queued: it is sent to Vinted in the background.")
        return redirect(self.suggestion.conversation)


class SuggestionDiscardView(ObjectActionView):
    queryset = SUGGESTIONS
    permission_denied_message = "Only the account's owner or an admin may discard its suggested replies."

    def act(self, suggestion, user) -> str:
        services.discard(suggestion, by_user=user)
        return "Suggestion discarded."

    def get_success_url(self, suggestion):
        return suggestion.conversation.get_absolute_url()
