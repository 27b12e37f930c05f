"""One place per rule: the publish-at rules, the intro/outro clip rule and YouTube's text
limits give the same answer and the same message on the pages, the API and the command.

Clips are typed from their bytes (ffprobe), never their names, and the messages about
them (on upload and when a render fails) name files, never paths on the server.
"""

import html
import io
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from PIL import Image

from pipeline import services, youtube
from pipeline.choices import RunStatus
from pipeline.engines.ffmpeg import ffmpeg_exe
from pipeline.engines.metadata import validate_metadata
from pipeline.models import Run, Stage, Video
from tests.api_helpers import field_errors
from tests.pipeline.test_pages import errors_in, field_block, run_data

API = "/api/v1/pipeline"
RUN_BODY = {"preset": "study", "duration_s": 60}
# A "/" that starts a word and is followed by folders: what a server path looks like in a message.
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/[\w.-]+/")


def form_errors(client, preset, field, **data):
    response = client.post("/pipeline/runs/new/", {**run_data(preset), **data})
    assert response.status_code == 400, response.status_code
    return page_errors(response, field)


def page_errors(response, field):
    return [html.unescape(error) for error in errors_in(field_block(response.content.decode(), field))]


def api_errors(client, field, body, fmt="multipart"):
    return field_errors(client.post(f"{API}/runs/", body, format=fmt))[field]


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 100, 50)).save(buffer, format="GIF")
    return buffer.getvalue()


# --- clips are typed from their bytes ------------------------------------------------------------------
@pytest.mark.parametrize("content,fragment", [
    (b"just some notes, not a video\n" * 20, "x.mp4 is not a video file ffmpeg can read"),
    (gif_bytes(), "x.mp4 is not an mp4, mov, webm or mkv video"),
])
def test_a_clip_that_is_not_a_video_is_refused_at_its_field_on_the_page(client, operator, preset, content, fragment):
    client.force_login(operator)
    errors = form_errors(client, preset, "intro", intro=SimpleUploadedFile("x.mp4", content, "video/mp4"))
    assert any(fragment in error for error in errors), errors
    assert not Run.objects.exists()


@pytest.mark.parametrize("field", ["intro", "outro"])
def test_a_text_file_named_mp4_is_refused_at_its_field_by_the_api(api_as, operator, field):
    notes = SimpleUploadedFile("x.mp4", b"hello, this is text\n" * 20, content_type="video/mp4")
    errors = api_errors(api_as(operator), field, {**RUN_BODY, field: notes})
    assert errors == ["x.mp4 is not a video file ffmpeg can read."]
    assert not Run.objects.exists()


def test_a_sound_file_named_mp4_has_no_video_stream(api_as, operator, tmp_path):
    sound = tmp_path / "sound.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(sound)],
                   check=True)
    upload = SimpleUploadedFile("intro.mp4", sound.read_bytes(), content_type="video/mp4")
    assert api_errors(api_as(operator), "intro", {**RUN_BODY, "intro": upload}) == [
        "intro.mp4 has no video stream."]


def test_a_real_clip_is_accepted_on_the_page_and_kept(client, operator, preset, clip_bytes):
    client.force_login(operator)
    response = client.post("/pipeline/runs/new/", {**run_data(preset),
                                                   "outro": SimpleUploadedFile("end.mp4", clip_bytes, "video/mp4")})
    assert response.status_code == 302, response.content[:2000]
    run = Run.objects.get()
    assert run.outro.name.endswith("end.mp4") and run.outro.size == len(clip_bytes)


def test_a_large_clip_is_probed_from_its_temporary_file(api_as, operator, clip_bytes, settings):
    """Uploads over FILE_UPLOAD_MAX_MEMORY_SIZE arrive on disk; the probe reads them there."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    upload = SimpleUploadedFile("intro.mp4", clip_bytes, content_type="video/mp4")
    response = api_as(operator).post(f"{API}/runs/", {**RUN_BODY, "intro": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert Run.objects.get().intro.size == len(clip_bytes)


def test_the_command_refuses_a_text_clip_by_its_option(admin_user, tmp_path):
    fake = tmp_path / "x.mp4"
    fake.write_text("not a video\n" * 20)
    with pytest.raises(CommandError, match=r"--intro: x\.mp4 is not a video file ffmpeg can read") as error:
        call_command("pipeline", "run", "--async", "--duration", "30s", "--intro", str(fake),
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert str(tmp_path) not in str(error.value)
    assert not Run.objects.exists()


# --- one clip size rule, in MiB, with one message -----------------------------------------------------
def test_the_clip_size_limit_is_counted_in_mib_with_one_message_everywhere(client, api_as, operator, preset,
                                                                           settings):
    settings.PIPELINE_CLIP_MAX_MB = 1
    size = 3 * 1024 * 1024 // 2  # 1.5 MiB (1.57 MB in powers of ten)
    expected = "The clip is 1.5 MB; the limit is 1 MB."
    client.force_login(operator)
    assert form_errors(client, preset, "intro", intro=SimpleUploadedFile("big.mp4", b"x" * size)) == [expected]
    assert api_errors(api_as(operator), "intro", {**RUN_BODY, "intro": SimpleUploadedFile("big.mp4", b"x" * size)}
                      ) == [expected]


def test_a_clip_of_exactly_the_limit_passes_the_size_rule(settings, clip_bytes):
    settings.PIPELINE_CLIP_MAX_MB = 1
    padded = clip_bytes + b"\0" * (1024 * 1024 - len(clip_bytes))  # 1 MiB: over 1e6 bytes, not over 1 MiB
    services.check_clip(SimpleUploadedFile("intro.mp4", padded))


# --- render errors name files, never server paths -----------------------------------------------------
@pytest.fixture
def run_at_render(make_run):
    """A queued run whose compose, artwork and metadata stages are done (real AAC audio, a PNG cover)."""

    def make(user, **run_fields):
        run = make_run(user)
        folder = Path(django_settings.MEDIA_ROOT) / "runs" / str(run.pk)
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=d=30", "-c:a", "aac",
                        str(folder / "audio.m4a")], check=True)
        Image.new("RGB", (192, 108), (40, 30, 80)).save(folder / "cover.png")
        run.stages.filter(name__in=["compose", "artwork", "metadata"]).update(status="succeeded", progress=1.0)
        Video.objects.filter(run=run).update(audio=f"runs/{run.pk}/audio.m4a", cover=f"runs/{run.pk}/cover.png",
                                             duration_s=30.0, title="Rain study")
        Run.objects.filter(pk=run.pk).update(**run_fields)
        return run

    return make


def render_once(run):
    with services.executing_inline():
        services.execute_next_stage(run.pk)
    return Run.objects.get(pk=run.pk), Stage.objects.get(run=run, name="render")


def assert_no_server_path(*texts):
    for text in texts:
        assert str(django_settings.MEDIA_ROOT) not in text, text
        assert not ABSOLUTE_PATH.search(text), text


def test_a_clip_that_cannot_be_rendered_fails_the_run_with_its_name_only(operator, run_at_render):
    """A clip stored before uploads were probed (a text file named .mp4) fails at render, readably."""
    clips = Path(django_settings.MEDIA_ROOT) / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    (clips / "x.mp4").write_text("not a video\n" * 20)
    run, stage = render_once(run_at_render(operator, intro="clips/x.mp4"))
    assert run.status == RunStatus.FAILED and stage.status == "failed"
    assert "x.mp4" in stage.error and "x.mp4" in run.error
    assert_no_server_path(stage.error, run.error, stage.log)


def test_a_clip_missing_from_the_media_folder_is_named_not_located(operator, run_at_render):
    run, stage = render_once(run_at_render(operator, outro="clips/gone.mp4"))
    assert run.status == RunStatus.FAILED and "gone.mp4 is missing" in stage.error
    assert_no_server_path(stage.error, run.error, stage.log)


def test_ffmpeg_errors_from_render_lose_their_folders(operator, run_at_render):
    """ffmpeg quotes the paths it could not read (here: junk where the mix should be); the stage shows names."""
    run = run_at_render(operator)
    (Path(django_settings.MEDIA_ROOT) / "runs" / str(run.pk) / "audio.m4a").write_bytes(b"\0" * 4096)
    run, stage = render_once(run)
    assert run.status == RunStatus.FAILED and "audio.m4a" in stage.error, stage.error
    assert_no_server_path(stage.error, run.error, stage.log)


# --- one publish rule ---------------------------------------------------------------------------------
def test_a_publish_time_on_a_library_run_is_refused_by_the_api_as_by_the_page(client, api_as, operator, preset):
    later = timezone.localtime() + timedelta(days=1)
    client.force_login(operator)
    page = form_errors(client, preset, "publish_at", publish_at=later.strftime("%Y-%m-%dT%H:%M"))
    api = api_errors(api_as(operator), "publish_at", {**RUN_BODY, "publish_at": later.isoformat()}, fmt="json")
    assert page == api == ["A publish time only applies to YouTube uploads; clear it or choose 'Upload to YouTube'."]
    assert not Run.objects.exists()


def test_the_publish_rule_gives_one_message_on_page_api_and_service(client, api_as, operator, preset, channel,
                                                                    finished_run):
    later = timezone.localtime() + timedelta(days=1)
    client.force_login(operator)
    page = form_errors(client, preset, "publish_at", publish_target="youtube", privacy="public",
                       publish_at=later.strftime("%Y-%m-%dT%H:%M"))
    api = api_errors(api_as(operator), "publish_at", {**RUN_BODY, "publish_target": "youtube", "privacy": "public",
                                                      "publish_at": later.isoformat()}, fmt="json")
    video = finished_run(operator).video
    publish_page = client.post(f"/pipeline/runs/{video.run_id}/publish/", {
        "privacy": "unlisted", "publish_at": later.strftime("%Y-%m-%dT%H:%M")})
    publish_api = field_errors(api_as(operator).post(f"{API}/videos/{video.pk}/publish/", {
        "privacy": "unlisted", "publish_at": later.isoformat()}, format="json"))["publish_at"]
    rule = services.publish_errors(publish_target="youtube", privacy="public", publish_at=later)["publish_at"]
    assert page == api == publish_api == page_errors(publish_page, "publish_at") == [rule]


# --- YouTube's text limits: one definition --------------------------------------------------------------
@pytest.mark.parametrize("title,description,tags", [
    ("x" * 101, "", []),
    ("Rain", "é" * 2501, []),
    ("Rain", "", ["lofi, study"]),
    ("Rain", "", [f"tag {n:03d}" for n in range(60)]),
])
def test_the_youtube_client_refuses_what_the_metadata_rule_refuses_with_its_message(title, description, tags):
    problems = validate_metadata(title, description, tags)
    assert problems
    with pytest.raises(ValueError) as error:
        youtube._video_body(title=title, description=description, tags=tags, category_id="10", privacy="private",
                            publish_at=None, made_for_kids=False, synthetic_media=False)
    assert str(error.value) == " ".join(problems.values())
