"""The pipeline's admin pages: they open for admins, and never show the channel's secrets."""

import pytest

from pipeline.choices import RunStatus

ADMIN = "/admin/pipeline"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_channel_admin_shows_who_connected_never_the_secrets(admin_client, channel):
    for url in (f"{ADMIN}/youtubechannel/", f"{ADMIN}/youtubechannel/{channel.pk}/change/"):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert channel.client_id in html and "ada" in html
        assert channel.client_secret not in html and channel.refresh_token not in html
        assert "client_secret" not in html and "refresh_token" not in html
    # Saving the change form cannot touch the secrets either.
    response = admin_client.post(f"{ADMIN}/youtubechannel/{channel.pk}/change/",
                                 {"channel_title": "Renamed", "client_secret": "injected", "refresh_token": "x"})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.channel_title == "Renamed"
    assert (channel.client_secret, channel.refresh_token) == ("s3cret-client-value", "1//refresh-token-xyz")


@pytest.mark.parametrize("model", ["run", "video", "track", "schedule", "quotausage", "youtubechannel"])
def test_changelists_open(admin_client, operator, make_run, finished_run, make_track, channel, model):
    finished_run(operator)
    make_track(operator)
    assert admin_client.get(f"{ADMIN}/{model}/").status_code == 200


def test_run_admin_is_read_only_with_stages(admin_client, operator, make_run):
    run = make_run(operator, RunStatus.FAILED)
    response = admin_client.get(f"{ADMIN}/run/{run.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No space left on device" in html and "artwork" in html.lower()
    assert 'name="_save"' not in html  # view only
    assert admin_client.get(f"{ADMIN}/run/add/").status_code == 403


def test_pipeline_admin_is_admins_only(client, operator):
    client.force_login(operator)
    assert client.get(f"{ADMIN}/run/").status_code == 403
