"""Issue 7 item 14: look-alike usernames ("аdmin" with a Cyrillic а) are refused on every path that creates users."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import User
from accounts.services import create_user
from tests.api_helpers import field_errors
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOOKALIKE = "\u0430dmin"  # Cyrillic small a + "dmin": renders exactly like "admin"
MESSAGE = "this name mixes Cyrillic and Latin"


def test_admin_api_refuses_a_mixed_script_username(api_as, admin_user):
    response = api_as(admin_user).post("/api/v1/users/", {"username": LOOKALIKE, "email": "x@example.com",
                                                          "password": PASSWORD}, format="json")
    fields = field_errors(response)
    assert MESSAGE in fields["username"][0]
    assert not User.objects.filter(username=LOOKALIKE).exists()


def test_users_create_command_refuses_a_mixed_script_username(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    with pytest.raises(CommandError, match=MESSAGE):
        call_command("users", "create", LOOKALIKE, "x@example.com", "--password-stdin", stdout=io.StringIO())
    assert not User.objects.exists()


def test_django_admin_add_form_refuses_a_mixed_script_username(admin_user):
    client = Client()
    client.force_login(admin_user)
    response = client.post("/admin/accounts/user/add/", {
        "username": LOOKALIKE, "email": "x@example.com", "role": "viewer",
        "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"})
    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    assert not User.objects.filter(username=LOOKALIKE).exists()


def test_service_refuses_a_mixed_script_username_with_a_field_error():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        create_user("p\u0430yp\u0430l", "x@example.com", PASSWORD)
    assert MESSAGE in raised.value.message_dict["username"][0]


def test_fullwidth_letters_are_normalised_and_then_clash_with_the_existing_name(api_as, admin_user):
    # "ａｄａ" (fullwidth) is NFKC "ada", the admin persona's name.
    response = api_as(admin_user).post("/api/v1/users/", {"username": "\uff41\uff44\uff41", "email": "x@example.com",
                                                          "password": PASSWORD}, format="json")
    assert "already exists" in field_errors(response)["username"][0]


@pytest.mark.parametrize("username", ["jose.garcia", "jos\u00e9", "\u0438\u0432\u0430\u043d",
                                      "\u5c71\u7530\u305f\u308d\u3046", "ops_bot-2", "\u0391\u03b8\u03b7\u03bd\u03ac"])
def test_single_script_names_are_still_welcome(username):
    user = create_user(username, "x@example.com", PASSWORD)
    assert user.username == username
