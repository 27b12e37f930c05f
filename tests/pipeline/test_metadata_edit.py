"""An operator's metadata edit keeps each tag once."""

import pytest

from pipeline import services

pytestmark = pytest.mark.django_db


def test_edited_tags_are_kept_once_whatever_their_case(operator, finished_run):
    video = finished_run(operator).video
    services.update_metadata(video, operator, title="Night", description="",
                             tags=["lofi", "Study", " lofi ", "LOFI", "beats", "study"])
    video.refresh_from_db()
    assert video.tags == ["lofi", "Study", "beats"]
