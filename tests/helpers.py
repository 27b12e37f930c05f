"""Helpers for page (HTML) tests of every app; the fixtures they take are in tests/conftest.py."""

from django.urls import reverse

PERSONAS = ["anonymous", "viewer", "operator", "other_operator", "admin"]

# For API role matrices: `@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])`
# then `api_for(persona, using=api_with)`: every signed-in persona once with a JWT and once with a
# write-enabled personal API token (the same answers are expected), anonymous once.
API_PERSONAS = [("anonymous", "jwt")] + [(persona, credential) for persona in PERSONAS[1:]
                                         for credential in ("jwt", "token")]


def client_for(client, personas, persona):
    """The Django test `client` signed in as `persona`: a name in the `personas` fixture, or
    "anonymous" (left signed out), or a User."""
    if persona != "anonymous":
        client.force_login(personas[persona] if isinstance(persona, str) else persona)
    return client


def assert_login_redirect(response):
    """The answer to a signed-out browser: a redirect to the sign-in page."""
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith(reverse("accounts:login")), response["Location"]


def assert_answer(response, expected):
    """`expected` is "login" (a signed-out browser is sent to sign in) or the status code."""
    if expected == "login":
        assert_login_redirect(response)
    else:
        assert response.status_code == expected, (response.status_code, expected)
