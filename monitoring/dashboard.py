"""Monitoring's card on the home dashboard: the user's own AI spend this month."""

from lofisite.dashboard import Card

from . import ai


def cards(request):
    return [Card("monitoring/_dashboard_ai.html", "stat", {"ai": ai.budget_summary(request.user)})]
