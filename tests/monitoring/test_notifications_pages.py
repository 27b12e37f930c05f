"""The preferences page, the delivery log and the preferences API: role matrix, bad input, secrets."""

import pytest
from django.core import mail
from django.urls import reverse

from monitoring.models import Delivery, NotificationPreference
from tests.fakes.webhook_server import WebhookReceiver
from tests.helpers import API_PERSONAS, PERSONAS, assert_answer, client_for
from tests.monitoring.worker import run_worker

pytestmark = pytest.mark.django_db

SECRET = "a-shared-secret-of-some-length"


@pytest.fixture
def allow_local(settings):
    settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True


def post_preferences(client, **fields):
    data = {"email_enabled": "on", "kinds": ["pipeline/run.failed"], "webhook_url": "", "webhook_secret": ""}
    data.update(fields)
    return client.post(reverse("monitoring:notifications"), {k: v for k, v in data.items() if v is not None})


# --- role matrix (pages) -------------------------------------------------------------------------


PAGE_MATRIX = {
    # Everyone signed in has preferences of their own; the delivery log is admin-only.
    "notifications": {"anonymous": "login", "viewer": 200, "operator": 200, "other_operator": 200, "admin": 200},
    "notification-deliveries": {"anonymous": "login", "viewer": 403, "operator": 403, "other_operator": 403,
                                "admin": 200},
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("url_name", list(PAGE_MATRIX))
def test_page_role_matrix(client, personas, persona, url_name):
    response = client_for(client, personas, persona).get(reverse(f"monitoring:{url_name}"))
    assert_answer(response, PAGE_MATRIX[url_name][persona])


@pytest.mark.parametrize("persona", PERSONAS)
def test_everyone_signed_in_saves_their_own_preferences(client, personas, persona):
    response = post_preferences(client_for(client, personas, persona), email_enabled=None)
    if persona == "anonymous":
        assert_answer(response, "login")
        assert not NotificationPreference.objects.exists()
        return
    assert response.status_code == 302 and response["Location"] == reverse("monitoring:notifications")
    (preference,) = NotificationPreference.objects.all()
    assert preference.user == personas[persona]
    assert (preference.email_enabled, preference.kinds) == (False, ["pipeline/run.failed"])


@pytest.mark.parametrize("persona, expected", [("anonymous", "login"), ("viewer", 302), ("admin", 302)])
def test_test_send_role_matrix(client, personas, persona, expected):
    response = client_for(client, personas, persona).post(reverse("monitoring:notifications-test"))
    assert_answer(response, expected)
    if persona != "anonymous":
        assert Delivery.objects.get().recipient == personas[persona]


# --- the preferences page ----------------------------------------------------------------------


def test_page_shows_the_defaults_and_never_the_secret(client, operator):
    client.force_login(operator)
    page = client.get(reverse("monitoring:notifications")).content.decode()
    assert "Pipeline run failed" in page and "Sign-in from a new device" in page
    assert "No webhook secret is saved." in page
    assert "Delivery log" not in page  # operators cannot read it
    NotificationPreference.objects.create(user=operator, webhook_url="https://93.184.215.14/hook",
                                          webhook_secret=SECRET, kinds=[])
    page = client.get(reverse("monitoring:notifications")).content.decode()
    assert "A webhook secret is saved." in page
    assert SECRET not in page


def test_bad_input_answers_400_with_field_messages_and_keeps_what_was_saved(client, operator, allow_local):
    client.force_login(operator)
    assert post_preferences(client, webhook_url="http://127.0.0.1:9/hook", webhook_secret=SECRET).status_code == 302
    before = NotificationPreference.objects.get()

    response = post_preferences(client, webhook_url="ftp://example.com/x", kinds=["nope/never"])
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "webhook_url" in errors and "kinds" in errors
    response = post_preferences(client, webhook_url="http://127.0.0.1:9/hook", webhook_secret="short")
    assert response.status_code == 400 and "at least 16" in str(response.context["form"].errors["webhook_secret"])

    after = NotificationPreference.objects.get()
    assert (after.webhook_url, after.webhook_secret, after.kinds) == (before.webhook_url, SECRET, before.kinds)

    # An empty secret keeps the saved one; a URL change is fine then.
    assert post_preferences(client, webhook_url="http://127.0.0.1:10/hook").status_code == 302
    assert NotificationPreference.objects.get().webhook_secret == SECRET
    # Clearing the URL removes the webhook and its secret.
    assert post_preferences(client, webhook_url="").status_code == 302
    assert NotificationPreference.objects.get().webhook_secret == ""


def test_a_webhook_needs_a_secret_and_a_public_address(client, operator):
    client.force_login(operator)
    response = post_preferences(client, webhook_url="https://93.184.215.14/hook")
    assert response.status_code == 400 and "needs a secret" in str(response.context["form"].errors["webhook_secret"])
    response = post_preferences(client, webhook_url="http://localhost/hook", webhook_secret=SECRET)
    assert response.status_code == 400
    assert "local or private network" in str(response.context["form"].errors["webhook_url"])
    assert not NotificationPreference.objects.exists()


def test_test_send_reaches_the_webhook_and_the_log_shows_it(client, operator, admin_user, allow_local,
                                                             django_capture_on_commit_callbacks):
    with WebhookReceiver() as receiver:
        hook_url = receiver.url()
        client.force_login(operator)
        post_preferences(client, webhook_url=hook_url, webhook_secret=SECRET)
        response = client.post(reverse("monitoring:notifications-test"), follow=True)
        assert "on its way by e-mail and webhook" in response.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            run_worker()
        (request,) = receiver.received
        assert request.verify(SECRET) and request.json()["kind"] == "monitoring/notification.test"
    assert mail.outbox[0].to == [operator.email]

    client.force_login(admin_user)
    page = client.get(reverse("monitoring:notification-deliveries")).content.decode()
    assert page.count("Test notification") >= 2 and "Delivered" in page and hook_url in page
    filtered = client.get(reverse("monitoring:notification-deliveries"), {"channel": "webhook", "status": "failed"})
    assert "No deliveries match these filters" in filtered.content.decode()
    assert client.get(reverse("monitoring:notification-deliveries"), {"ordering": "bogus"}).status_code == 200


def test_test_send_without_channels_says_what_to_do(client, operator):
    operator.email = ""
    operator.save()
    client.force_login(operator)
    response = client.post(reverse("monitoring:notifications-test"), follow=True)
    assert "Nothing to send to" in response.content.decode()
    assert not Delivery.objects.exists()


# --- the API ---------------------------------------------------------------------------------------

ME = "/api/v1/notifications/preferences/me/"


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_api_role_matrix(api_for, api_with, personas, persona):
    client = api_for(persona, using=api_with)
    answer = client.get(ME)
    if persona == "anonymous":
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "NOT_AUTHENTICATED"
        assert client.patch(ME, {"email_enabled": False}, format="json").status_code == 401
        return
    assert answer.status_code == 200, answer.content
    assert answer.json()["username"] == personas[persona].username
    changed = client.patch(ME, {"email_enabled": False, "kinds": ["backups/backup.failed"]}, format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["email_enabled"], changed.json()["kinds"]) == (False, ["backups/backup.failed"])
    assert client.post(ME + "test/").status_code == 202

    other = NotificationPreference.objects.create(user=personas["other_operator"] if persona != "other_operator"
                                                  else personas["operator"], kinds=[])
    expected = 200 if persona == "admin" else 404
    assert client.get(f"/api/v1/notifications/preferences/{other.pk}/").status_code == expected
    assert client.patch(f"/api/v1/notifications/preferences/{other.pk}/", {"email_enabled": False},
                        format="json").status_code == expected
    listed = {row["username"] for row in client.get("/api/v1/notifications/preferences/").json()["results"]}
    assert (other.user.username in listed) == (persona == "admin")


def test_viewer_with_a_read_only_jwt_changes_their_own_preferences(api_as, viewer):
    client = api_as(viewer)
    assert client.patch(ME, {"email_enabled": False}, format="json").status_code == 200
    assert NotificationPreference.objects.get(user=viewer).email_enabled is False


def test_api_secret_is_write_only_and_bad_input_is_a_field_error(api_as, operator, allow_local):
    client = api_as(operator)
    answer = client.patch(ME, {"webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": SECRET}, format="json")
    assert answer.status_code == 200
    body = answer.json()
    assert body["has_webhook_secret"] is True and "webhook_secret" not in body and SECRET not in answer.content.decode()

    for bad_input, field in (({"webhook_url": "gopher://x"}, "webhook_url"), ({"kinds": ["nope"]}, "kinds"),
                             ({"webhook_secret": "short"}, "webhook_secret")):
        bad = client.patch(ME, bad_input, format="json")
        assert bad.status_code == 400, bad_input
        error = bad.json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and field in error["details"]["fields"], error
    saved = NotificationPreference.objects.get(user=operator)
    assert (saved.webhook_url, saved.webhook_secret) == ("http://127.0.0.1:9/hook", SECRET)
    assert client.patch(ME, {"kinds": "not a list"}, format="json").status_code == 400
    assert client.patch(ME, b"{not json", content_type="application/json").status_code == 400
    assert client.put(ME, {"email_enabled": True}, format="json").status_code == 405
    assert client.post("/api/v1/notifications/preferences/", {}, format="json").status_code == 405
    assert client.get("/api/v1/notifications/preferences/you/").status_code == 404


def test_schema_states_the_kinds_and_the_secrets_minimum(api_as, admin_user, settings):
    """Rules a schema can say are in the schema (not fuzz allowances): the kinds are an enum of the events that
    notify, the webhook secret is empty or 16+ characters."""
    schema = api_as(admin_user).get("/api/schema/?format=json").json()["components"]["schemas"]
    request = schema["PatchedNotificationPreferenceRequest"]["properties"]
    kinds = request["kinds"]["items"]
    kinds = schema[kinds["$ref"].rsplit("/", 1)[1]] if "$ref" in kinds else kinds
    assert kinds["enum"] == list(settings.NOTIFICATION_EVENTS)
    secret = request["webhook_secret"]["oneOf"]
    assert (secret[0]["minLength"], secret[0]["maxLength"]) == (16, 200)
    assert secret[1]["maxLength"] == 0  # empty: keep the saved secret


def test_schema_documents_the_endpoints(api_as, admin_user):
    paths = api_as(admin_user).get("/api/schema/?format=json").json()["paths"]
    me = paths["/api/v1/notifications/preferences/{id}/"]
    assert {"get", "patch"} <= set(me) and "400" in me["patch"]["responses"]
    assert "202" in paths["/api/v1/notifications/preferences/{id}/test/"]["post"]["responses"]


def test_admin_pages_never_show_the_secret_or_the_urls_query(client, admin_user, operator):
    NotificationPreference.objects.create(user=operator, webhook_url="https://93.184.215.14/hook?token=t0ps3cr3tt0ken",
                                          webhook_secret=SECRET, kinds=[])
    client.force_login(admin_user)
    listing = client.get(reverse("admin:monitoring_notificationpreference_changelist"))
    detail = client.get(reverse("admin:monitoring_notificationpreference_change",
                                args=[NotificationPreference.objects.get().pk]))
    for response in (listing, detail):
        assert response.status_code == 200
        page = response.content.decode()
        assert "https://93.184.215.14/hook" in page and "t0ps3cr3tt0ken" not in page and SECRET not in page
