"""The audit log page: read-only, filterable, paginated, admins only (monitoring.audit)."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.views.generic import TemplateView

from accounts.mixins import RestrictedViewMixin

from . import audit


class AuditFilterForm(forms.Form):
    user = forms.ModelChoiceField(queryset=None, required=False, empty_label="Anyone", label="Who")
    kind = forms.ChoiceField(required=False, label="Kind")
    what = forms.CharField(required=False, max_length=200, label="What",
                           help_text="Words in the message or the changed object.")
    since = forms.DateTimeField(required=False, label="From", help_text="e.g. 2026-11-01 or 2026-11-01 08:00")
    until = forms.DateTimeField(required=False, label="Until", help_text="Entries before this moment.")

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = get_user_model().objects.restrict(viewer).order_by("username")
        self.fields["kind"].choices = [("", "Any kind")] + audit.kind_choices()

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            self.add_error("until", "“Until” must be after “From”.")
        return data


class AuditLogView(RestrictedViewMixin, TemplateView):
    """Who did what: the admin's changes and the services' administrative actions, newest first."""

    template_name = "monitoring/audit.html"
    queryset = audit.audit_queryset()
    paginate_by = 50

    def get(self, request, *args, **kwargs):
        form = AuditFilterForm(request.GET, viewer=request.user)
        # A bad filter is a 400 that shows its errors next to the fields, never everything unfiltered.
        valid = form.is_valid()
        rows = audit.entries(request.user, form.cleaned_data) if valid else []
        page = Paginator(rows, self.paginate_by).get_page(request.GET.get("page"))
        page.object_list = audit.hydrate(page.object_list)
        filtered = any(request.GET.get(name) for name in form.fields)
        context = self.get_context_data(form=form, page_obj=page, filtered=filtered)
        return self.render_to_response(context, status=200 if valid else 400)
