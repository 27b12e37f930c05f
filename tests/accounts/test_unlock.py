"""Unlocking a locked-out account: from the user admin (action and button) and `manage.py users unlock`."""

import io

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"
TOKEN_URL = "/api/v1/auth/token/"
USERS = "/admin/accounts/user/"


def sign_in(username, password=PASSWORD, **extra):
    return Client().post(LOGIN_URL, {"username": username, "password": password}, **extra)


def lock_out(user):
    """Wrong passwords from two addresses until both are locked out, the right one refused too."""
    for address in ("127.0.0.1", "198.51.100.7"):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(user.username, "wrong-password-here", REMOTE_ADDR=address)
        assert sign_in(user.username, REMOTE_ADDR=address).status_code == 403


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_admin_button_unlocks_a_locked_user_everywhere(admin_client, operator):
    lock_out(operator)
    page = admin_client.get(f"{USERS}{operator.pk}/change/").content.decode()
    assert "Locked out after too many failed sign-ins, from: 127.0.0.1, 198.51.100.7." in page
    assert f'action="{USERS}{operator.pk}/unlock/"' in page

    response = admin_client.post(f"{USERS}{operator.pk}/unlock/", follow=True)
    assert response.redirect_chain[-1][0] == f"{USERS}{operator.pk}/change/"
    assert f"Sign-in unlocked for {operator.username}" in response.content.decode()
    assert "No failed sign-in attempts on record." in response.content.decode()
    assert sign_in(operator.username).status_code == 302
    assert sign_in(operator.username, REMOTE_ADDR="198.51.100.7").status_code == 302
    token = APIClient().post(TOKEN_URL, {"username": operator.username, "password": PASSWORD}, format="json")
    assert token.status_code == 200


def test_the_unlock_is_a_post_for_admins_only(admin_client, operator, other_operator):
    lock_out(operator)
    assert admin_client.get(f"{USERS}{operator.pk}/unlock/").status_code == 405
    other = Client()
    other.force_login(other_operator)
    response = other.post(f"{USERS}{operator.pk}/unlock/")
    assert response.status_code in (302, 403)  # the admin site's own answer to a non-admin
    assert AccessAttempt.objects.filter(username=operator.username).exists()
    assert sign_in(operator.username).status_code == 403


def test_the_admin_action_unlocks_the_selected_users(admin_client, operator, other_operator, viewer):
    lock_out(operator)
    lock_out(other_operator)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(viewer.username, "wrong-password-here")
    selected = [operator.pk, other_operator.pk]
    response = admin_client.post(USERS, {"action": "unlock_sign_in", "_selected_action": selected}, follow=True)
    assert "Sign-in unlocked for" in response.content.decode()
    assert sign_in(operator.username).status_code == 302
    assert sign_in(other_operator.username).status_code == 302
    assert sign_in(viewer.username).status_code == 403  # not selected: still locked


def test_users_unlock_command_unlocks_a_locked_user(operator):
    lock_out(operator)
    out = io.StringIO()
    call_command("users", "unlock", operator.username, stdout=out)
    assert f"Sign-in of {operator.username} unlocked" in out.getvalue()
    assert sign_in(operator.username).status_code == 302
    assert sign_in(operator.username, REMOTE_ADDR="198.51.100.7").status_code == 302


def test_users_unlock_clears_what_was_typed_in_another_case(operator):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(operator.username.upper(), "wrong-password-here")
    call_command("users", "unlock", operator.username, stdout=io.StringIO())
    assert not AccessAttempt.objects.filter(username__iexact=operator.username).exists()


def test_users_unlock_of_an_unknown_user_is_a_clear_error(operator):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("users", "unlock", "nobody")


def test_users_unlock_of_a_user_who_is_not_locked_says_so(operator):
    out = io.StringIO()
    call_command("users", "unlock", operator.username, stdout=out)
    assert "was not locked out" in out.getvalue()
