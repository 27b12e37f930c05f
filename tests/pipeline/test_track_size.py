"""The track size limit is counted in MiB, in the limit and in its message, as the clip limit is."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from pipeline import services

pytestmark = pytest.mark.django_db


def size_errors(user, size):
    try:
        services.add_track(user, SimpleUploadedFile("song.mp3", b"x" * size))
    except ValidationError as exc:
        return [m for m in exc.message_dict.get("file", []) if "limit is" in m]
    return []


def test_an_upload_over_the_limit_is_measured_in_mib(operator, settings):
    settings.PIPELINE_TRACK_MAX_MB = 2
    # 2.5 MiB is 2.62 MB in powers of ten: the old message said "3 MB" for it.
    assert size_errors(operator, 5 * 1024 * 1024 // 2) == ["The file is 2.5 MB; the limit is 2 MB."]


def test_an_upload_of_exactly_the_limit_passes_the_size_rule(operator, settings):
    settings.PIPELINE_TRACK_MAX_MB = 1
    assert size_errors(operator, 1024 * 1024) == []  # then refused as undecodable, not for its size
