"""Mixins every app's HTML views share (no app imported): the section tab and 400 for invalid forms."""


class SectionTabMixin:
    """`tab` marks the current section in an app's sub-navigation (templates/<app>/_subnav.html)."""

    tab = ""

    def get_context_data(self, **kwargs):
        return super().get_context_data(tab=self.tab, **kwargs)


class FormStatusMixin:
    """Invalid forms answer 400 (bad input is a 4xx), with the errors next to the fields."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response
