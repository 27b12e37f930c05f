"""`manage.py vinted publish LISTING [--account ID] [--yes] [--user U]`: prepares with real Chromium
against the fake Vinted, shows the values, asks, publishes; refuses cleanly without a terminal."""

import io
import os

import pytest
from django.core.management import CommandError, call_command

from vinted.choices import ListingStatus, PublicationStatus
from vinted.models import Listing, Publication

from .publishing_helpers import account_for, ready_listing

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
pytestmark = [pytest.mark.django_db, pytest.mark.browser, pytest.mark.skipif(
    not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)), reason=f"Chromium not found at {CHROMIUM}")]


class Terminal(io.StringIO):
    """A stdin that is a terminal, with the seller's answer typed in."""

    def isatty(self):
        return True


@pytest.fixture
def vinted(fake_vinted, settings, operator):
    settings.PLAYWRIGHT_CHROMIUM_EXECUTABLE = CHROMIUM
    settings.VINTED_MAX_BROWSERS = 1
    settings.VINTED_BROWSER_TIMEOUT_SECONDS = 20
    fake_vinted.account = account_for(operator, label="Fake shop", cookies=fake_vinted.add_session())
    return fake_vinted


@pytest.fixture
def listing(operator):
    return ready_listing(operator, title="Levi's 501 W30")


def run(*args, stdin=None, monkeypatch=None):
    out, err = io.StringIO(), io.StringIO()
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", stdin)
    call_command("vinted", "publish", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def submits(fake):
    return fake.state.get("submits", 0)


def test_yes_prepares_shows_the_values_and_publishes(vinted, listing):
    out, _ = run(listing.pk, "--yes")
    publication = Publication.objects.get(listing=listing)
    assert publication.status == PublicationStatus.PUBLISHED
    assert "Title            Levi's 501 W30" in out
    assert "Brand id         53" in out and "Photos           2 (in order)" in out
    assert f"Published: Vinted item {publication.vinted_item_id} {publication.vinted_url}" in out
    assert submits(vinted) == 1
    assert Listing.objects.get(pk=listing.pk).vinted_item_id == publication.vinted_item_id


def test_without_a_terminal_or_yes_it_refuses_cleanly(vinted, listing, monkeypatch):
    with pytest.raises(CommandError) as caught:
        run(listing.pk, stdin=io.StringIO("y\n"), monkeypatch=monkeypatch)
    assert caught.value.returncode == 2 and "Not published" in str(caught.value)
    assert Publication.objects.get(listing=listing).status == PublicationStatus.PREPARED
    assert submits(vinted) == 0


@pytest.mark.parametrize("answer,published", [("y\n", True), ("\n", False), ("no\n", False)])
def test_the_prompt_decides(vinted, listing, monkeypatch, answer, published):
    if published:
        out, _ = run(listing.pk, stdin=Terminal(answer), monkeypatch=monkeypatch)
        assert "Publish? [y/N]" in out and "Published: Vinted item" in out
    else:
        with pytest.raises(CommandError) as caught:
            run(listing.pk, stdin=Terminal(answer), monkeypatch=monkeypatch)
        assert caught.value.returncode == 2
    assert submits(vinted) == (1 if published else 0)


def test_a_dry_run_account_stops_after_prepare_and_says_so(vinted, listing):
    vinted.account.dry_run = True
    vinted.account.save()
    out, _ = run(listing.pk, "--yes")
    assert "Dry run" in out and "nothing was published" in out
    assert Publication.objects.get(listing=listing).status == PublicationStatus.DRY_RUN
    assert submits(vinted) == 0


def test_a_form_that_drops_a_field_is_an_error_with_the_difference(vinted, listing):
    vinted.fail_next("drop_field", field="brand_id", paths="^/items/new$")
    with pytest.raises(CommandError) as caught:
        run(listing.pk, "--yes")
    assert "brand_id: expected '53'" in str(caught.value)
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.FAILED
    assert submits(vinted) == 0


def test_clear_errors(vinted, operator, viewer, listing):
    with pytest.raises(CommandError, match="No listing #999999"):
        run(999999, "--yes")
    with pytest.raises(CommandError, match="vera may not publish"):
        run(listing.pk, "--yes", "--user", viewer.username)
    account_for(operator, label="Second shop", cookies=vinted.add_session())
    with pytest.raises(CommandError, match="--account"):
        run(listing.pk, "--yes")
    with pytest.raises(CommandError, match="No Vinted account #999999"):
        run(listing.pk, "--yes", "--account", 999999)
    Listing.objects.filter(pk=listing.pk).update(status=ListingStatus.DRAFT)
    with pytest.raises(CommandError, match="mark it ready"):
        run(listing.pk, "--yes", "--account", vinted.account.pk)
    assert not Publication.objects.exists() and submits(vinted) == 0
