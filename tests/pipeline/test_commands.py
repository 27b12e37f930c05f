"""The pipeline's management commands: `pipeline run/status/retry/cancel`, `stats`,
`youtube_connect` (stdin and the loopback OAuth flow against the fake Google)."""

import io
import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from monitoring.models import JobRun
from pipeline.choices import RunStatus
from pipeline.management.commands.pipeline import ProgressDisplay
from pipeline.models import Run, Video, YouTubeChannel


def run_command(*args, stdin=None, **options):
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        options["stdin"] = io.StringIO(stdin)
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue()


# --- pipeline run: bad input ---------------------------------------------------------------------
@pytest.mark.parametrize("args,fragment", [
    (["--preset", "death-metal"], "--preset 'death-metal' is not a preset. Choose one of: "),
    (["--duration", "10s"], "--duration 10s is 10s: a mix lasts from 30s to 3h00m"),
    (["--duration", "4h"], "a mix lasts from 30s to 3h00m"),
    (["--duration", "a while"], "is not a duration"),
    (["--key", "H#"], "--key: not a key: 'H#'"),
    (["--bpm", "300"], "--bpm: Ensure this value is less than or equal to 110"),
    (["--target", "youtube"], "--target: No YouTube channel is connected"),
    (["--library"], "--library: The track library is empty"),
    (["--privacy", "public", "--publish-at", "2099-01-01T18:00"], "--publish-at: A scheduled publish time needs"),
    (["--publish-at", "next friday"], "--publish-at 'next friday' is not a date and time"),
    (["--user", "nobody"], "No user named 'nobody'"),
    (["--user", "vera"], "vera: Your role cannot start runs."),
    (["--intro", "/nonexistent/intro.mp4"], "--intro /nonexistent/intro.mp4: no such file"),
])
def test_run_rejects_bad_input_and_creates_nothing(admin_user, viewer, args, fragment):
    with pytest.raises(CommandError) as error:
        run_command("pipeline", "run", "--duration", "30s", *args)
    assert fragment in str(error.value)
    assert not Run.objects.exists() and not JobRun.objects.exists()


def test_run_without_any_admin_says_so(db):
    with pytest.raises(CommandError, match="No admin user exists.*--user USERNAME"):
        run_command("pipeline", "run", "--duration", "30s")
    assert not Run.objects.exists()


def test_run_async_only_queues(admin_user, operator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        out = run_command("pipeline", "run", "--async", "--duration", "10m", "--preset", "sleep", "--seed", "7",
                          "--key", "Am", "--bpm", "72", "--motion", "--user", "otto")
    run = Run.objects.get()
    assert f"Run #{run.pk} queued (sleep, 10m00s, seed 7)" in out
    assert (run.duration_s, run.preset, run.seed, run.musical_key, run.bpm, run.motion) == (600, "sleep", 7, "Am",
                                                                                            72, True)
    assert run.created_by == operator and run.status == RunStatus.QUEUED
    job = JobRun.objects.get()
    assert (job.name, job.args, job.status) == ("pipeline.execute_stage", [run.pk], "queued")


def test_run_help_presets(admin_user):
    out = run_command("pipeline", "run", "--help-presets")
    assert "study" in out and "jazz-cafe" in out
    assert not Run.objects.exists()


def test_progress_display_plain_and_tty():
    plain = io.StringIO()
    from django.core.management.base import OutputWrapper

    display = ProgressDisplay(OutputWrapper(plain), tty=False)
    display.update("compose", 0.0, 0.0)
    display.update("compose", 0.0, 0.0)  # unchanged: no new line
    display.update("render", 0.5, 0.25)
    assert plain.getvalue().splitlines() == [
        "[------------------------------]   0% compose   0%",
        "[###############---------------]  50% render  25%",
    ]
    tty = io.StringIO()
    display = ProgressDisplay(OutputWrapper(tty), tty=True)
    display.update("compose", 0.1, 0.3)
    display.update("compose", 0.2, 0.6)
    display.message("compose succeeded")
    text = tty.getvalue()
    assert text.count("\r[") == 2 and "\n" not in text.split("compose succeeded")[0]
    assert text.endswith("compose succeeded\n")


# --- pipeline status / retry / cancel -------------------------------------------------------------------
def test_status_table_shows_last_ten_runs(admin_user, operator, make_run):
    runs = [make_run(operator) for _ in range(11)]
    failed = make_run(operator, RunStatus.FAILED, error="Render failed: ffmpeg exited with status 1 because the "
                                                          "disk is full and so on and so forth")
    out = run_command("pipeline", "status")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "PRESET", "DURATION", "PROGRESS", "CREATED", "ELAPSED", "BY", "ERROR"]
    assert len(lines) == 11
    assert lines[1].split()[:5] == [str(failed.pk), "failed", "study", "1m00s", "35%"]
    assert lines[1].endswith("otto  Render failed: ffmpeg exited with status 1 beca...")
    shown = {int(line.split()[0]) for line in lines[1:]}
    assert runs[0].pk not in shown and runs[-1].pk in shown


def test_status_without_runs(admin_user):
    assert "No runs yet" in run_command("pipeline", "status")


def test_cancel_and_retry(admin_user, operator, other_operator, make_run):
    run = make_run(operator)
    with pytest.raises(CommandError, match="You may not change this"):
        run_command("pipeline", "cancel", str(run.pk), "--user", "oona")
    assert f"Run #{run.pk} cancelled." in run_command("pipeline", "cancel", str(run.pk), "--user", "otto")
    with pytest.raises(CommandError, match="already cancelled; nothing to cancel"):
        run_command("pipeline", "cancel", str(run.pk))
    out = run_command("pipeline", "retry", str(run.pk))
    assert f"Run #{run.pk} queued again; it resumes at the compose stage" in out
    assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED
    with pytest.raises(CommandError, match="Only failed or cancelled runs can be retried"):
        run_command("pipeline", "retry", str(run.pk))
    with pytest.raises(CommandError, match="No run #999999"):
        run_command("pipeline", "retry", "999999")


def test_cancel_running_run_requests_stop(admin_user, operator, make_run):
    run = make_run(operator, RunStatus.RUNNING)
    assert "cancel requested" in run_command("pipeline", "cancel", str(run.pk))
    assert Run.objects.get(pk=run.pk).cancel_requested


# --- youtube_connect ------------------------------------------------------------------------------------
def _raw_channel_row():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT client_secret, refresh_token FROM {YouTubeChannel._meta.db_table}")
        return cursor.fetchone()


def test_youtube_connect_from_stdin_stores_secrets_encrypted(admin_user, fake_youtube):
    fake = fake_youtube
    out = run_command("youtube_connect", "--client-id", fake.client_id, "--client-secret-stdin",
                      "--refresh-token-stdin", stdin=f"{fake.client_secret}\n{fake.refresh_token}\n")
    channel = YouTubeChannel.objects.get()
    # The channel's real id and title, as YouTube answers them for these credentials.
    assert (channel.client_id, channel.channel_id, channel.channel_title, channel.connected_by) == (
        fake.client_id, fake.channel_id, fake.channel_title, admin_user)
    assert (channel.client_secret, channel.refresh_token) == (fake.client_secret, fake.refresh_token)
    raw_secret, raw_token = _raw_channel_row()
    assert fake.client_secret not in raw_secret and fake.refresh_token not in raw_token
    assert raw_secret.startswith("gAAAA") and raw_token.startswith("gAAAA")  # Fernet tokens
    assert fake.client_secret not in out and fake.refresh_token not in out
    assert "connected by ada" in out and fake.channel_title in out


@pytest.mark.parametrize("secret,token,fragment", [
    ("bogus-secret", None, "does not know this client id and secret"),
    (None, "1//not-a-real-token", "refused this refresh token"),
])
def test_youtube_connect_refuses_credentials_that_do_not_work(admin_user, fake_youtube, secret, token, fragment):
    fake = fake_youtube
    with pytest.raises(CommandError, match=fragment):
        run_command("youtube_connect", "--client-id", fake.client_id, "--client-secret-stdin", "--refresh-token-stdin",
                    stdin=f"{secret or fake.client_secret}\n{token or fake.refresh_token}\n")
    assert not YouTubeChannel.objects.exists()


def test_youtube_connect_refuses_non_admin_and_empty_input(admin_user, operator):
    with pytest.raises(CommandError, match="otto is not an admin"):
        run_command("youtube_connect", "--client-id", "x", "--client-secret-stdin", "--refresh-token-stdin",
                    "--user", "otto", stdin="s\nt\n")
    with pytest.raises(CommandError, match="standard input had no refresh token line"):
        run_command("youtube_connect", "--client-id", "x", "--client-secret-stdin", "--refresh-token-stdin",
                    stdin="secret-only\n")
    with pytest.raises(CommandError, match="pipe it in and pass --client-secret-stdin"):
        run_command("youtube_connect", "--client-id", "x", "--refresh-token-stdin", stdin="")
    assert not YouTubeChannel.objects.exists()


class Browser(threading.Thread):
    """Plays the person at the browser: waits for the consent URL on the command's output, opens it."""

    def __init__(self, out: io.StringIO, visit=None):
        super().__init__(daemon=True)
        self.out, self.visit, self.url, self.response, self.error = out, visit, None, None, None

    def run(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            match = re.search(r"(http://\S+/o/oauth2/v2/auth\?\S+)", self.out.getvalue())
            if match:
                self.url = match.group(1)
                try:
                    self.response = (self.visit or _follow)(self.url)
                except Exception as exc:  # reported by the test
                    self.error = exc
                return
            time.sleep(0.02)


def _follow(url):
    return httpx.get(url, follow_redirects=True, timeout=10)


def _connect_with_browser(fake, visit=None, *extra, secret=None):
    """`manage.py youtube_connect` against the fake Google (the `fake_youtube` fixture), with a browser;
    the client secret typed is the fake's own unless `secret` is given."""
    out = io.StringIO()
    browser = Browser(out, visit)
    browser.start()
    try:
        call_command("youtube_connect", "--client-id", fake.client_id, "--client-secret-stdin", "--port", "0",
                     "--timeout", "10", *extra, stdin=io.StringIO(f"{secret or fake.client_secret}\n"), stdout=out,
                     stderr=io.StringIO())
    finally:
        browser.join(timeout=10)
    return out.getvalue(), browser


def test_youtube_connect_loopback_flow_against_fake_google(admin_user, fake_youtube):
    fake = fake_youtube
    out, browser = _connect_with_browser(fake)
    assert browser.error is None and browser.response.status_code == 200
    assert "You can close this tab" in browser.response.text
    consent = fake.consents[0]
    assert consent["client_id"] == fake.client_id and consent["response_type"] == "code"
    assert consent["scope"] == ("https://www.googleapis.com/auth/youtube.upload "
                                "https://www.googleapis.com/auth/youtube")
    assert (consent["access_type"], consent["prompt"], consent["code_challenge_method"]) == (
        "offline", "consent", "S256")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", consent["redirect_uri"])
    assert len(consent["state"]) >= 32 and len(consent["code_challenge"]) == 43
    channel = YouTubeChannel.objects.get()
    assert (channel.client_id, channel.client_secret, channel.refresh_token) == (
        fake.client_id, fake.client_secret, fake.refresh_token)
    raw_secret, raw_token = _raw_channel_row()
    assert fake.refresh_token not in raw_token and fake.client_secret not in raw_secret
    assert fake.refresh_token not in out and fake.client_secret not in out
    assert "YouTube channel connected" in out


def test_youtube_connect_rejects_a_redirect_with_another_state(admin_user, fake_youtube):
    def forged(url):
        redirect_uri = re.search(r"redirect_uri=([^&]+)", url).group(1)
        from urllib.parse import unquote

        return httpx.get(unquote(redirect_uri) + "?code=stolen&state=not-ours", timeout=10)

    with pytest.raises(CommandError, match="state did not match"):
        _connect_with_browser(fake_youtube, forged)
    assert fake_youtube.token_requests == 0
    assert not YouTubeChannel.objects.exists()


def test_youtube_connect_consent_refused(admin_user, fake_youtube):
    fake_youtube.deny_consent = True
    with pytest.raises(CommandError, match="'access_denied': the consent was not given"):
        _connect_with_browser(fake_youtube)
    assert not YouTubeChannel.objects.exists()


def test_youtube_connect_wrong_client_secret(admin_user, fake_youtube):
    with pytest.raises(CommandError, match=r"refused the authorization \(401: The OAuth client was not found.\)"):
        _connect_with_browser(fake_youtube, secret="a-wrong-secret")
    assert not YouTubeChannel.objects.exists()


def test_youtube_connect_times_out_clearly(admin_user, settings):
    with pytest.raises(CommandError, match="No answer from the browser within 1 s; nothing was saved"):
        run_command("youtube_connect", "--client-id", "x", "--client-secret-stdin", "--port", "0", "--timeout", "1",
                    stdin="secret\n")
    assert not YouTubeChannel.objects.exists()


# --- the real thing: a synchronous 30-second run ------------------------------------------------------------
def test_pipeline_run_end_to_end_makes_real_media(admin_user, capsys):
    from pipeline.engines.ffmpeg import probe

    out = run_command("pipeline", "run", "--duration", "30s", "--preset", "rainy-night", "--seed", "11")
    run = Run.objects.get()
    video = Video.objects.get(run=run)
    assert run.status == RunStatus.SUCCEEDED, (run.error, out)
    for stage in ("compose", "artwork", "metadata", "render", "thumbnail"):
        assert re.search(rf"\] {stage} succeeded in \d+\.\d s", out), out
    assert "publish skipped" in out
    assert f"Run #{run.pk} succeeded" in out and f"Title:     {video.title}" in out
    assert "YouTube:   not uploaded (library only)" in out
    paths = {label: Path(re.search(rf"  {label}:\s+(\S+)", out).group(1)) for label in
             ("Video", "Audio", "Cover", "Thumbnail")}
    assert all(path.is_file() for path in paths.values())
    info = probe(paths["Video"])
    kinds = {stream["codec_type"]: stream for stream in info["streams"]}
    assert kinds["video"]["codec_name"] == "h264" and kinds["audio"]["codec_name"] == "aac"
    assert abs(info["duration"] - 30) <= 0.5
    assert probe(paths["Audio"])["duration"] == pytest.approx(30, abs=0.5)
    assert paths["Thumbnail"].stat().st_size < 2 * 1024 * 1024
    assert not JobRun.objects.exists()  # executed here: nothing was queued for a worker


def test_pipeline_run_failure_exits_with_readable_error(admin_user, settings, tmp_path):
    # The media folder lies under a plain file: the first stage cannot create its output folder.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    settings.MEDIA_ROOT = blocker / "media"
    with pytest.raises(CommandError) as error:
        run_command("pipeline", "run", "--duration", "30s")
    run = Run.objects.get()
    assert run.status == RunStatus.FAILED
    assert str(error.value).startswith(f"Run #{run.pk} failed after")
    assert "Compose failed" in str(error.value)
    assert run.stages.get(name="compose").status == "failed"


def test_connecting_is_charged_to_the_quota_ledger(admin_user, fake_youtube):
    from pipeline.models import QuotaUsage

    run_command("youtube_connect", "--client-id", fake_youtube.client_id, "--client-secret-stdin",
                "--refresh-token-stdin", stdin=f"{fake_youtube.client_secret}\n{fake_youtube.refresh_token}\n")
    assert list(QuotaUsage.objects.values_list("operation", "units", "user")) == [("channels.list", 1, admin_user.pk)]
