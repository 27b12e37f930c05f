"""The audit log: Django admin's LogEntry and the services' administrative Events in one read-only,
filterable, paginated, admin-only list."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from accounts.services import update_user
from monitoring import audit, breakers
from monitoring.events import record_event
from monitoring.models import Event
from tests.helpers import PERSONAS, assert_answer, client_for

pytestmark = pytest.mark.django_db

URL = reverse("monitoring:audit")


def _log(user, obj, flag=CHANGE, message="[]"):
    return LogEntry.objects.log_actions(user.pk, [obj], flag, change_message=message, single_object=True)


@pytest.mark.parametrize("persona,expected", list(zip(PERSONAS, ["login", 403, 403, 403, 200], strict=True)))
def test_only_admins_read_the_audit_log(client, personas, persona, expected):
    response = client_for(client, personas, persona).get(URL)
    assert_answer(response, expected)


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_audit_log_is_read_only(client, personas, method):
    response = getattr(client_for(client, personas, "admin"), method)(URL)
    assert response.status_code == 405


def test_entries_are_empty_for_non_admins(personas):
    _log(personas["admin"], personas["viewer"])
    assert list(audit.entries(personas["operator"])) == []
    assert len(audit.entries(personas["admin"])) == 1


def test_admin_changes_and_service_actions_are_merged_newest_first(
        client, personas, django_capture_on_commit_callbacks):
    admin, viewer = personas["admin"], personas["viewer"]
    _log(admin, viewer, ADDITION, '[{"added": {}}]')
    with django_capture_on_commit_callbacks(execute=True):
        breakers.reset("vinted", by_user=admin)
        record_event("pipeline", "run.queued", "info", "A run queued (not an audit entry)", user=admin)
    later = LogEntry.objects.create(user=admin, content_type=ContentType.objects.get_for_model(viewer),
                                    object_id=str(viewer.pk), object_repr="viewer", action_flag=CHANGE,
                                    change_message='[{"changed": {"fields": ["Email address"]}}]')
    LogEntry.objects.filter(pk=later.pk).update(action_time=timezone.now() + timedelta(minutes=1))

    page = client_for(client, personas, "admin").get(URL)
    assert page.status_code == 200
    entries = page.context["page_obj"].object_list
    assert [(entry.source, entry.kind) for entry in entries] == [
        ("admin", "changed"), ("breakers", "breaker.reset"), ("admin", "added")]
    assert "Changed Email address." in entries[0].message
    assert entries[0].user == admin
    assert entries[0].admin_url == reverse("admin:accounts_user_change", args=[viewer.pk])
    body = page.content.decode()
    assert "vinted reset by" in body and "A run queued" not in body


def test_role_deactivation_and_budget_changes_are_recorded(personas, django_capture_on_commit_callbacks):
    admin, viewer = personas["admin"], personas["viewer"]
    with django_capture_on_commit_callbacks(execute=True):
        update_user(admin, viewer, role="operator")
        update_user(admin, viewer, is_active=False)
        update_user(admin, viewer, ai_monthly_budget_usd=Decimal("12.50"))
        update_user(admin, viewer, email="same-role@example.com")  # not an audited change
    events = list(Event.objects.filter(source="accounts").order_by("pk"))
    assert [event.kind for event in events] == ["user.role_changed", "user.deactivated", "user.budget_changed"]
    assert events[0].payload == {"user": viewer.pk, "from": "viewer", "to": "operator"}
    assert events[2].payload["to"] == "12.50"
    assert all(event.user == admin and event.target == viewer for event in events)
    kinds = [entry.kind for entry in audit.hydrate(audit.entries(admin))]
    assert kinds == ["user.budget_changed", "user.deactivated", "user.role_changed"]


@pytest.fixture
def mixed_log(personas, operator, django_capture_on_commit_callbacks):
    admin = personas["admin"]
    _log(admin, operator, DELETION)
    _log(operator, personas["viewer"], CHANGE)  # (an operator does not reach the admin; the log takes any row)
    with django_capture_on_commit_callbacks(execute=True):
        breakers.reset("vinted", by_user=admin)
        record_event("vinted", "account.unblocked", "info", "Vinted account shop-1 unblocked by admin.", user=admin)
    return admin


@pytest.mark.parametrize("query,expected", [
    ({"kind": "admin/deleted"}, [("admin", "deleted")]),
    ({"kind": "breakers/breaker.reset"}, [("breakers", "breaker.reset")]),
    ({"what": "shop-1"}, [("vinted", "account.unblocked")]),
    ({"user": "operator"}, [("admin", "changed")]),
])
def test_filters(client, personas, mixed_log, query, expected):
    if query.get("user"):
        query = {"user": personas[query["user"]].pk}
    page = client_for(client, personas, "admin").get(URL, query)
    assert page.status_code == 200
    assert [(entry.source, entry.kind) for entry in page.context["page_obj"].object_list] == expected


def test_time_filters(client, personas, mixed_log):
    client = client_for(client, personas, "admin")
    tomorrow = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert len(client.get(URL, {"until": tomorrow}).context["page_obj"].object_list) == 4
    assert client.get(URL, {"since": tomorrow}).context["page_obj"].object_list == []


@pytest.mark.parametrize("query,field", [
    ({"kind": "nonsense/kind"}, "kind"),
    ({"since": "yesterday-ish"}, "since"),
    ({"since": "2026-11-02", "until": "2026-11-01"}, "until"),
    ({"user": "999999"}, "user"),
])
def test_bad_filters_are_a_400_at_their_field(client, personas, mixed_log, query, field):
    page = client_for(client, personas, "admin").get(URL, query)
    assert page.status_code == 400
    assert field in page.context["form"].errors
    assert page.context["page_obj"].object_list == []
    assert 'class="field-error"' in page.content.decode()


def test_pages(client, personas, django_capture_on_commit_callbacks):
    admin, viewer = personas["admin"], personas["viewer"]
    for _ in range(audit_page_size() + 5):
        _log(admin, viewer)
    client = client_for(client, personas, "admin")
    first = client.get(URL)
    assert len(first.context["page_obj"].object_list) == audit_page_size()
    second = client.get(URL, {"page": 2})
    assert len(second.context["page_obj"].object_list) == 5
    assert first.context["page_obj"].paginator.count == audit_page_size() + 5


def audit_page_size():
    from monitoring.views_audit import AuditLogView

    return AuditLogView.paginate_by


def test_empty_log_says_what_appears_here(client, personas):
    page = client_for(client, personas, "admin").get(URL)
    assert "Nothing to audit yet" in page.content.decode()


@pytest.mark.parametrize("persona,linked", [("viewer", False), ("operator", False), ("admin", True)])
def test_the_monitoring_page_links_the_audit_log_for_admins(client, personas, persona, linked):
    page = client_for(client, personas, persona).get(reverse("monitoring:index"))
    assert (f'href="{URL}"' in page.content.decode()) is linked
