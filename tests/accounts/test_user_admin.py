"""The user admin changes roles and the active flag through accounts.services.update_user,
so an admin cannot demote or deactivate themselves there either."""

import pytest
from django.test import Client

from accounts.models import APIToken, User
from accounts.roles import Role
from accounts.tokens import create_token

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def change_form(user, **changes):
    """The POST of the user's admin change form, as the page fills it in, with `changes`."""
    data = {
        "username": user.username, "first_name": user.first_name, "last_name": user.last_name,
        "email": user.email, "role": user.role, "ai_monthly_budget_usd": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"), "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "", "last_login_1": "",
    }  # fmt: skip
    if user.is_active:
        data["is_active"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize("changes, field", [({"role": Role.VIEWER}, "role"), ({"role": Role.OPERATOR}, "role"),
                                            ({"is_active": None}, "is_active")])
def test_an_admin_cannot_demote_or_deactivate_themselves_in_the_admin(admin_client, admin_user, changes, field):
    response = admin_client.post(f"{USERS}{admin_user.pk}/change/", change_form(admin_user, **changes))
    assert response.status_code == 200
    assert "You cannot demote or deactivate yourself." in response.content.decode()
    assert field in response.context["adminform"].form.errors
    fresh = User.objects.get(pk=admin_user.pk)
    assert (fresh.role, fresh.is_active, fresh.is_staff, fresh.is_superuser) == (Role.ADMIN, True, True, True)
    assert admin_client.get("/admin/").status_code == 200


def test_an_admin_edits_their_own_details_in_the_admin(admin_client, admin_user):
    response = admin_client.post(f"{USERS}{admin_user.pk}/change/", change_form(admin_user, first_name="Ada L."))
    assert response.status_code == 302
    fresh = User.objects.get(pk=admin_user.pk)
    assert (fresh.first_name, fresh.role) == ("Ada L.", Role.ADMIN)


def test_an_admin_changes_another_users_role_and_groups_follow(admin_client, viewer):
    response = admin_client.post(f"{USERS}{viewer.pk}/change/", change_form(viewer, role=Role.OPERATOR))
    assert response.status_code == 302
    fresh = User.objects.get(pk=viewer.pk)
    assert fresh.role == Role.OPERATOR and not fresh.is_staff
    assert list(fresh.groups.values_list("name", flat=True)) == [Role.OPERATOR.value]


def test_deactivating_someone_in_the_admin_revokes_their_tokens(admin_client, operator):
    issued = create_token(operator, "cron", write=True)
    response = admin_client.post(f"{USERS}{operator.pk}/change/", change_form(operator, is_active=None))
    assert response.status_code == 302
    assert not User.objects.get(pk=operator.pk).is_active
    token = APIToken.objects.get(pk=issued.token.pk)
    assert token.revoked_at is not None and token.revoke_reason == APIToken.RevokeReason.DEACTIVATED
