"""Schedule pages (issue 7, item 20): "Run now", the cron in plain words, and the next
fire times in the schedule's own time zone (after save and as the person types)."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from pipeline import services
from pipeline.models import Run, Schedule
from tests.pipeline.test_pages import PERSONAS, assert_login_redirect, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(operator, preset):
    return services.save_schedule(operator, Schedule(name="Morning", cron="30 7 * * 1-5", timezone="Asia/Tokyo",
                                                     preset=preset, duration_s=600))


# --- Run now ----------------------------------------------------------------------------------
@pytest.mark.parametrize("persona,status", [("anonymous", "login"), ("viewer", 403), ("operator", 302),
                                            ("other_operator", 403), ("admin", 302)])
def test_run_now_role_matrix(client, personas, schedule, persona, status):
    next_run_at = schedule.next_run_at
    response = client_for(client, personas, persona).post(reverse("pipeline:schedule-run-now", args=[schedule.pk]))
    if status == "login":
        assert_login_redirect(response)
    else:
        assert response.status_code == status
    runs = Run.objects.filter(schedule=schedule)
    if status == 302:
        run = runs.get()
        assert response["Location"] == run.get_absolute_url()
        # started by whoever pressed the button, with the schedule's settings
        assert (run.created_by, run.preset, run.duration_s) == (personas[persona], schedule.preset, 600)
        schedule.refresh_from_db()
        assert schedule.next_run_at == next_run_at  # the timetable stays
    else:
        assert not runs.exists()


def test_run_now_is_post_only(client, operator, schedule):
    client.force_login(operator)
    assert client.get(reverse("pipeline:schedule-run-now", args=[schedule.pk])).status_code == 405
    assert not Run.objects.exists()


def test_run_now_button_only_for_those_who_may(client, personas, schedule):
    url = reverse("pipeline:schedule-run-now", args=[schedule.pk])
    for persona, shown in (("viewer", False), ("other_operator", False), ("operator", True), ("admin", True)):
        client.force_login(personas[persona])
        assert (url in client.get("/pipeline/schedules/").content.decode()) is shown, persona
    client.force_login(personas["operator"])
    assert url in client.get(reverse("pipeline:schedule-update", args=[schedule.pk])).content.decode()


def test_run_now_message_says_the_run_started(client, operator, schedule):
    client.force_login(operator)
    html = client.post(reverse("pipeline:schedule-run-now", args=[schedule.pk]), follow=True).content.decode()
    run = Run.objects.get()
    assert f"{run} started from the schedule" in html


# --- the cron in words and its next fire times ------------------------------------------------
def test_list_describes_the_cron_in_plain_words(client, viewer, schedule):
    client.force_login(viewer)
    html = client.get("/pipeline/schedules/").content.decode()
    assert "At 07:30, Monday through Friday" in html
    assert "<code>30 7 * * 1-5</code>" in html


def fire_times(html):
    return re.findall(r'<li><time datetime="([^"]+)">([^<]+)</time></li>', html)


def test_form_previews_the_next_five_fire_times_in_the_schedules_zone(client, operator, schedule):
    client.force_login(operator)
    html = client.get(reverse("pipeline:schedule-update", args=[schedule.pk])).content.decode()
    assert "At 07:30, Monday through Friday" in html
    times = fire_times(html)
    assert len(times) == 5
    for stamp, shown in times:
        when = datetime.fromisoformat(stamp).astimezone(ZoneInfo("Asia/Tokyo"))
        # shown as Tokyo wall-clock time (07:30), not the server's zone (UTC: 22:30 the day before)
        assert shown.endswith("07:30") and when.strftime("%H:%M") == "07:30"
        assert when.weekday() < 5 and shown.startswith(when.strftime("%a"))
    starts = [datetime.fromisoformat(stamp) for stamp, _ in times]
    assert starts == sorted(starts) and len(set(starts)) == 5


def test_preview_endpoint_answers_what_is_typed(client, viewer):
    client.force_login(viewer)
    url = reverse("pipeline:schedule-preview")
    html = client.get(url, {"cron": "0 18 * * *", "timezone": "europe/paris"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and "<main" not in html  # the inside of #cron-preview, for htmx to swap
    assert "At 18:00" in html and "Europe/Paris" in html
    assert [shown[-5:] for _, shown in fire_times(html)] == ["18:00"] * 5

    bad = client.get(url, {"cron": "not a cron", "timezone": "UTC"}).content.decode()
    assert not fire_times(bad) and "does not give any run times" in bad
    never = client.get(url, {"cron": "0 0 31 2 *", "timezone": "UTC"}).content.decode()
    assert not fire_times(never)
    zone = client.get(url, {"cron": "0 18 * * *", "timezone": "Mars/Olympus"}).content.decode()
    assert not fire_times(zone) and "known time zone" in zone


@pytest.mark.parametrize("persona", PERSONAS)
def test_preview_endpoint_role_matrix(client, personas, persona):
    response = client_for(client, personas, persona).get(reverse("pipeline:schedule-preview"),
                                                         {"cron": "0 18 * * *", "timezone": "UTC"})
    if persona == "anonymous":
        assert_login_redirect(response)
    else:
        assert response.status_code == 200 and len(fire_times(response.content.decode())) == 5


def test_new_schedule_form_wires_the_live_preview(client, operator):
    client.force_login(operator)
    html = client.get(reverse("pipeline:schedule-create")).content.decode()
    assert f'hx-get="{reverse("pipeline:schedule-preview")}"' in html
    assert "Type a cron expression" in html


def test_invalid_submission_keeps_input_and_still_previews(client, operator, preset):
    client.force_login(operator)
    response = client.post(reverse("pipeline:schedule-create"), {
        "name": "", "cron": "15 6 * * *", "timezone": "UTC", "preset": preset, "duration": "600",
        "custom_duration": "", "audio_source": "procedural", "publish_target": "library", "privacy": "private",
        "enabled": "on"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'value="15 6 * * *"' in html and "At 06:15" in html and len(fire_times(html)) == 5
    assert not Schedule.objects.exists()
