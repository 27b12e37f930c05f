"""Helpers for API tests: the error envelope and throttle rates (the private cache is tests/conftest.py)."""

import json


def assert_error(response, status, code):
    """The response is the API error envelope with this status and stable code; returns the body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"error", "request_id"}, body
    assert set(body["error"]) == {"code", "message", "status", "details"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["status"] == status, body
    assert isinstance(body["error"]["details"], dict), body
    assert body["error"]["message"] and isinstance(body["error"]["message"], str), body
    assert body["request_id"] == response["X-Request-ID"], body
    return body


def assert_matrix_answer(response, want, label=""):
    """A role-matrix answer: the expected status, and the envelope with its code for 401 and 403."""
    assert response.status_code == want, (label, response.status_code, response.content[:400])
    if want in REFUSAL_CODES:
        assert_error(response, want, REFUSAL_CODES[want])


REFUSAL_CODES = {401: "NOT_AUTHENTICATED", 403: "PERMISSION_DENIED"}


def field_errors(response):
    """The field-level messages of a VALIDATION_ERROR envelope: {field: [message, ...]}."""
    body = assert_error(response, 400, "VALIDATION_ERROR")
    return body["error"]["details"]["fields"]


def set_throttle_rates(monkeypatch, **rates):
    """Lower DRF throttle rates for one test.

    DRF copies DEFAULT_THROTTLE_RATES onto SimpleRateThrottle when it is first
    imported, so overriding settings is not enough: patch the class attribute.
    Counters live in the cache, which the suite clears around every test.
    """
    from django.conf import settings
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES",
                        {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates})

