"""The event log: written on commit, read through one filterset by the API."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from monitoring.events import record_event
from monitoring.models import Event
from tests.helpers import API_PERSONAS


@pytest.mark.django_db
def test_rolled_back_change_logs_nothing(django_capture_on_commit_callbacks, operator):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            record_event("test", "rolled.back", "failed", "never happened")
            raise RuntimeError("undo")
        record_event("test", "kept", "succeeded", "happened", {"run": 1}, user=operator)
    event = Event.objects.get()
    assert (event.kind, event.status, event.payload, event.user) == ("kept", "succeeded", {"run": 1}, operator)


@pytest.mark.django_db(transaction=True)
def test_written_only_after_commit_and_at_once_outside_transactions():
    with transaction.atomic():
        record_event("test", "inside")
        assert not Event.objects.exists()  # not before the commit
    assert Event.objects.filter(kind="inside").exists()
    record_event("test", "outside")  # autocommit: written immediately
    assert Event.objects.filter(kind="outside").exists()


@pytest.mark.django_db
def test_bad_status_fails_at_the_call_site():
    with pytest.raises(ValueError):
        record_event("test", "typo", status="sucess")


@pytest.mark.django_db(transaction=True)
def test_long_message_is_truncated_and_odd_payload_values_serialised():
    record_event("test", "long", message="x" * 2000, payload={"when": timezone.now(), "amount": 1.5})
    event = Event.objects.get()
    assert len(event.message) == 500 and event.message.endswith("…")
    assert isinstance(event.payload["when"], str)


def make_events():
    now = timezone.now()
    rows = [
        ("jobs", "job.failed", "failed", now - timedelta(days=2)),
        ("jobs", "job.retrying", "warning", now - timedelta(hours=5)),
        ("breakers", "breaker.opened", "failed", now - timedelta(hours=1)),
        ("breakers", "breaker.reset", "info", now),
    ]
    events = []
    for source, kind, status, created in rows:
        event = Event.objects.create(source=source, kind=kind, status=status, message=kind, payload={"k": kind})
        Event.objects.filter(pk=event.pk).update(created_at=created)
        events.append(event)
    return now, events


def kinds(response):
    assert response.status_code == 200, response.content
    return [row["kind"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_api_filters(api_as, admin_user):
    now, _ = make_events()
    client = api_as(admin_user)
    assert kinds(client.get("/api/v1/events/")) == ["breaker.reset", "breaker.opened", "job.retrying", "job.failed"]
    assert kinds(client.get("/api/v1/events/?source=jobs")) == ["job.retrying", "job.failed"]
    assert kinds(client.get("/api/v1/events/?kind=breaker.opened")) == ["breaker.opened"]
    assert kinds(client.get("/api/v1/events/?status=failed")) == ["breaker.opened", "job.failed"]
    since = (now - timedelta(hours=6)).isoformat()
    until = (now - timedelta(minutes=30)).isoformat()
    assert kinds(client.get("/api/v1/events/", {"since": since})) == ["breaker.reset", "breaker.opened", "job.retrying"]
    assert kinds(client.get("/api/v1/events/", {"since": since, "until": until})) == ["breaker.opened",
                                                                                      "job.retrying"]


@pytest.mark.django_db
def test_api_rejects_bad_filters_with_the_envelope(api_as, admin_user):
    response = api_as(admin_user).get("/api/v1/events/?since=yesterday&status=bogus")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert set(body["error"]["details"]["fields"]) == {"since", "status"}


@pytest.mark.django_db
def test_api_retrieve(api_as, admin_user):
    _, events = make_events()
    response = api_as(admin_user).get(f"/api/v1/events/{events[0].pk}/")
    assert response.status_code == 200 and response.json()["kind"] == "job.failed"


@pytest.mark.django_db
@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_api_role_matrix(api_for, api_with, persona):
    _, events = make_events()
    client = api_for(persona, using=api_with)
    response = client.get("/api/v1/events/")
    if persona == "anonymous":
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
        return
    if persona != "admin":  # the event log is admin-only, like every operations page
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "PERMISSION_DENIED"
        assert client.get(f"/api/v1/events/{events[0].pk}/").status_code == 403
        write = client.post("/api/v1/events/", {"source": "x", "kind": "y"}, format="json")
        assert write.status_code == (403 if persona == "viewer" else 405)  # a read-only scope, or no such method
        assert Event.objects.count() == 4
        return
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 4
    assert rows[0]["payload"] == {"k": "breaker.reset"}
    # The log is read-only, for admins too.
    write = client.post("/api/v1/events/", {"source": "x", "kind": "y"}, format="json")
    assert write.status_code == 405
    assert Event.objects.count() == 4
