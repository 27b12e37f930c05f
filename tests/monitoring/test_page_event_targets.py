"""The events table links each event to its object (a generic relation): the page loads the
targets once per kind of object, not once per row."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.models import Event
from pipeline import services

pytestmark = pytest.mark.django_db


def events_about_runs(user, count):
    runs = [services.start_run(user, preset="study", duration_s=60) for _ in range(count)]
    kind = ContentType.objects.get_for_model(runs[0])
    Event.objects.all().delete()
    Event.objects.bulk_create(Event(source="pipeline", kind="run.queued", message=f"{run} queued",
                                    target_type=kind, target_id=str(run.pk)) for run in runs)
    return runs


def page_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    return len(queries), html


@pytest.mark.parametrize("url", ["/monitoring/", "/monitoring/events/"])  # the overview shows the latest 10
def test_event_targets_are_loaded_once_per_page_not_per_row(client, operator, admin_user, url):
    client.force_login(admin_user)
    runs = events_about_runs(operator, 1)
    page_queries(client, url)  # warm caches (content types, session)
    one, html = page_queries(client, url)
    assert f'href="{runs[0].get_absolute_url()}"' in html
    runs = events_about_runs(operator, 9)
    many, html = page_queries(client, url)
    assert all(f'href="{run.get_absolute_url()}"' in html for run in runs)
    assert many == one
