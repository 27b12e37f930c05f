"""The runs list writes its rows itself (pipeline.api.serializers.RunListSerializer, for speed): the same
JSON as DRF's generic field-by-field path of RunSerializer gives, for every kind of row."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from pipeline.api.serializers import RunSerializer
from pipeline.choices import RunStatus
from pipeline.models import Run, Video
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db


def _generic(runs, context):
    """RunSerializer's rows through DRF's own ListSerializer (the path the fast one replaces)."""
    return serializers.ListSerializer(child=RunSerializer(), instance=runs, context=context).data


@pytest.fixture
def rows(operator, admin_user, make_run, finished_run):
    now = timezone.now()
    schedule = ScheduleFactory(created_by=operator, name="Nightly", preset="study")
    make_run(operator)  # queued: never started
    make_run(admin_user, RunStatus.FAILED, error="Render failed: disk full", bpm=80, musical_key="Am")
    published = finished_run(operator)
    Run.objects.filter(pk=published.pk).update(publish_target="youtube", privacy="private",
                                               publish_at=now + timedelta(days=2))
    cancelled = make_run(operator, RunStatus.CANCELLED)
    Run.objects.filter(pk=cancelled.pk).update(schedule=schedule, started_at=now - timedelta(minutes=3),
                                               finished_at=now - timedelta(minutes=1), progress=0.25,
                                               cancel_requested=True, motion=True)
    Video.objects.filter(run=cancelled).delete()  # a run without its video row
    return Run.objects.select_related("created_by", "video").order_by("pk")


def test_the_list_rows_are_the_json_drf_would_give(rows, operator):
    request = APIRequestFactory().get("/api/v1/pipeline/runs/", HTTP_HOST="testserver")
    context = {"request": request, "format": None}
    fast = RunSerializer(rows, many=True, context=context).data
    assert len(fast) == 4
    assert [dict(row) for row in fast] == [dict(row) for row in _generic(rows, context)]
    assert {row["video"] is None for row in fast} == {True, False}
    assert fast[0]["url"].startswith("http://testserver/api/v1/pipeline/runs/")


def test_the_endpoint_answers_the_same_rows_as_the_generic_path(rows, admin_user, api_as):
    answer = api_as(admin_user).get("/api/v1/pipeline/runs/?ordering=id")
    assert answer.status_code == 200
    by_id = {row["id"]: row for row in answer.json()["results"]}
    request = APIRequestFactory().get("/api/v1/pipeline/runs/", HTTP_HOST="testserver")
    expected = {row["id"]: dict(row) for row in _generic(rows, {"request": request, "format": None})}
    assert by_id.keys() == expected.keys()
    for pk, row in by_id.items():
        assert row == expected[pk]
