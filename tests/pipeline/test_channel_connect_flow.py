"""'Connect with Google' (issue 7, item 15), end to end against the fake Google: the admin
enters the OAuth client, the site sends the browser to Google's consent with a state and a
PKCE challenge kept in the session, the callback checks the state, trades the code and
verifies the channel before saving. Every failure is a clear message and saves nothing."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.urls import reverse

from pipeline import views
from pipeline.models import YouTubeChannel
from tests.pipeline.test_pages import assert_login_redirect, client_for, errors_in, field_block

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/pipeline/youtube/callback/"


@pytest.fixture
def google(fake_youtube):
    """The fake Google, with this site's callback among the OAuth client's redirect URIs."""
    fake_youtube.redirect_uris.add(CALLBACK)
    return fake_youtube


def start(client, google, secret=None):
    """Submit the OAuth client; returns the consent URL the site sent the browser to."""
    response = client.post(reverse("pipeline:channel-google"), {
        "google-client_id": google.client_id, "google-client_secret": secret or google.client_secret})
    assert response.status_code == 302
    return response["Location"]


def consent(url):
    """The person clicks "Allow" on Google's page: Google redirects back with a code."""
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def callback(client, location):
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return client.get(f"{parts.path}?{parts.query}", follow=True)


def test_connect_with_google_end_to_end(client, admin_user, google):
    client.force_login(admin_user)
    consent_url = start(client, google)
    query = {key: values[0] for key, values in parse_qs(urlsplit(consent_url).query).items()}
    assert consent_url.startswith(google.auth_url)
    assert query["redirect_uri"] == CALLBACK and query["code_challenge_method"] == "S256"
    assert query["state"] and query["code_challenge"] and query["client_id"] == google.client_id
    pending = client.session[views.OAUTH_SESSION_KEY]
    assert pending["state"] == query["state"]
    assert google.client_secret not in str(pending)  # the secret waits encrypted, not in plain text

    response = callback(client, consent(consent_url))
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("pipeline:channel")
    assert f"YouTube channel “{google.channel_title}” connected" in html
    channel = YouTubeChannel.objects.get()
    assert (channel.channel_id, channel.channel_title) == (google.channel_id, google.channel_title)
    assert (channel.client_id, channel.client_secret, channel.refresh_token) == (
        google.client_id, google.client_secret, google.refresh_token)
    assert channel.connected_by == admin_user
    assert views.OAUTH_SESSION_KEY not in client.session
    assert google.client_secret not in html and google.refresh_token not in html


def test_a_state_that_does_not_match_saves_nothing(client, admin_user, google):
    client.force_login(admin_user)
    location = consent(start(client, google))
    forged = location.replace("state=", "state=forged")
    requests_before = google.token_requests
    html = callback(client, forged).content.decode()
    assert "state mismatch" in html and "Nothing was saved" in html
    assert not YouTubeChannel.objects.exists()
    assert google.token_requests == requests_before  # the code was never traded


def test_a_callback_is_used_once(client, admin_user, google):
    client.force_login(admin_user)
    location = consent(start(client, google))
    callback(client, location)
    YouTubeChannel.objects.all().delete()
    html = callback(client, location).content.decode()  # replayed (or a reload)
    assert "no connection was started from this browser" in html
    assert not YouTubeChannel.objects.exists()


def test_a_callback_without_a_started_connection_saves_nothing(client, admin_user, google):
    client.force_login(admin_user)
    html = client.get(f"{reverse('pipeline:channel-callback')}?code=x&state=y", follow=True).content.decode()
    assert "no connection was started" in html and not YouTubeChannel.objects.exists()


def test_refused_consent_saves_nothing(client, admin_user, google):
    google.deny_consent = True
    client.force_login(admin_user)
    html = callback(client, consent(start(client, google))).content.decode()
    assert "Google did not grant access (access_denied)" in html
    assert not YouTubeChannel.objects.exists()


def test_a_wrong_client_secret_saves_nothing(client, admin_user, google):
    client.force_login(admin_user)
    html = callback(client, consent(start(client, google, secret="not-the-secret"))).content.decode()
    assert "Google refused the authorization" in html and "Check the client id and secret" in html
    assert not YouTubeChannel.objects.exists()


def test_google_outage_saves_nothing(client, admin_user, google):
    client.force_login(admin_user)
    location = consent(start(client, google))
    google.token_error_status = 503
    html = callback(client, location).content.decode()
    assert "The channel was not connected" in html and "Nothing was saved" in html
    assert not YouTubeChannel.objects.exists()


def test_a_blank_client_id_is_an_error_at_the_field(client, admin_user, google):
    client.force_login(admin_user)
    response = client.post(reverse("pipeline:channel-google"), {"google-client_id": "",
                                                                 "google-client_secret": "x"})
    assert response.status_code == 400
    assert errors_in(field_block(response.content.decode(), "google-client_id"))
    assert views.OAUTH_SESSION_KEY not in client.session


def test_the_paste_a_token_form_stays(client, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("pipeline:channel")).content.decode()
    assert "Connect with Google" in html and CALLBACK in html
    assert 'name="refresh_token"' in html and 'name="google-client_id"' in html


@pytest.mark.parametrize("persona,status", [("anonymous", "login"), ("viewer", 403), ("operator", 403),
                                            ("other_operator", 403), ("admin", 302)])
def test_connect_with_google_role_matrix(client, personas, google, persona, status):
    client = client_for(client, personas, persona)
    response = client.post(reverse("pipeline:channel-google"), {
        "google-client_id": google.client_id, "google-client_secret": google.client_secret})
    callback_response = client.get(f"{reverse('pipeline:channel-callback')}?code=x&state=y")
    if status == "login":
        assert_login_redirect(response)
        assert_login_redirect(callback_response)
    else:
        assert response.status_code == status
        assert callback_response.status_code == (302 if status == 302 else 403)
    assert not YouTubeChannel.objects.exists()
    shown = "Connect with Google" in client.get(reverse("pipeline:channel")).content.decode()
    assert shown is (persona == "admin")


def test_only_the_connect_page_lets_its_form_go_to_googles_consent(client, personas, google):
    """Browsers apply CSP form-action to the redirects of a submission: without Google's origin
    there, "Connect with Google" does nothing in a real browser (tests/e2e/test_run_actions_journey)."""
    origin = google.auth_url.split("/o/oauth2")[0]
    client.force_login(personas["admin"])
    policy = client.get(reverse("pipeline:channel"))["Content-Security-Policy"]
    form_action = next(part for part in policy.split(";") if "form-action" in part)
    assert form_action.split() == ["form-action", "'self'", origin]
    assert origin not in client.get(reverse("pipeline:run-list"))["Content-Security-Policy"]
    client.force_login(personas["viewer"])  # no form, no wider policy
    assert origin not in client.get(reverse("pipeline:channel"))["Content-Security-Policy"]
