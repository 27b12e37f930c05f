"""Vinted inbox pages: conversations with unread counts (filter by account), a conversation with
its messages, the open reply suggestions under the buyer's messages (part 3: vinted.views.replies sends
or discards them) and the reply box, and the messages part the page polls while a reply is on its way.
Thin: vinted.services.inbox does the work; access is the conversation queryset's rule (owner-only:
each seller sees their own conversations, admins all)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import DetailView, FormView

from accounts.mixins import ObjectActionView, ObjectListView, ObjectPermissionMixin
from accounts.roles import Action
from lofisite.page_mixins import FormStatusMixin

from ..choices import MessageStatus
from ..forms import apply_service_errors
from ..forms_inbox import ConversationFilterSet, ReplyForm, SuggestionForm
from ..models import Conversation, VintedAccount
from ..services import automation
from ..services import inbox as services
from ..services.replies import OPEN_STATUSES, current_draft
from .listings import VintedPageMixin

CONVERSATIONS = Conversation.objects.select_related("account", "account__owner", "listing")


class InboxPageMixin(VintedPageMixin):
    tab = "inbox"


class ConversationListView(InboxPageMixin, ObjectListView):
    queryset = CONVERSATIONS
    filterset_class = ConversationFilterSet
    template_name = "vinted/inbox/conversation_list.html"
    context_object_name = "conversations"

    def get_queryset(self):
        return super().get_queryset().order_by("-last_message_at", "-id")

    def get_context_data(self, **kwargs):
        user = self.request.user
        # "Sync now" for the active accounts the user may change (their own; an admin's too).
        syncable = VintedAccount.objects.restrict(user, Action.CHANGE).usable().order_by("label", "id")
        return super().get_context_data(shows_everyone=Conversation.objects.shows_everyone(user),
                                        unread_total=services.unread_total(user), syncable=syncable,
                                        sync_minutes=settings.VINTED_INBOX_SYNC_MINUTES, **kwargs)


def conversation_context(request, conversation, **extra) -> dict:
    thread = list(conversation.messages.select_related("sent_by"))
    can_reply = Conversation.objects.permits(request.user, conversation, Action.CHANGE)
    posted = extra.pop("suggestion_form", None)
    if can_reply and not _attach_suggestions(conversation, thread, posted) and posted and posted[1] is not None:
        extra["suggestion_errors"] = posted[1]  # the suggestion is no longer open: its errors go on top
    context = {"conversation": conversation, "object": conversation, "thread": thread, "tab": "inbox",
               "can_reply": can_reply,
               "sending": any(message.status == MessageStatus.SENDING for message in thread)}
    if can_reply:
        context["reply_form"] = extra.pop("reply_form", None) or ReplyForm()
    context.update(extra)
    return context


def _attach_suggestions(conversation, thread, posted=None) -> bool:
    """Each message's open reply suggestion (part 3) and its form: the posted one, with its errors,
    for the suggestion just sent (`posted`: (suggestion id, form)), else the draft written again from
    the listing as it is now (marked outdated when the listing changed since); times in the account's
    zone. Returns whether the posted form found its suggestion."""
    posted_pk, posted_form = posted or (None, None)
    open_ones = {suggestion.message_id: suggestion
                 for suggestion in conversation.suggestions.filter(status__in=OPEN_STATUSES).select_related("message")}
    time_zone = automation.settings_for(conversation.account).time_zone if open_ones else None
    attached = False
    for message in thread:
        suggestion = open_ones.get(message.pk)
        if suggestion is None:
            continue
        suggestion.conversation, suggestion.time_zone = conversation, time_zone
        draft = current_draft(suggestion)
        suggestion.outdated = draft != suggestion.body
        if suggestion.pk == posted_pk and posted_form is not None:
            suggestion.form, attached = posted_form, True
        else:
            suggestion.form = SuggestionForm(initial={"body": draft},
                                             auto_id=f"id_suggestion_{suggestion.pk}_%s")
        message.open_suggestion = suggestion
    return attached


class ConversationDetailView(InboxPageMixin, ObjectPermissionMixin, DetailView):
    queryset = CONVERSATIONS
    template_name = "vinted/inbox/conversation_detail.html"

    def get_object(self, queryset=None):
        conversation = super().get_object(queryset)
        services.mark_read(conversation, self.request.user)  # the owner has now seen the buyer's messages
        return conversation

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **conversation_context(self.request, self.object)}


class ConversationMessagesView(ConversationDetailView):
    """The messages alone, for the page's htmx polling while a reply is being sent."""

    template_name = "vinted/inbox/_thread.html"


class ConversationReplyView(FormStatusMixin, InboxPageMixin, ObjectPermissionMixin, FormView):
    queryset = CONVERSATIONS
    permission_action = Action.CHANGE
    template_name = "vinted/inbox/conversation_detail.html"
    form_class = ReplyForm
    http_method_names = ["post"]
    permission_denied_message = "Only the account's owner or an admin may reply."

    def post(self, request, *args, **kwargs):
        self.conversation = self.get_object()
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        form = kwargs.pop("form", None)
        return {**super().get_context_data(**kwargs),
                **conversation_context(self.request, self.conversation, reply_form=form)}

    def form_valid(self, form):
        try:
            services.send_reply(self.conversation, form.cleaned_data["body"], by_user=self.request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        except services.ReplyLimitReached as exc:
            form.add_error(None, exc.message)
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            response["Retry-After"] = str(exc.retry_after)
            return response
        messages.success(self.request, "Reply queued: it is sent to Vinted in the background.")
        return redirect(self.conversation)


class InboxSyncView(ObjectActionView):
    """"Sync now" for one account: its sync job is queued (the ledger and the breaker apply)."""

    queryset = VintedAccount.objects.all()
    permission_denied_message = "Only the account's owner or an admin may sync it."

    def act(self, account, user) -> str:
        if services.queue_sync(account, by_user=user):
            return f"Syncing the inbox of {account.label} in the background: reload in a moment."
        return f"A sync of {account.label} is already on its way."

    def get_success_url(self, account):
        return reverse("vinted:conversation-list")
