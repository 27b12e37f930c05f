"""Admin pages read like English: model and column names, progress as a percentage, durations as h:mm:ss."""

import pytest
from django.db.models import Model

from monitoring.models import JobRun
from pipeline.choices import RunStatus
from pipeline.models import Run, Schedule, Track, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_admin_index_names_models_properly(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "YouTube channels" in html and "YouTube quota usage" in html and "Job statistics" in html
    assert "You tube" not in html and "Quota usages" not in html and "Job stats" not in html


def test_run_changelist_shows_durations_and_progress_readably(admin_client, operator, make_run):
    run = make_run(operator, RunStatus.RUNNING, duration_s=4500)
    Run.objects.filter(pk=run.pk).update(progress=0.5025)
    html = admin_client.get("/admin/pipeline/run/").content.decode()
    assert "Duration S" not in html and "0.5025" not in html
    assert '<td class="field-duration">1:15:00</td>' in html
    assert '<td class="field-progress_percent">50%</td>' in html

    detail = admin_client.get(f"/admin/pipeline/run/{run.pk}/change/").content.decode()
    assert "0.5025" not in detail and "50%" in detail
    assert "Duration (seconds)" in detail and "BPM" in detail


def test_job_run_admin_shows_the_label_and_a_percentage(admin_client, operator, make_run,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = make_run(operator)
    JobRun.objects.filter(name="pipeline.execute_stage").update(progress=0.25)
    html = admin_client.get("/admin/monitoring/jobrun/").content.decode()
    assert f"Compose stage of run #{run.pk}" in html and "25%" in html


@pytest.mark.parametrize("model", [Run, Video, Track, Schedule])
def test_no_field_label_is_a_raw_column_name(model: type[Model]):
    for field in model._meta.fields:
        label = str(field.verbose_name)
        assert not label.endswith((" s", " S")), f"{model.__name__}.{field.name}: {label!r}"
