"""The run page's artwork uploads have their own body limit (the image limit, not the default
for every address) and are refused before their body is read (tests/lofisite/test_upload_limits)."""

import pytest

from tests.lofisite.test_upload_limits import (  # noqa: F401 (upload_tmp is a fixture)
    MB,
    assert_friendly_413,
    multipart_headers,
    send,
    session_cookie,
    upload_tmp,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("kind", ["thumbnail", "cover"])
def test_an_image_over_its_limit_is_refused_before_its_body(live_server, operator, settings, kind,
                                                            upload_tmp):  # noqa: F811
    settings.PIPELINE_IMAGE_MAX_MB = 10
    cookie = session_cookie(operator)
    response = send(live_server.url, f"/pipeline/runs/1/{kind}/", headers=multipart_headers(40 * MB, Cookie=cookie))
    assert_friendly_413(response)
    assert "at most 15 MB" in response.body.decode()  # 10 MB + 5 MB of other fields
    assert list(upload_tmp.iterdir()) == []
    # An image at its limit fits: the body is read (CSRF answers first), not refused for its size.
    assert send(live_server.url, f"/pipeline/runs/1/{kind}/", body=b"x",
                headers=multipart_headers(1, Cookie=cookie)).status == 403


@pytest.mark.parametrize("kind", ["thumbnail", "cover"])
def test_a_viewer_image_upload_is_refused_before_its_body(live_server, viewer, kind, upload_tmp):  # noqa: F811
    response = send(live_server.url, f"/pipeline/runs/1/{kind}/",
                    headers=multipart_headers(5 * MB, Cookie=session_cookie(viewer)))
    # refused for the role, before CSRF would have read the body
    assert response.status == 403 and "form expired" not in response.body.decode()
    assert list(upload_tmp.iterdir()) == []
