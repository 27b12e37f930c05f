"""Accounts: sign-in pages, sign-in records, password change, lockout, manage.py commands, user API."""

import io
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils.module_loading import import_string
from rest_framework.test import APIClient

from accounts.models import LoginEvent, User
from accounts.roles import Role
from tests.api_helpers import assert_error, field_errors
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"
TOKEN_URL = "/api/v1/auth/token/"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/126.0.0.0 Safari/537.36")


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password}, **extra)


def csrf_client():
    return Client(enforce_csrf_checks=True)


def csrf_token_from(response):
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match, "the form has no CSRF token"
    return match.group(1)


# --- login page ----------------------------------------------------------------------------------------


def test_login_page_signs_in_with_csrf(operator):
    client = csrf_client()
    page = client.get(LOGIN_URL)
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode() and 'type="password"' in page.content.decode()
    token = csrf_token_from(page)

    response = client.post(LOGIN_URL, {"username": operator.username, "password": PASSWORD,
                                       "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert int(client.session[SESSION_KEY]) == operator.pk
    home = client.get("/")
    assert home.status_code == 200
    assert operator.username in home.content.decode()


def test_login_without_csrf_token_is_refused_with_a_friendly_page(operator):
    client = csrf_client()
    client.get(LOGIN_URL)
    response = client.post(LOGIN_URL, {"username": operator.username, "password": PASSWORD})
    assert response.status_code == 403
    assert "Form expired" in response.content.decode()
    assert response["X-Request-ID"] in response.content.decode()
    assert SESSION_KEY not in client.session


def test_session_cookie_is_httponly(operator):
    client = Client()
    sign_in(client, operator.username)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_wrong_password_shows_an_error_and_does_not_sign_in(operator):
    client = Client()
    response = sign_in(client, operator.username, "wrong-password-here")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert SESSION_KEY not in client.session
    assert not LoginEvent.objects.exists()


@pytest.mark.parametrize("data,field", [
    ({"username": "", "password": "x"}, "username"),
    ({"username": "otto", "password": ""}, "password"),
    ({"username": "o" * 151, "password": "x"}, "username"),
])
def test_login_form_bad_input_gives_field_errors(operator, data, field):
    response = Client().post(LOGIN_URL, data)
    assert response.status_code == 200
    assert field in response.context["form"].errors


def test_next_is_followed_but_not_to_another_site(operator):
    client = Client()
    assert sign_in(client, operator.username)["Location"] == "/"
    client.logout()
    response = client.post(f"{LOGIN_URL}?next=/accounts/profile/",
                           {"username": operator.username, "password": PASSWORD})
    assert response["Location"] == "/accounts/profile/"
    client.logout()
    response = client.post(f"{LOGIN_URL}?next=https://evil.example/",
                           {"username": operator.username, "password": PASSWORD})
    assert response["Location"] == "/"


def test_session_key_is_rotated_at_login(operator):
    client = Client()
    session = client.session  # creates and stores an anonymous session with a cookie
    session["theme"] = "dark"
    session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value

    assert sign_in(client, operator.username).status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    store: type[SessionBase] = import_string(settings.SESSION_ENGINE + ".SessionStore")
    assert not store().exists(before)  # the old key cannot be replayed
    assert int(client.session[SESSION_KEY]) == operator.pk


def test_logout_is_a_post_and_ends_the_session(operator):
    client = Client()
    sign_in(client, operator.username)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/")["Location"].startswith("/accounts/login/")


# --- sign-in records -------------------------------------------------------------------------------------


def test_sign_in_records_ip_user_agent_and_device_hash(operator):
    sign_in(Client(), operator.username, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT=FIREFOX,
            HTTP_ACCEPT_LANGUAGE="fr-FR")
    event = LoginEvent.objects.get(user=operator)
    assert event.method == LoginEvent.Method.WEB
    assert event.ip_address == "203.0.113.9"
    assert event.user_agent == FIREFOX
    assert re.fullmatch(r"[0-9a-f]{64}", event.device_hash)
    assert FIREFOX not in event.device_hash
    assert event.is_new_device
    assert event.device_label == "Firefox on Linux"


def test_sign_in_with_a_huge_user_agent_is_recorded_truncated(operator):
    response = sign_in(Client(), operator.username, HTTP_USER_AGENT="Mozilla/5.0 " + "x" * 3000)
    assert response.status_code == 302
    event = LoginEvent.objects.get(user=operator)
    assert len(event.user_agent) == 512 and event.user_agent.startswith("Mozilla/5.0 x")


def test_new_device_is_flagged_only_the_first_time(operator, other_operator):
    def login(user, ua, lang="en"):
        sign_in(Client(), user.username, HTTP_USER_AGENT=ua, HTTP_ACCEPT_LANGUAGE=lang)
        return LoginEvent.objects.filter(user=user).first()

    first = login(operator, FIREFOX)
    second = login(operator, FIREFOX)
    other_browser = login(operator, CHROME)
    back_to_firefox = login(operator, FIREFOX)
    assert first.is_new_device
    assert not second.is_new_device
    assert second.device_hash == first.device_hash
    assert other_browser.is_new_device
    assert other_browser.device_hash != first.device_hash
    assert not back_to_firefox.is_new_device
    # A device is new per user: the same browser is new for somebody else.
    assert login(other_operator, FIREFOX).is_new_device
    assert LoginEvent.objects.filter(user=operator).count() == 4


def test_profile_shows_recent_sign_ins(operator, other_operator):
    sign_in(Client(), operator.username, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT=CHROME)
    sign_in(Client(), other_operator.username, REMOTE_ADDR="198.51.100.77", HTTP_USER_AGENT=FIREFOX)
    client = Client()
    sign_in(client, operator.username, REMOTE_ADDR="203.0.113.10", HTTP_USER_AGENT=FIREFOX)
    page = client.get("/accounts/profile/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Recent sign-ins" in html
    assert "203.0.113.9" in html and "203.0.113.10" in html
    assert "Chrome on Windows" in html and "Firefox on Linux" in html
    assert "New device" in html
    assert "198.51.100.77" not in html  # somebody else's sign-in
    assert operator.role_label in html


# --- password change ---------------------------------------------------------------------------------------


def test_password_change_works_and_keeps_the_session(operator):
    client = Client()
    sign_in(client, operator.username)
    new_password = "a-brand-new-long-passphrase-77"
    response = client.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password,
    }, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/profile/"
    assert "Your password was changed." in response.content.decode()
    assert client.get("/").status_code == 200  # still signed in
    operator.refresh_from_db()
    assert operator.check_password(new_password)
    assert sign_in(Client(), operator.username, new_password).status_code == 302
    assert sign_in(Client(), operator.username, PASSWORD).status_code == 200  # old one is gone


@pytest.mark.parametrize("new_password,message", [
    ("short-pw-1", "at least 12 characters"),
    ("123456789012345", "entirely numeric"),
    ("password1234", "too common"),
])
def test_password_change_validators_give_a_field_error(operator, new_password, message):
    client = Client()
    sign_in(client, operator.username)
    response = client.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password,
    })
    assert response.status_code == 200
    form = response.context["form"]
    field_messages = [m for field in ("new_password1", "new_password2") for m in form.errors.get(field, [])]
    assert any(message in m for m in field_messages), form.errors
    assert "field-error" in response.content.decode()
    assert message in response.content.decode()
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)


def test_password_change_with_wrong_old_password(operator):
    client = Client()
    sign_in(client, operator.username)
    response = client.post("/accounts/password/", {
        "old_password": "not-my-password", "new_password1": "a-brand-new-long-passphrase-77",
        "new_password2": "a-brand-new-long-passphrase-77",
    })
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)


def test_password_change_needs_sign_in():
    response = Client().get("/accounts/password/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- lockout -------------------------------------------------------------------------------------------------


def test_html_login_locks_after_failure_limit(operator):
    limit = settings.AXES_FAILURE_LIMIT
    client = Client()
    for _ in range(limit - 1):
        assert sign_in(client, operator.username, "wrong-password-here").status_code == 200
    locked = sign_in(client, operator.username, "wrong-password-here")
    assert locked.status_code == 403
    assert "Too many failed sign-in attempts" in locked.content.decode()
    # Even the right password is refused while locked, with the same clear message.
    response = sign_in(client, operator.username)
    assert response.status_code == 403
    assert "locked for 15 minutes" in response.content.decode()
    assert SESSION_KEY not in client.session
    assert not LoginEvent.objects.filter(user=operator).exists()


def test_token_endpoint_locks_after_failure_limit(operator):
    limit = settings.AXES_FAILURE_LIMIT
    client = APIClient()
    for _ in range(limit - 1):
        response = client.post(TOKEN_URL, {"username": operator.username, "password": "wrong"}, format="json")
        assert_error(response, 401, "INVALID_CREDENTIALS")
    client.post(TOKEN_URL, {"username": operator.username, "password": "wrong"}, format="json")
    response = client.post(TOKEN_URL, {"username": operator.username, "password": PASSWORD}, format="json")
    body = assert_error(response, 403, "ACCOUNT_LOCKED")
    assert "Too many failed sign-in attempts" in body["error"]["message"]
    assert body["error"]["details"]["cooloff_minutes"] == 15
    assert int(response["Retry-After"]) == 15 * 60
    assert "access" not in response.content.decode()


def test_lockout_on_the_api_also_locks_the_html_login(operator):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        APIClient().post(TOKEN_URL, {"username": operator.username, "password": "wrong"}, format="json")
    assert sign_in(Client(), operator.username).status_code == 403


def test_lockout_is_per_user_and_address(operator, other_operator):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), operator.username, "wrong-password-here")
    assert sign_in(Client(), operator.username).status_code == 403
    assert sign_in(Client(), other_operator.username).status_code == 302
    assert sign_in(Client(), operator.username, REMOTE_ADDR="198.51.100.1").status_code == 302


def test_successful_login_resets_the_failure_counter(operator):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        sign_in(Client(), operator.username, "wrong-password-here")
    assert sign_in(Client(), operator.username).status_code == 302
    assert not AccessAttempt.objects.filter(username=operator.username, failures_since_start__gt=0).exists()
    for _ in range(limit - 1):
        sign_in(Client(), operator.username, "wrong-password-here")
    assert sign_in(Client(), operator.username).status_code == 302


def test_successful_token_resets_the_failure_counter(operator):
    limit = settings.AXES_FAILURE_LIMIT
    client = APIClient()
    for _ in range(2):
        for _ in range(limit - 1):
            client.post(TOKEN_URL, {"username": operator.username, "password": "wrong"}, format="json")
        ok = client.post(TOKEN_URL, {"username": operator.username, "password": PASSWORD}, format="json")
        assert ok.status_code == 200, ok.content


# --- manage.py users ------------------------------------------------------------------------------------------


@pytest.fixture
def stdin(monkeypatch):
    def feed(text):
        monkeypatch.setattr("sys.stdin", io.StringIO(text))

    feed("")
    return feed


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_users_create_with_password_stdin(stdin):
    stdin("a-long-enough-passphrase-9\n")
    output = run("users", "create", "olga", "olga@example.com", "--role", "operator", "--password-stdin")
    assert "Created olga (Operator)" in output
    user = User.objects.get(username="olga")
    assert user.email == "olga@example.com"
    assert user.role == Role.OPERATOR
    assert list(user.groups.values_list("name", flat=True)) == ["operator"]
    assert not user.is_staff
    assert user.check_password("a-long-enough-passphrase-9")


def test_users_create_admin_gets_the_admin_site(stdin):
    stdin("a-long-enough-passphrase-9\n")
    run("users", "create", "adam", "adam@example.com", "--role", "admin", "--password-stdin")
    user = User.objects.get(username="adam")
    assert user.is_staff and user.is_superuser


def test_users_create_without_stdin_or_tty_gives_a_clear_error(stdin):
    with pytest.raises(CommandError, match="--password-stdin"):
        run("users", "create", "olga", "olga@example.com")
    assert not User.objects.filter(username="olga").exists()


def test_users_create_with_empty_stdin(stdin):
    with pytest.raises(CommandError, match="empty"):
        run("users", "create", "olga", "olga@example.com", "--password-stdin")
    assert not User.objects.filter(username="olga").exists()


def test_users_create_duplicate_username(stdin, operator):
    stdin("a-long-enough-passphrase-9\n")
    with pytest.raises(CommandError, match="already exists"):
        run("users", "create", operator.username, "x@example.com", "--password-stdin")
    with pytest.raises(CommandError, match="already exists"):
        run("users", "create", operator.username.upper(), "x@example.com", "--password-stdin")
    assert User.objects.filter(username__iexact=operator.username).count() == 1


@pytest.mark.parametrize("password,message", [
    ("short", "at least 12 characters"),
    ("123456789012345", "entirely numeric"),
    ("olga@example.com", "too similar"),
])
def test_users_create_weak_password(stdin, password, message):
    stdin(password + "\n")
    with pytest.raises(CommandError, match=message):
        run("users", "create", "olga", "olga@example.com", "--password-stdin")
    assert not User.objects.filter(username="olga").exists()


@pytest.mark.parametrize("username,email", [("olga", "not-an-email"), ("bad name!", "o@example.com"),
                                            ("o" * 151, "o@example.com")])
def test_users_create_invalid_fields(stdin, username, email):
    stdin("a-long-enough-passphrase-9\n")
    with pytest.raises(CommandError):
        run("users", "create", username, email, "--password-stdin")
    assert not User.objects.filter(email=email).exists()


def test_users_create_unknown_role(stdin):
    with pytest.raises(CommandError, match="invalid choice"):
        run("users", "create", "olga", "olga@example.com", "--role", "superuser", "--password-stdin")


def test_users_list_is_a_table(admin_user, viewer):
    lines = run("users", "list").splitlines()
    assert lines[0].split() == ["USERNAME", "EMAIL", "ROLE", "ACTIVE", "LAST", "LOGIN"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["ada"][:4] == ["ada", "ada@example.com", "admin", "yes"]
    assert rows["vera"][:4] == ["vera", "vera@example.com", "viewer", "yes"]
    assert rows["vera"][4] == "never"
    # Columns line up.
    assert lines[1].index("admin") == lines[2].index("viewer") == lines[0].index("ROLE")


def test_users_set_role(viewer):
    output = run("users", "set-role", viewer.username, "admin")
    assert "vera is now Admin" in output
    viewer.refresh_from_db()
    assert viewer.role == Role.ADMIN and viewer.is_staff and viewer.is_superuser
    assert list(viewer.groups.values_list("name", flat=True)) == ["admin"]
    run("users", "set-role", viewer.username, "viewer")
    viewer.refresh_from_db()
    assert viewer.role == Role.VIEWER and not viewer.is_staff and not viewer.is_superuser


def test_users_set_role_unknown_user_or_role(viewer):
    with pytest.raises(CommandError, match="No user named"):
        run("users", "set-role", "ghost", "admin")
    with pytest.raises(CommandError, match="invalid choice"):
        run("users", "set-role", viewer.username, "root")


# --- manage.py bootstrap_admin ------------------------------------------------------------------------------


def test_bootstrap_admin_creates_an_admin_with_a_generated_password_once():
    output = run("bootstrap_admin")
    match = re.search(r"password: (\S+)", output)
    assert match, output
    password = match.group(1)
    assert len(password) >= 12
    admin = User.objects.get()
    assert admin.username == "admin"
    assert admin.role == Role.ADMIN and admin.is_staff and admin.is_superuser
    assert admin.check_password(password)
    assert sign_in(Client(), "admin", password).status_code == 302

    again = run("bootstrap_admin")
    assert "no admin created" in again
    assert "password" not in again
    assert User.objects.count() == 1


def test_bootstrap_admin_does_nothing_when_users_exist(viewer):
    output = run("bootstrap_admin")
    assert "no admin created" in output
    assert list(User.objects.values_list("username", flat=True)) == ["vera"]


# --- user management through the API (admins) ------------------------------------------------------------------


VALID_USER = {"username": "newbie", "email": "newbie@example.com", "password": "a-long-enough-passphrase-9",
              "role": "operator"}


def test_admin_creates_a_user(api_as, admin_user):
    response = api_as(admin_user).post("/api/v1/users/", VALID_USER, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "newbie" and body["role"] == "operator"
    assert body["scopes"] == ["read", "write"]
    assert "password" not in body
    user = User.objects.get(username="newbie")
    assert user.check_password(VALID_USER["password"])
    assert list(user.groups.values_list("name", flat=True)) == ["operator"]


@pytest.mark.parametrize("payload,fields", [
    ({}, {"username", "email", "password"}),
    ({**VALID_USER, "username": ["a"]}, {"username"}),
    ({**VALID_USER, "username": True}, {"username"}),
    ({**VALID_USER, "email": 42}, {"email"}),
    ({**VALID_USER, "password": {"x": 1}}, {"password"}),
    ({**VALID_USER, "role": "root"}, {"role"}),
    ({**VALID_USER, "role": 3}, {"role"}),
    ({**VALID_USER, "username": "u" * 151}, {"username"}),
    ({**VALID_USER, "username": "has spaces"}, {"username"}),
    ({**VALID_USER, "email": "not-an-email"}, {"email"}),
    ({**VALID_USER, "email": "a" * 250 + "@example.com"}, {"email"}),
    ({**VALID_USER, "password": "short"}, {"password"}),
    ({**VALID_USER, "password": "1234567890123"}, {"password"}),
    ({**VALID_USER, "password": "p" * 5000}, {"password"}),
])
def test_user_create_bad_input_gives_field_errors(api_as, admin_user, payload, fields):
    response = api_as(admin_user).post("/api/v1/users/", payload, format="json")
    errors = field_errors(response)
    assert set(errors) == fields, errors
    assert all(isinstance(messages, list) and messages for messages in errors.values())
    assert not User.objects.filter(username="newbie").exists()


def test_user_create_weak_password_message_is_readable(api_as, admin_user):
    response = api_as(admin_user).post("/api/v1/users/", {**VALID_USER, "password": "short"}, format="json")
    assert any("at least 12 characters" in m for m in field_errors(response)["password"])


def test_user_create_duplicate_username(api_as, admin_user):
    response = api_as(admin_user).post("/api/v1/users/", {**VALID_USER, "username": "ADA"}, format="json")
    assert "already exists" in field_errors(response)["username"][0]


def test_user_create_body_that_is_not_an_object(api_as, admin_user):
    response = api_as(admin_user).post("/api/v1/users/", [1, 2], format="json")
    assert_error(response, 400, "VALIDATION_ERROR")


def test_user_create_malformed_json(api_as, admin_user):
    response = api_as(admin_user).post("/api/v1/users/", "{not json", content_type="application/json")
    assert_error(response, 400, "PARSE_ERROR")


def test_admin_changes_a_role_with_a_partial_update(api_as, admin_user, viewer):
    client = api_as(admin_user)
    response = client.patch(f"/api/v1/users/{viewer.pk}/", {"role": "operator"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "operator"
    viewer.refresh_from_db()
    assert viewer.role == Role.OPERATOR
    assert viewer.email == "vera@example.com"  # untouched by the partial update
    assert list(viewer.groups.values_list("name", flat=True)) == ["operator"]

    response = client.patch(f"/api/v1/users/{viewer.pk}/", {"role": "admin"}, format="json")
    viewer.refresh_from_db()
    assert viewer.is_staff and viewer.is_superuser


def test_partial_update_bad_input(api_as, admin_user, viewer):
    client = api_as(admin_user)
    assert "role" in field_errors(client.patch(f"/api/v1/users/{viewer.pk}/", {"role": "god"}, format="json"))
    assert "email" in field_errors(client.patch(f"/api/v1/users/{viewer.pk}/", {"email": "x"}, format="json"))
    assert "is_active" in field_errors(client.patch(f"/api/v1/users/{viewer.pk}/", {"is_active": "maybe"},
                                                    format="json"))
    viewer.refresh_from_db()
    assert viewer.role == Role.VIEWER and viewer.email == "vera@example.com"


def test_full_update_and_delete_are_not_offered(api_as, admin_user, viewer):
    client = api_as(admin_user)
    assert_error(client.put(f"/api/v1/users/{viewer.pk}/", {**VALID_USER}, format="json"), 405,
                 "METHOD_NOT_ALLOWED")
    assert_error(client.delete(f"/api/v1/users/{viewer.pk}/"), 405, "METHOD_NOT_ALLOWED")
    assert User.objects.filter(pk=viewer.pk).exists()


def test_admin_cannot_demote_or_deactivate_themselves(api_as, admin_user):
    client = api_as(admin_user)
    for change in ({"role": "viewer"}, {"role": "operator"}, {"is_active": False}):
        response = client.patch(f"/api/v1/users/{admin_user.pk}/", change, format="json")
        body = assert_error(response, 400, "VALIDATION_ERROR")
        assert "yourself" in str(body["error"]["details"]) + body["error"]["message"]
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN and admin_user.is_active
    # Editing their own e-mail is fine.
    ok = client.patch(f"/api/v1/users/{admin_user.pk}/", {"email": "ada@new.example.com"}, format="json")
    assert ok.status_code == 200, ok.content


def test_deactivated_user_cannot_sign_in(api_as, admin_user, viewer):
    response = api_as(admin_user).patch(f"/api/v1/users/{viewer.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert sign_in(Client(), viewer.username).status_code == 200  # form error, no session


def test_unknown_user_is_404(api_as, admin_user):
    assert_error(api_as(admin_user).get("/api/v1/users/999999/"), 404, "NOT_FOUND")
    assert_error(api_as(admin_user).patch("/api/v1/users/999999/", {"role": "viewer"}, format="json"), 404,
                 "NOT_FOUND")


def test_operator_cannot_manage_users(api_as, operator, viewer):
    client = api_as(operator)
    assert_error(client.post("/api/v1/users/", VALID_USER, format="json"), 403, "PERMISSION_DENIED")
    assert_error(client.patch(f"/api/v1/users/{viewer.pk}/", {"role": "admin"}, format="json"), 403,
                 "PERMISSION_DENIED")
    assert_error(client.patch(f"/api/v1/users/{operator.pk}/", {"role": "admin"}, format="json"), 403,
                 "PERMISSION_DENIED")
    operator.refresh_from_db()
    assert operator.role == Role.OPERATOR


def test_user_list_is_paginated_for_admins(api_as, admin_user):
    UserFactory.create_batch(3)
    body = api_as(admin_user).get("/api/v1/users/?limit=2").json()
    assert body["count"] == 4
    assert len(body["results"]) == 2
    assert body["next"]
