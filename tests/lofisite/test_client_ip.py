"""One client-IP rule (lofisite.client_ip, driven by PROXY_COUNT) for throttles, lockouts and sign-in records."""

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from accounts.models import LoginEvent
from lofisite.client_ip import client_ip
from tests.api_helpers import assert_error
from tests.conftest import PASSWORD

LOGIN_URL = "/accounts/login/"
TOKEN_URL = "/api/v1/auth/token/"
PROXY = "10.0.0.2"  # the reverse proxy: the socket peer gunicorn sees


def ip_of(settings, proxies, forwarded=None, peer=PROXY):
    settings.PROXY_COUNT = proxies
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


# --- the rule ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("proxies", "forwarded", "expected"), [
    (0, None, PROXY),
    (0, "203.0.113.5", PROXY),  # no proxy configured: the header is anyone's to forge
    (1, "203.0.113.5", "203.0.113.5"),
    (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # what the client wrote on the left is not trusted
    (2, "6.6.6.6, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
    (2, "203.0.113.5", PROXY),  # fewer entries than proxies: it did not come through them all
    (1, None, PROXY),
    (1, "not-an-address", PROXY),
    (1, "203.0.113.5:51234", "203.0.113.5"),
    (1, "[2001:db8::7]:443", "2001:db8::7"),
    (1, "2001:DB8::7", "2001:db8::7"),
])
def test_the_client_is_the_proxy_count_th_forwarded_address_from_the_right(settings, proxies, forwarded, expected):
    assert ip_of(settings, proxies, forwarded) == expected


# --- API throttle identity ---------------------------------------------------------------------------------------
def token_requests(user, forwarded_for, count):
    client = APIClient()
    return [client.post(TOKEN_URL, {"username": user.username, "password": PASSWORD}, format="json",
                        REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for(i)) for i in range(count)]


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_rotate_the_throttle_identity_without_a_proxy(settings, viewer):
    settings.PROXY_COUNT = 0
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"].split("/")[0])
    responses = token_requests(viewer, lambda i: f"198.51.100.{i}", limit + 4)
    assert [r.status_code for r in responses[:limit]] == [200] * limit
    for response in responses[limit:]:
        assert_error(response, 429, "RATE_LIMIT_EXCEEDED")


@pytest.mark.django_db
def test_behind_one_proxy_forged_left_entries_do_not_rotate_the_identity_but_clients_differ(settings, viewer):
    settings.PROXY_COUNT = 1
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"].split("/")[0])
    responses = token_requests(viewer, lambda i: f"6.6.6.{i}, 203.0.113.5", limit + 2)
    assert responses[limit - 1].status_code == 200
    assert_error(responses[limit], 429, "RATE_LIMIT_EXCEEDED")
    # Another client behind the same proxy has a budget of its own.
    assert token_requests(viewer, lambda i: "203.0.113.77", 1)[0].status_code == 200


# --- lockouts and sign-in records behind a proxy -----------------------------------------------------------------
def sign_in(username, client_address, password=PASSWORD):
    return Client().post(LOGIN_URL, {"username": username, "password": password},
                         REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client_address)


@pytest.mark.django_db
def test_behind_a_proxy_the_lockout_is_for_the_forwarded_client_not_everyone(settings, operator):
    settings.PROXY_COUNT = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(operator.username, "203.0.113.5", "wrong-password-here")
    assert sign_in(operator.username, "203.0.113.5").status_code == 403
    assert AccessAttempt.objects.get(username=operator.username).ip_address == "203.0.113.5"
    # The same username from another client behind the same proxy is not locked out.
    assert sign_in(operator.username, "198.51.100.7").status_code == 302


@pytest.mark.django_db
def test_behind_a_proxy_sign_in_records_the_forwarded_client(settings, operator, viewer):
    settings.PROXY_COUNT = 1
    assert sign_in(operator.username, "203.0.113.5").status_code == 302
    assert LoginEvent.objects.get(user=operator).ip_address == "203.0.113.5"
    APIClient().post(TOKEN_URL, {"username": viewer.username, "password": PASSWORD}, format="json",
                     REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
    assert LoginEvent.objects.get(user=viewer).ip_address == "198.51.100.7"


@pytest.mark.django_db
def test_without_a_proxy_a_forged_header_is_not_recorded(settings, operator):
    settings.PROXY_COUNT = 0
    assert sign_in(operator.username, "203.0.113.5").status_code == 302
    assert LoginEvent.objects.get(user=operator).ip_address == PROXY
