"""Accounts' cards on the home dashboard: your role, the team (as far as you may see it), sign-ins."""

from django.db.models import Count

from lofisite.dashboard import Card

from .models import LoginEvent, User
from .roles import Role


def cards(request):
    user = request.user
    team = {"role_label": user.role_label, "shows_team": User.objects.shows_everyone(user)}
    if team["shows_team"]:
        by_role = dict(User.objects.restrict(user).filter(is_active=True).values_list("role")
                       .annotate(n=Count("id")))
        team.update(role_counts=[(role.label, by_role.get(role.value, 0)) for role in Role],
                    active_users=sum(by_role.values()))
    return [
        Card("accounts/_dashboard_team.html", "stat", team),
        Card("accounts/_dashboard_sign_ins.html", "panel",
             {"sign_ins": LoginEvent.objects.restrict(user).filter(user=user)[:5]}),
    ]
