"""The inbox's forms: the reply box, and the one conversation filter shared by the page and the
API (`account`: one of the user's visible Vinted accounts; `unread`: only conversations with
unread messages)."""

import django_filters
from django import forms

from lofisite.filters import StrictBooleanFilter

from .models import Conversation, VintedAccount
from .services.inbox import REPLY_MAX_CHARS


def visible_accounts(request):
    if request is None:
        return VintedAccount.objects.none()
    return VintedAccount.objects.restrict(request.user).order_by("label", "id")


class ConversationFilterSet(django_filters.FilterSet):
    account = django_filters.ModelChoiceFilter(queryset=visible_accounts, label="Account",
                                               empty_label="All accounts")
    unread = StrictBooleanFilter(method="only_unread", label="Unread only",
                                 help_text="true: only conversations with unread messages.")

    class Meta:
        model = Conversation
        fields = ["account", "unread"]

    def only_unread(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(unread_count__gt=0) if value else queryset.filter(unread_count=0)


class ReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", max_length=REPLY_MAX_CHARS, strip=True,
                           widget=forms.Textarea(attrs={"rows": 4}),
                           error_messages={"required": "Write a message before sending."},
                           help_text=f"Sent to the buyer on Vinted (at most {REPLY_MAX_CHARS} characters).")


class SuggestionForm(forms.Form):
    """A reply suggestion's body, as the seller may edit it before sending (vinted.views.replies)."""

    body = forms.CharField(label="Suggested reply", required=False, max_length=REPLY_MAX_CHARS, strip=True,
                           widget=forms.Textarea(attrs={"rows": 4}),
                           help_text="Edit it if you like, then send; it is checked like any reply (no contact "
                                     "details).")
