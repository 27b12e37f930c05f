"""The YouTube client against FakeYouTube: real HTTP on 127.0.0.1, no network, no database."""

import io
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from PIL import Image

from pipeline.youtube import (
    MAX_THUMBNAIL_BYTES,
    QUOTA_BUCKET_UPLOADS,
    THUMBNAILS_SET_UNITS,
    VIDEOS_INSERT_UNITS,
    YouTubeAuthError,
    YouTubeClient,
    YouTubeConfig,
    YouTubeError,
    YouTubeQuotaExceededError,
    YouTubeTransientError,
    YouTubeUploadLimitError,
)
from tests.fakes.youtube_server import FakeYouTube

CHUNK = 256 * 1024
VIDEO_SIZE = 1_000_000  # three full chunks and a short last one


class WorkerDied(Exception):
    """Stands in for a worker process killed in the middle of an upload."""


@pytest.fixture
def fake():
    with FakeYouTube() as server:
        yield server


@pytest.fixture
def sleeps():
    return []


def make_client(fake, sleeps=None, **overrides):
    settings = {
        **fake.client_settings(),
        "chunk_size": CHUNK,
        "timeout": 5.0,
        "max_retries": 3,
        "backoff_base": 0.01,
        **overrides,
    }
    # Recording the backoff delays instead of sleeping keeps the tests fast and lets them check the delays.
    return YouTubeClient(YouTubeConfig(**settings), sleep=(sleeps if sleeps is not None else []).append)


@pytest.fixture
def client(fake, sleeps):
    with make_client(fake, sleeps) as youtube:
        yield youtube


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "mix.mp4"
    path.write_bytes(os.urandom(VIDEO_SIZE))
    return path


def upload(client, path, **kwargs):
    metadata = {"title": "Rainy night lo-fi", "description": "Beats to study to", "tags": ["lofi", "study music"]}
    return client.upload_video(path, **{**metadata, **kwargs})


def crash_after(confirmed_bytes):
    """A progress callback that kills the 'worker' once YouTube holds ``confirmed_bytes``."""

    def progress(sent, total):
        if sent >= confirmed_bytes:
            raise WorkerDied

    return progress


def jpeg_bytes(width=1280, height=720):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 30, 80)).save(buffer, format="JPEG")
    return buffer.getvalue()


# -- happy path ------------------------------------------------------------


def test_multi_chunk_upload_arrives_byte_identical(fake, client, video):
    progress = []

    result = upload(client, video, progress=lambda sent, total: progress.append((sent, total)))

    stored = fake.last_upload
    assert bytes(stored.data) == video.read_bytes()
    assert stored.chunk_ranges == [
        (0, CHUNK - 1),
        (CHUNK, 2 * CHUNK - 1),
        (2 * CHUNK, 3 * CHUNK - 1),
        (3 * CHUNK, VIDEO_SIZE - 1),
    ]
    assert stored.status_queries == 0
    assert stored.content_type == "video/mp4"
    assert progress == [(CHUNK, VIDEO_SIZE), (2 * CHUNK, VIDEO_SIZE), (3 * CHUNK, VIDEO_SIZE), (VIDEO_SIZE, VIDEO_SIZE)]
    assert result.video_id == stored.video_id
    assert result.url == f"https://www.youtube.com/watch?v={result.video_id}"
    assert result.upload_status == "uploaded"
    assert (result.quota_units, result.quota_bucket) == (VIDEOS_INSERT_UNITS, QUOTA_BUCKET_UPLOADS)


def test_metadata_is_sent_the_way_youtube_expects(fake, client, video):
    publish_at = datetime(2031, 5, 17, 20, 30, tzinfo=timezone(timedelta(hours=2)))

    result = upload(client, video, privacy="private", publish_at=publish_at)

    metadata = fake.last_upload.metadata
    assert fake.last_upload.parts == ["snippet", "status"]
    assert metadata["snippet"] == {
        "title": "Rainy night lo-fi",
        "description": "Beats to study to",
        "tags": ["lofi", "study music"],
        "categoryId": "10",
    }
    assert metadata["status"] == {
        "privacyStatus": "private",
        "publishAt": "2031-05-17T18:30:00Z",
        "selfDeclaredMadeForKids": False,
        "containsSyntheticMedia": True,
    }
    assert result.raw["status"]["publishAt"] == "2031-05-17T18:30:00Z"


@pytest.mark.parametrize("privacy", ["public", "unlisted"])
def test_publish_at_with_a_non_private_video_is_refused_before_any_request(fake, client, video, privacy):
    with pytest.raises(ValueError, match="privacy must be 'private'"):
        upload(client, video, privacy=privacy, publish_at=datetime(2031, 1, 1, tzinfo=UTC))
    assert fake.requests == []


def test_naive_publish_at_is_refused(client, video):
    with pytest.raises(ValueError, match="timezone-aware"):
        upload(client, video, publish_at=datetime(2031, 1, 1))


def test_chunk_size_must_be_a_multiple_of_256_kib(fake):
    with pytest.raises(ValueError, match="multiple of 262144"):
        YouTubeConfig(**fake.client_settings(), chunk_size=100_000)


# -- interrupted uploads ---------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_resumes_and_resends_only_the_missing_chunk(fake, client, video, sleeps, status):
    fake.fail_next_chunks(1, status=status)

    upload(client, video)

    stored = fake.last_upload
    assert bytes(stored.data) == video.read_bytes()
    # The rejected first chunk is the only data that crossed the wire twice.
    assert stored.bytes_received == VIDEO_SIZE + CHUNK
    assert stored.chunk_ranges[:2] == [(0, CHUNK - 1), (0, CHUNK - 1)]
    assert stored.status_queries == 1
    assert len(sleeps) == 1


def test_backoff_grows_exponentially_with_jitter(fake, client, video, sleeps):
    fake.fail_next_chunks(3, status=503)

    upload(client, video)

    assert bytes(fake.last_upload.data) == video.read_bytes()
    # backoff_base 0.01: 0.01, 0.02, 0.04 seconds, each plus up to 0.01 of jitter.
    for delay, floor in zip(sleeps, [0.01, 0.02, 0.04], strict=True):
        assert floor <= delay <= floor + 0.01


def test_connection_dropped_mid_chunk_resumes_from_the_bytes_that_arrived(fake, client, video):
    fake.drop_next_chunk(after_bytes=100_000)

    upload(client, video)

    stored = fake.last_upload
    assert bytes(stored.data) == video.read_bytes()
    assert stored.bytes_received == VIDEO_SIZE  # nothing was sent twice
    assert stored.status_queries == 1
    assert stored.chunk_ranges[1][0] == 100_000


def test_gives_up_after_max_retries_and_the_session_can_be_resumed_later(fake, client, video, sleeps):
    sessions = []
    fake.fail_next_chunks(4, status=503)  # the first try plus max_retries=3

    with pytest.raises(YouTubeTransientError) as failure:
        upload(client, video, on_session=sessions.append)

    assert failure.value.status == 503
    assert failure.value.session_url == sessions[0]
    assert len(sleeps) == 3

    result = upload(client, video, session_url=failure.value.session_url, on_session=sessions.append)

    assert len(fake.uploads) == 1  # resumed, not a second videos.insert
    assert len(sessions) == 1
    assert bytes(fake.last_upload.data) == video.read_bytes()
    assert result.video_id == fake.last_upload.video_id


def test_a_new_process_resumes_a_persisted_session(fake, video):
    saved = []
    with make_client(fake) as first_worker, pytest.raises(WorkerDied):
        upload(first_worker, video, on_session=saved.append, progress=crash_after(2 * CHUNK))
    assert len(fake.last_upload.data) == 2 * CHUNK

    with make_client(fake) as second_worker:
        result = upload(second_worker, video, session_url=saved[0], on_session=saved.append)

    stored = fake.last_upload
    assert len(fake.uploads) == 1
    assert len(saved) == 1
    assert bytes(stored.data) == video.read_bytes()
    assert stored.bytes_received == VIDEO_SIZE  # the second worker sent only what was missing
    assert stored.chunk_ranges[2][0] == 2 * CHUNK
    assert result.video_id == stored.video_id


def test_an_expired_persisted_session_starts_a_fresh_upload(fake, video):
    saved = []
    with make_client(fake) as first_worker, pytest.raises(WorkerDied):
        upload(first_worker, video, on_session=saved.append, progress=crash_after(CHUNK))
    fake.expire_sessions()

    with make_client(fake) as second_worker:
        result = upload(second_worker, video, session_url=saved[0], on_session=saved.append)

    assert len(fake.uploads) == 2
    assert len(saved) == 2 and saved[1] != saved[0]  # the caller learns the new session URL
    assert bytes(fake.last_upload.data) == video.read_bytes()
    assert result.video_id == fake.last_upload.video_id


# -- errors YouTube answers ------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "error_class", "status"),
    [
        ("uploadLimitExceeded", YouTubeUploadLimitError, 400),
        ("quotaExceeded", YouTubeQuotaExceededError, 403),
    ],
)
def test_insert_refusals_raise_their_own_exceptions(fake, client, video, reason, error_class, status):
    fake.insert_error = reason

    with pytest.raises(error_class) as failure:
        upload(client, video)

    assert (failure.value.status, failure.value.reason) == (status, reason)
    assert failure.value.message.startswith("The ")
    assert failure.value.hint
    assert fake.uploads == {}


def test_other_api_errors_carry_status_reason_and_message(fake, client, tmp_path):
    thumbnail = tmp_path / "thumb.jpg"
    thumbnail.write_bytes(jpeg_bytes())

    with pytest.raises(YouTubeError) as failure:
        client.set_thumbnail("unknownVide", thumbnail)

    assert type(failure.value) is YouTubeError
    assert (failure.value.status, failure.value.reason) == (404, "videoNotFound")
    assert "cannot be found" in failure.value.message


@pytest.mark.parametrize(("requested", "locked"), [("public", True), ("unlisted", True), ("private", False)])
def test_upload_locked_private_by_youtube_is_detected(fake, client, video, requested, locked):
    fake.lock_private = True

    result = upload(client, video, privacy=requested)

    assert result.privacy_status == "private"
    assert result.locked_private is locked


def test_public_upload_that_stays_public_is_not_flagged(client, video):
    result = upload(client, video, privacy="public")

    assert (result.privacy_status, result.locked_private) == ("public", False)


# -- OAuth -----------------------------------------------------------------


def test_access_token_is_cached(fake, client):
    assert client.access_token() == client.access_token()
    assert fake.token_requests == 1


def test_revoked_access_token_is_refreshed_once_and_the_request_retried(fake, client, video):
    client.access_token()
    fake.expire_access_tokens()

    upload(client, video)

    assert fake.token_requests == 2
    inserts = [request for request in fake.requests if request == ("POST", "/upload/youtube/v3/videos")]
    assert len(inserts) == 2  # one 401, one success
    assert len(fake.uploads) == 1


def test_access_token_revoked_mid_upload_is_refreshed_and_the_upload_completes(fake, client, video):
    def expire_after_first_chunk(sent, total):
        if sent == CHUNK:
            fake.expire_access_tokens()

    upload(client, video, progress=expire_after_first_chunk)

    assert fake.token_requests == 2
    assert bytes(fake.last_upload.data) == video.read_bytes()


@pytest.mark.parametrize(
    ("overrides", "status", "reason"),
    [
        ({"refresh_token": "revoked-token"}, 400, "invalid_grant"),
        ({"client_secret": "wrong-secret"}, 401, "invalid_client"),
    ],
)
def test_unusable_credentials_raise_a_clear_auth_error(fake, video, overrides, status, reason):
    with make_client(fake, **overrides) as client, pytest.raises(YouTubeAuthError) as failure:
        upload(client, video)

    assert (failure.value.status, failure.value.reason) == (status, reason)
    assert "token refresh refused" in str(failure.value)
    assert "Reconnect" in failure.value.hint
    assert fake.uploads == {}


# -- thumbnails and lookups ------------------------------------------------


def test_thumbnail_is_set(fake, client, video, tmp_path):
    video_id = upload(client, video).video_id
    thumbnail = tmp_path / "thumb.jpg"
    thumbnail.write_bytes(jpeg_bytes())

    units = client.set_thumbnail(video_id, thumbnail)

    assert units == THUMBNAILS_SET_UNITS == 50
    assert fake.thumbnails[video_id] == thumbnail.read_bytes()


def test_thumbnail_of_exactly_2_mib_is_accepted(fake, client, video, tmp_path):
    video_id = upload(client, video).video_id
    thumbnail = tmp_path / "thumb.jpg"
    image = jpeg_bytes()
    thumbnail.write_bytes(image + b"\0" * (MAX_THUMBNAIL_BYTES - len(image)))

    client.set_thumbnail(video_id, thumbnail)

    assert len(fake.thumbnails[video_id]) == MAX_THUMBNAIL_BYTES


def test_thumbnail_over_2_mib_is_refused_before_any_request(fake, client, tmp_path):
    thumbnail = tmp_path / "thumb.jpg"
    thumbnail.write_bytes(jpeg_bytes() + b"\0" * MAX_THUMBNAIL_BYTES)

    with pytest.raises(ValueError, match="at most 2 MB"):
        client.set_thumbnail("someVideoId", thumbnail)
    assert fake.requests == []


def test_get_video_returns_the_resource_or_none(client, video):
    video_id = upload(client, video, privacy="unlisted").video_id

    found = client.get_video(video_id)

    assert found["id"] == video_id
    assert found["status"]["privacyStatus"] == "unlisted"
    assert found["snippet"]["categoryId"] == "10"
    assert client.get_video("doesNotExst") is None


def test_empty_file_is_refused(fake, client, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()

    with pytest.raises(ValueError, match="empty"):
        upload(client, empty)
    assert fake.requests == []
