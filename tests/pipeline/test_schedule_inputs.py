"""Schedule inputs that used to answer 500: a cron that never fires and a time zone
that is a tzdata folder. Each must be a 400 with the message at its field, on the
API, the HTML form and the enable toggle, and nothing may be saved."""

import pytest
from django.core.exceptions import ValidationError

from pipeline import services
from pipeline.models import Schedule
from tests.api_helpers import field_errors
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/pipeline/schedules/"
NEVER = ["0 0 31 2 *", "0 0 30 2 *"]


def api_body(preset, **overrides):
    return {"name": "Evening mix", "cron": "0 18 * * *", "timezone": "Europe/Paris", "preset": preset,
            "duration_s": 600, **overrides}


def form_data(preset, **overrides):
    return {"name": "Evening mix", "cron": "0 18 * * *", "timezone": "Europe/Paris", "preset": preset,
            "duration": "3600", "custom_duration": "", "audio_source": "procedural", "publish_target": "library",
            "privacy": "private", "enabled": "on", **overrides}


@pytest.mark.parametrize("cron", NEVER)
def test_api_refuses_a_cron_that_never_fires(api_as, operator, preset, cron):
    errors = field_errors(api_as(operator).post(API, api_body(preset, cron=cron), format="json"))
    assert any("never fires" in message for message in errors["cron"]), errors
    assert not Schedule.objects.exists()


@pytest.mark.parametrize("cron", NEVER)
def test_form_refuses_a_cron_that_never_fires(client, operator, preset, cron):
    client.force_login(operator)
    response = client.post("/pipeline/schedules/new/", form_data(preset, cron=cron))
    assert response.status_code == 400
    assert "never fires" in response.content.decode()
    assert not Schedule.objects.exists()


def test_enabling_a_schedule_that_never_fires_is_refused_and_it_stays_disabled(client, operator, preset):
    # Saved disabled (no next fire time is computed), e.g. from an older release.
    schedule = Schedule.objects.create(name="Leap", cron="0 0 30 2 *", timezone="UTC", preset=preset,
                                       duration_s=60, enabled=False, created_by=operator)
    client.force_login(operator)
    response = client.post(f"/pipeline/schedules/{schedule.pk}/toggle/", follow=True)
    assert response.status_code == 200
    assert "never fires" in response.content.decode()
    schedule.refresh_from_db()
    assert schedule.enabled is False and schedule.next_run_at is None


@pytest.mark.parametrize("zone", ["America", "Europe", "../../etc/passwd", "", "Europe/"])
def test_api_refuses_a_time_zone_that_is_not_a_zone(api_as, operator, preset, zone):
    errors = field_errors(api_as(operator).post(API, api_body(preset, timezone=zone), format="json"))
    assert "timezone" in errors, errors
    assert not Schedule.objects.exists()


@pytest.mark.parametrize("zone", ["America", "Europe"])
def test_form_refuses_a_time_zone_folder(client, operator, preset, zone):
    client.force_login(operator)
    response = client.post("/pipeline/schedules/new/", form_data(preset, timezone=zone))
    assert response.status_code == 400
    assert "Unknown time zone" in response.content.decode()
    assert not Schedule.objects.exists()


def test_time_zones_match_what_is_typed_whatever_its_case(api_as, client, operator, preset):
    response = api_as(operator).post(API, api_body(preset, timezone="europe/paris"), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["timezone"] == "Europe/Paris"
    client.force_login(operator)
    assert client.post("/pipeline/schedules/new/", form_data(preset, name="Tokyo", timezone=" ASIA/TOKYO ")
                       ).status_code == 302
    assert Schedule.objects.get(name="Tokyo").timezone == "Asia/Tokyo"


def test_the_service_refuses_them_too(operator, preset):
    with pytest.raises(ValidationError) as caught:
        services.save_schedule(operator, Schedule(name="x", cron="0 0 31 2 *", timezone="America", preset=preset,
                                                  duration_s=60))
    assert set(caught.value.message_dict) == {"cron", "timezone"}
    assert not Schedule.objects.exists()


def test_a_saved_schedule_that_never_fires_does_not_stop_the_scheduler(operator, preset,
                                                                       django_capture_on_commit_callbacks):
    from django.utils import timezone

    from monitoring.models import Event

    # Saved around the services (the admin, an older release), then due.
    broken = Schedule.objects.create(name="Leap", cron="0 0 30 2 *", timezone="UTC", preset=preset, duration_s=60,
                                     enabled=True, next_run_at=timezone.now(), created_by=operator)
    ScheduleFactory(created_by=operator, name="Daily", preset=preset, next_run_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.fire_due_schedules() == 1
    broken.refresh_from_db()
    assert broken.enabled is False and broken.next_run_at is None
    assert Event.objects.filter(kind="schedule.disabled").exists()


def test_a_schedule_is_described_in_plain_words_with_its_next_fire_times():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pipeline.cron import describe_cron, upcoming_fire_times

    assert describe_cron("30 7 * * 1-5") == "At 07:30, Monday through Friday"
    assert describe_cron("every day at six") == ""
    friday = datetime(2026, 12, 4, 12, 0, tzinfo=ZoneInfo("UTC"))
    times = upcoming_fire_times("30 7 * * 1-5", "Europe/Paris", count=3, after=friday)
    assert [(t.tzinfo.key, t.weekday(), t.hour, t.minute) for t in times] == [
        ("Europe/Paris", 0, 7, 30), ("Europe/Paris", 1, 7, 30), ("Europe/Paris", 2, 7, 30)]
    assert upcoming_fire_times("0 0 30 2 *", "UTC") == []


def test_run_now_starts_one_run_with_the_schedules_settings_and_keeps_its_next_fire_time(
        operator, other_operator, preset):
    from django.core.exceptions import PermissionDenied

    schedule = ScheduleFactory(created_by=operator, name="Daily", preset=preset, duration_s=90)
    next_run_at = schedule.next_run_at
    run = services.run_schedule_now(operator, schedule)
    assert (run.schedule, run.duration_s, run.preset, run.created_by) == (schedule, 90, preset, operator)
    schedule.refresh_from_db()
    assert schedule.next_run_at == next_run_at
    with pytest.raises(PermissionDenied):
        services.run_schedule_now(other_operator, schedule)
    assert schedule.runs.count() == 1
