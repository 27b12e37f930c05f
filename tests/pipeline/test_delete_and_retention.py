"""Runs (with their video and files) can be deleted; old library-only media is purged by
the retention setting; the storage used is counted."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from monitoring.models import Event
from pipeline import services
from pipeline.choices import RunStatus, UploadStatus
from pipeline.models import Run, Stage, Video

pytestmark = pytest.mark.django_db


def folder_of(run) -> Path:
    return Path(settings.MEDIA_ROOT) / "runs" / str(run.pk)


def test_deleting_a_run_removes_its_rows_and_files_and_frees_the_space(
        operator, finished_run, django_capture_on_commit_callbacks):
    run = finished_run(operator)
    assert folder_of(run).is_dir()
    before = services.storage_used()
    with django_capture_on_commit_callbacks(execute=True):
        freed = services.delete_run(run, operator)
    assert freed > 0 and freed == before["runs"]
    assert not folder_of(run).exists()
    assert not Run.objects.filter(pk=run.pk).exists()
    assert not Video.objects.filter(run_id=run.pk).exists() and not Stage.objects.filter(run_id=run.pk).exists()
    assert services.storage_used()["runs"] == 0
    assert Event.objects.filter(kind="run.deleted", user=operator).exists()


def test_only_the_owner_or_an_admin_deletes(operator, other_operator, viewer, admin_user, finished_run,
                                            django_capture_on_commit_callbacks):
    run = finished_run(operator)
    for someone in (other_operator, viewer):
        with pytest.raises(PermissionDenied):
            services.delete_run(run, someone)
    assert folder_of(run).is_dir()
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_run(run, admin_user)
    assert not Run.objects.filter(pk=run.pk).exists()


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING])
def test_an_active_run_is_not_deleted(operator, make_run, status):
    run = make_run(operator, status)
    with pytest.raises(ValidationError, match="cancel it first"):
        services.delete_run(run, operator)
    assert Run.objects.filter(pk=run.pk).exists()


def test_a_video_being_uploaded_is_not_deleted(operator, finished_run):
    run = finished_run(operator, upload_status=UploadStatus.UPLOADING)
    with pytest.raises(ValidationError, match="being uploaded"):
        services.delete_run(run, operator)
    assert folder_of(run).is_dir()


def test_retention_deletes_old_library_media_but_keeps_runs_and_youtube_videos(
        settings, operator, finished_run, django_capture_on_commit_callbacks):
    settings.PIPELINE_LIBRARY_RETENTION_DAYS = 30
    month_ago = {"finished_at": timezone.now() - timedelta(days=31)}
    old = finished_run(operator, run_params=month_ago)
    recent = finished_run(operator)
    on_youtube = finished_run(operator, run_params=month_ago, upload_status=UploadStatus.UPLOADED, youtube_id="abc")
    Run.objects.filter(pk=on_youtube.pk).update(publish_target="youtube")  # published after it was made
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_library_media() == 1
        assert services.purge_library_media() == 0  # already done
    video = Video.objects.get(run=old)
    assert video.media_deleted_at is not None and not video.video and not video.audio
    assert video.title  # the metadata stays
    assert not folder_of(old).exists()
    assert folder_of(recent).is_dir() and folder_of(on_youtube).is_dir()
    assert Event.objects.filter(kind="video.media_deleted").count() == 1


def test_retention_off_by_default_keeps_everything(operator, finished_run):
    old = finished_run(operator, run_params={"finished_at": timezone.now() - timedelta(days=3650)})
    assert services.purge_library_media() == 0
    assert folder_of(old).is_dir()
