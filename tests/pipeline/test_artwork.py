"""The thumbnail follows the title, can be redrawn, and a person may bring their own
thumbnail or cover art (checked by its bytes like any image upload)."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from pipeline import services
from pipeline.choices import RunStatus, StageName, StageStatus, UploadStatus

pytestmark = pytest.mark.django_db


def image_upload(name="art.png", size=(1600, 900), fmt="PNG", colour=(200, 40, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue())


def thumbnail_bytes(video) -> bytes:
    return (Path(settings.MEDIA_ROOT) / video.thumbnail.name).read_bytes()


def test_editing_the_title_redraws_the_thumbnail(operator, finished_run):
    video = finished_run(operator).video
    before = thumbnail_bytes(video)
    services.update_metadata(video, operator, title="A brand new title", description="", tags=[])
    video.refresh_from_db()
    after = thumbnail_bytes(video)
    assert after != before
    with Image.open(io.BytesIO(after)) as img:
        assert img.size == (1280, 720) and img.format == "JPEG"
    # The same title again: nothing to redraw.
    services.update_metadata(video, operator, title="A brand new title", description="x", tags=[])
    assert thumbnail_bytes(video) == after


def test_regenerate_thumbnail_is_for_who_may_change_the_video(operator, other_operator, finished_run):
    video = finished_run(operator).video
    with pytest.raises(PermissionDenied):
        services.regenerate_thumbnail(video, other_operator)
    before = thumbnail_bytes(video)
    services.regenerate_thumbnail(video, operator)
    assert thumbnail_bytes(video) != before


def test_an_own_thumbnail_is_fitted_to_youtubes_size(operator, finished_run):
    video = finished_run(operator).video
    services.replace_thumbnail(video, operator, image_upload(size=(2000, 1500), fmt="JPEG", name="mine.jpg"))
    video.refresh_from_db()
    with Image.open(io.BytesIO(thumbnail_bytes(video))) as img:
        assert img.size == (1280, 720) and img.format == "JPEG"
        assert img.getpixel((640, 360))[0] > 150  # our red, not the generated art


@pytest.mark.parametrize("upload,fragment", [
    (SimpleUploadedFile("fake.png", b"<?xml version='1.0'?><svg/>"), "not a readable"),
    (image_upload(size=(300, 200)), "at least 640x360"),
    (image_upload(fmt="GIF", name="anim.png"), "not accepted"),
])
def test_bad_images_are_refused_at_their_field_and_change_nothing(operator, finished_run, upload, fragment):
    video = finished_run(operator).video
    before = thumbnail_bytes(video)
    with pytest.raises(ValidationError) as caught:
        services.replace_thumbnail(video, operator, upload)
    assert any(fragment in m for m in caught.value.message_dict["thumbnail"]), caught.value.message_dict
    assert thumbnail_bytes(video) == before


def test_an_oversize_image_is_refused(operator, finished_run, settings):
    settings.PIPELINE_IMAGE_MAX_MB = 0
    video = finished_run(operator).video
    with pytest.raises(ValidationError, match="MB"):
        services.replace_cover(video, operator, image_upload())


def test_own_cover_art_renders_the_video_again(operator, finished_run):
    run = finished_run(operator)
    with services.executing_inline():
        services.replace_cover(run.video, operator, image_upload())
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    stages = {s.name: s.status for s in run.stages.all()}
    assert stages[StageName.RENDER] == stages[StageName.THUMBNAIL] == StageStatus.PENDING
    assert stages[StageName.COMPOSE] == StageStatus.SUCCEEDED


def test_artwork_of_a_video_on_youtube_is_changed_there(operator, finished_run):
    video = finished_run(operator, upload_status=UploadStatus.UPLOADED, youtube_id="abc").video
    with pytest.raises(ValidationError, match="already on YouTube"):
        services.replace_thumbnail(video, operator, image_upload())
