"""Monitoring's cards on the home dashboard: the user's own AI spend this month, AI spend per day
(of the calls the user may see), and a health summary.

Every figure is cached per user and role (lofisite.cache): the AI figures in ai.DASHBOARD_NAMESPACE,
forgotten on commit when the gateway records a call or a budget changes; the health summary for
HEALTH_SUMMARY_SECONDS (running the checks is what it saves), per "sees details" or not.
"""

import logging
from datetime import date

from django.contrib.auth import get_user_model

from lofisite import health
from lofisite.cache import cached
from lofisite.dashboard import Card, rendered_cache

from . import ai, costs
from .health import details_visible_to
from .models import AIUsage

logger = logging.getLogger(__name__)
CHART_DAYS = 14
HEALTH_SUMMARY_NAMESPACE = "dashboard:health"
HEALTH_SUMMARY_SECONDS = 30


@cached(ai.DASHBOARD_NAMESPACE, ttl=300)
def _ai_figures(*, user_id: int, role: str, days: int) -> dict:
    user = get_user_model().objects.get(pk=user_id)
    budget = ai.budget_summary(user)
    daily = costs.daily_spend(costs.report(days=days, viewer=user))
    return {
        "month": budget["month"], "spent_usd": str(budget["spent_usd"]), "budget_usd": str(budget["budget_usd"]),
        "remaining_usd": str(budget["remaining_usd"]), "ai_enabled": budget["ai_enabled"],
        "everyone": AIUsage.objects.shows_everyone(user),
        "daily": [{"day": row["day"].isoformat(), "cost_usd": str(row["cost_usd"]), "calls": row["calls"]}
                  for row in daily],
    }


def ai_figures(user, days: int = CHART_DAYS) -> dict:
    """The card's figures (money as strings, days as ISO dates: cached as JSON)."""
    return _ai_figures(user_id=user.pk, role=user.role, days=days)


def daily_rows(figures: dict) -> list[dict]:
    """The cached daily spend back as dates and numbers (for the chart and the table)."""
    return [{"day": date.fromisoformat(row["day"]), "cost_usd": float(row["cost_usd"]), "calls": row["calls"]}
            for row in figures["daily"]]


@cached(HEALTH_SUMMARY_NAMESPACE, ttl=HEALTH_SUMMARY_SECONDS)
def _health_summary(*, details: bool) -> dict:
    raw = health.run_checks()
    results = [health.describe(result) for result in raw]
    problems = [row for row in results if row["status"] != "ok"]
    return {
        "status": health.overall(raw),
        "checks": len(results), "ok": len(results) - len(problems),
        # Which check fails and why is for the people who see health details (admins).
        "problems": [{"name": row["name"], "status": row["status"], "message": row["message"]}
                     for row in problems] if details else [],
    }


def health_summary(user) -> dict:
    try:
        return _health_summary(details=details_visible_to(user))
    except Exception:  # the checks themselves broke: the dashboard still shows, saying so
        logger.exception("The dashboard's health summary could not run the checks.")
        return {"status": "unknown", "checks": 0, "ok": 0, "problems": []}


# Every figure here is cached per role (AI spend, health summary): the rendered cards are too, as briefly.
@rendered_cache(ai.DASHBOARD_NAMESPACE, HEALTH_SUMMARY_NAMESPACE, ttl=HEALTH_SUMMARY_SECONDS)
def cards(request):
    user = request.user
    figures = ai_figures(user)
    return [
        Card("monitoring/_dashboard_ai.html", "stat", {"ai": figures}),
        Card("monitoring/_dashboard_ai_spend.html", "panel",
             {"ai": figures, "daily": list(reversed(daily_rows(figures)))}),
        Card("monitoring/_dashboard_health.html", "panel",
             {"health": health_summary(user), "details": details_visible_to(user)}),
    ]
