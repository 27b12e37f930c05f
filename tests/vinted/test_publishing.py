"""Publishing services: prepare requests, the confirm token's rules, idempotent publish requests, and
(with real Chromium against the fake Vinted, once vinted.browser exists) the prepare and publish jobs."""

import os

import pytest
from django.core.exceptions import PermissionDenied

from monitoring.choices import JobStatus
from monitoring.models import JobRun
from tests.monitoring.worker import make_due, run_worker
from vinted.choices import AccountStatus, ListingStatus, PublicationStatus
from vinted.models import Colour, Listing, Photo, Publication
from vinted.services import listings as listing_services
from vinted.services import publishing

from .publishing_helpers import account_for, prepared, ready_listing

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing(operator):
    return ready_listing(operator, title="Levi's 501 W30")


@pytest.fixture
def account(operator):
    return account_for(operator)


def refusal(call, code):
    with pytest.raises(publishing.PublishRefused) as caught:
        call()
    assert caught.value.code == code, (caught.value.code, caught.value.message)
    return caught.value


# --- what is published ---------------------------------------------------------------------------

def test_listing_values_are_vinted_ids_as_strings(listing):
    values = publishing.listing_values(listing)
    assert values == {
        "title": "Levi's 501 W30", "description": listing.description, "catalog_id": "1187", "brand_id": "53",
        "size_id": str(listing.size.vinted_id), "status_id": "2",
        "color_ids": [str(Colour.objects.get(name="Blue").vinted_id)], "price": "25.00", "package_size_id": "2"}
    listing.no_brand, listing.brand = True, None
    assert publishing.listing_values(listing)["brand_id"] == ""


def test_fingerprint_follows_values_and_photos_in_order(listing):
    before = publishing.listing_fingerprint(listing)
    assert publishing.listing_fingerprint(listing) == before
    first, second = publishing.ready_photos(listing)
    Photo.objects.filter(pk=first.pk).update(position=5)
    assert publishing.listing_fingerprint(listing) != before
    Photo.objects.filter(pk=first.pk).update(position=0)
    assert publishing.listing_fingerprint(listing) == before
    Listing.objects.filter(pk=listing.pk).update(price="26.00")
    assert publishing.listing_fingerprint(Listing.objects.get(pk=listing.pk)) != before


# --- prepare requests -----------------------------------------------------------------------------

def test_request_prepare_queues_the_job_and_supersedes_an_earlier_preparation(operator, listing, account):
    earlier = prepared(listing, account)
    publication = publishing.request_prepare(listing, account, by_user=operator)
    assert publication.status == PublicationStatus.PREPARING
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.PREPARING
    run = JobRun.objects.get(pk=publication.prepare_job_id)
    assert (run.name, run.status, run.args) == ("vinted.prepare_publication", JobStatus.QUEUED, [publication.pk])
    assert Publication.objects.get(pk=earlier.pk).status == PublicationStatus.SUPERSEDED
    assert publishing.current_publication(listing) == publication
    refusal(lambda: publishing.request_prepare(listing, account, by_user=operator), "BUSY")


def test_prepare_refuses_a_draft_an_invalid_listing_and_an_unusable_account(operator, account):
    draft = ready_listing(operator)
    Listing.objects.filter(pk=draft.pk).update(status=ListingStatus.DRAFT)
    refusal(lambda: publishing.request_prepare(Listing.objects.get(pk=draft.pk), account, by_user=operator),
            "NOT_READY")
    no_photos = ready_listing(operator, photos=0)
    refused = refusal(lambda: publishing.request_prepare(no_photos, account, by_user=operator), "NOT_READY")
    assert refused.http_status == 400 and set(refused.details["fields"]) == {"photos"}
    account.status, account.status_message = AccountStatus.NEEDS_LOGIN, "Import a new session."
    account.save()
    refused = refusal(lambda: publishing.request_prepare(ready_listing(operator), account, by_user=operator),
                      "ACCOUNT_UNAVAILABLE")
    assert refused.message == "Import a new session."
    assert not Publication.objects.exists() and not JobRun.objects.exists()


def test_prepare_needs_permission_on_listing_and_account(operator, other_operator, viewer, admin_user, listing,
                                                         account):
    theirs = account_for(other_operator)
    with pytest.raises(PermissionDenied):
        publishing.request_prepare(listing, theirs, by_user=operator)
    with pytest.raises(PermissionDenied):
        publishing.request_prepare(listing, account, by_user=other_operator)
    with pytest.raises(PermissionDenied):
        publishing.request_prepare(listing, account, by_user=viewer)
    # An admin may act, but only with the listing owner's account.
    refusal(lambda: publishing.request_prepare(listing, theirs, by_user=admin_user), "ACCOUNT_NOT_OWNERS")
    assert publishing.request_prepare(listing, account, by_user=admin_user).status == PublicationStatus.PREPARING


# --- confirm token ----------------------------------------------------------------------------------

def test_confirm_then_publish_queues_the_publish_job(operator, listing, account):
    publication = prepared(listing, account)
    token, expires_at = publishing.issue_confirm_token(publication, by_user=operator)
    publication.refresh_from_db()
    assert publication.confirmed_by == operator
    assert (expires_at - publication.confirmed_at).total_seconds() == 30 * 60
    started = publishing.request_publish(publication, token, "key-1", by_user=operator)
    assert (started.status, started.idempotency_key) == (PublicationStatus.PUBLISHING, "key-1")
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.PUBLISHING
    run = JobRun.objects.get(pk=started.publish_job_id)
    assert (run.name, run.args) == ("vinted.publish_publication", [publication.pk])


def test_an_expired_token_is_refused(operator, listing, account, wall_clock, settings):
    settings.VINTED_CONFIRM_TOKEN_MINUTES = 30
    publication = prepared(listing, account)
    token, _ = publishing.issue_confirm_token(publication, by_user=operator)
    wall_clock.shift(31 * 60)
    refusal(lambda: publishing.request_publish(publication, token, "key-1", by_user=operator), "CONFIRMATION_EXPIRED")
    assert Publication.objects.get(pk=publication.pk).status == PublicationStatus.PREPARED
    assert not JobRun.objects.filter(name="vinted.publish_publication").exists()


def test_a_token_of_another_publication_or_forged_is_refused(operator, listing, account):
    publication = prepared(listing, account)
    other = prepared(ready_listing(operator), account)
    token, _ = publishing.issue_confirm_token(other, by_user=operator)
    refusal(lambda: publishing.request_publish(publication, token, "key-1", by_user=operator), "CONFIRMATION_INVALID")
    refusal(lambda: publishing.request_publish(publication, token[:-2] + "xx", "key-1", by_user=operator),
            "CONFIRMATION_INVALID")
    refusal(lambda: publishing.request_publish(publication, "", "key-1", by_user=operator), "CONFIRMATION_INVALID")


def test_a_changed_listing_cannot_be_published_with_an_old_token(operator, listing, account):
    publication = prepared(listing, account)
    token, _ = publishing.issue_confirm_token(publication, by_user=operator)
    # Editing a prepared listing is allowed: it goes back to ready and the preparation is superseded.
    listing_services.update_listing(operator, listing, price="30.00")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.READY
    assert Publication.objects.get(pk=publication.pk).status == PublicationStatus.SUPERSEDED
    refusal(lambda: publishing.request_publish(publication, token, "key-1", by_user=operator), "SUPERSEDED")
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.READY
    assert not JobRun.objects.filter(name="vinted.publish_publication").exists()


def test_a_change_that_bypasses_the_edit_form_is_caught_by_the_fingerprint(operator, listing, account):
    publication = prepared(listing, account)
    token, _ = publishing.issue_confirm_token(publication, by_user=operator)
    first = publishing.ready_photos(listing)[0]
    Photo.objects.filter(pk=first.pk).update(position=9)  # the photo order changed
    refusal(lambda: publishing.request_publish(publication, token, "key-1", by_user=operator), "LISTING_CHANGED")
    refusal(lambda: publishing.issue_confirm_token(publication, by_user=operator), "LISTING_CHANGED")


def test_dry_run_and_already_published_are_refused(operator, listing, account):
    dry = account_for(operator, label="Dry", dry_run=True)
    dry_publication = prepared(listing, dry, status=PublicationStatus.DRY_RUN)
    refused = refusal(lambda: publishing.issue_confirm_token(dry_publication, by_user=operator), "DRY_RUN")
    assert "nothing was published" in refused.message and "admin" in refused.message

    publication = prepared(ready_listing(operator), account)
    token, _ = publishing.issue_confirm_token(publication, by_user=operator)
    Publication.objects.create(owner=operator, listing=publication.listing, account=account,
                               status=PublicationStatus.PUBLISHED, vinted_item_id="1")
    refusal(lambda: publishing.request_publish(publication, token, "key-1", by_user=operator), "ALREADY_PUBLISHED")


def test_the_same_key_publishes_once_and_a_reused_key_is_refused(operator, listing, account):
    publication = prepared(listing, account)
    token, _ = publishing.issue_confirm_token(publication, by_user=operator)
    first = publishing.request_publish(publication, token, "double-click", by_user=operator)
    again = publishing.request_publish(publication, token, "double-click", by_user=operator)
    assert again.pk == first.pk
    assert JobRun.objects.filter(name="vinted.publish_publication").count() == 1
    # Another key for a publication already publishing: refused, no second job.
    refusal(lambda: publishing.request_publish(publication, token, "other-key", by_user=operator), "BUSY")

    second = prepared(ready_listing(operator), account)
    token2, _ = publishing.issue_confirm_token(second, by_user=operator)
    refusal(lambda: publishing.request_publish(second, token2, "double-click", by_user=operator),
            "IDEMPOTENCY_KEY_REUSED")
    refused = refusal(lambda: publishing.request_publish(second, token2, "  ", by_user=operator),
                      "IDEMPOTENCY_KEY_REQUIRED")
    assert refused.http_status == 400
    assert JobRun.objects.filter(name="vinted.publish_publication").count() == 1


def test_a_worker_that_dies_while_publishing_fails_visibly_without_retrying(operator, listing, account):
    publication = prepared(listing, account)
    token, _ = publishing.issue_confirm_token(publication, by_user=operator)
    publication = publishing.request_publish(publication, token, "key-1", by_user=operator)
    publishing.on_publish_worker_died(publication.publish_job)
    publication.refresh_from_db()
    assert publication.status == PublicationStatus.FAILED and "check the account on Vinted" in publication.error
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.FAILED


# --- the jobs, with real Chromium against the fake Vinted ----------------------------------------

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium")


@pytest.fixture
def vinted(fake_vinted, settings, operator):
    """The fake Vinted with Chromium settings, and an active account of the operator signed in there."""
    settings.PLAYWRIGHT_CHROMIUM_EXECUTABLE = CHROMIUM
    settings.VINTED_MAX_BROWSERS = 1
    settings.VINTED_BROWSER_TIMEOUT_SECONDS = 20
    fake_vinted.account = account_for(operator, label="Fake shop", cookies=fake_vinted.add_session())
    return fake_vinted


def submits(fake):
    return fake.state.get("submits", 0)


def prepare_now(listing, account, user):
    publication = publishing.request_prepare(listing, account, by_user=user)
    run_worker()
    publication.refresh_from_db()
    return publication


def publish_now(publication, user, key="key-1"):
    token, _ = publishing.issue_confirm_token(publication, by_user=user)
    publication = publishing.request_publish(publication, token, key, by_user=user)
    run_worker()
    publication.refresh_from_db()
    return publication


@pytest.mark.browser
@pytest.mark.skipif(not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)),
                    reason=f"Chromium not found at {CHROMIUM}")
class TestWithChromium:

    def test_prepare_fills_the_form_and_stores_a_screenshot_and_snapshot(self, vinted, operator, listing):
        publication = prepare_now(listing, vinted.account, operator)

        assert publication.status == PublicationStatus.PREPARED, publication.error
        values = publication.snapshot["values"]
        assert {**values, "color_ids": sorted(values["color_ids"])} == publishing.listing_values(listing)
        assert publication.snapshot["photo_hashes"] == [p.sha256 for p in publishing.ready_photos(listing)]
        assert publication.snapshot_hash == publishing.snapshot_hash(publication.snapshot)
        assert publication.listing_fingerprint == publishing.listing_fingerprint(listing)
        with publication.screenshot.open("rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
        assert Listing.objects.get(pk=listing.pk).status == ListingStatus.PREPARED
        assert JobRun.objects.get(pk=publication.prepare_job_id).status == JobStatus.SUCCEEDED
        assert submits(vinted) == 0

    def test_confirm_publishes_the_snapshot_and_records_the_item(self, vinted, operator, listing):
        publication = publish_now(prepare_now(listing, vinted.account, operator), operator)

        assert publication.status == PublicationStatus.PUBLISHED, publication.error
        assert submits(vinted) == 1
        item = vinted.state["items"][publication.vinted_item_id]
        assert {**item["values"], "color_ids": sorted(item["values"]["color_ids"])} == {
            **publication.snapshot["values"], "color_ids": sorted(publication.snapshot["values"]["color_ids"])}
        assert item["photo_hashes"] == publication.snapshot["photo_hashes"]
        listing.refresh_from_db()
        assert (listing.status, listing.vinted_item_id, listing.vinted_url, listing.account) == (
            ListingStatus.PUBLISHED, publication.vinted_item_id, publication.vinted_url, vinted.account)
        assert listing.listed_at is not None and publication.published_at is not None
        assert publication.vinted_url.startswith(vinted.base_url + f"/items/{publication.vinted_item_id}")
        # Published once: neither another prepare nor another confirm of it goes through.
        refusal(lambda: publishing.request_prepare(listing, vinted.account, by_user=operator), "ALREADY_PUBLISHED")
        refusal(lambda: publishing.issue_confirm_token(publication, by_user=operator), "ALREADY_PUBLISHED")

    def test_a_form_that_drops_a_field_is_caught_before_submitting(self, vinted, operator, listing):
        publication = prepare_now(listing, vinted.account, operator)
        assert publication.status == PublicationStatus.PREPARED, publication.error
        vinted.fail_next("drop_field", field="brand_id", paths="^/items/new$")

        publication = publish_now(publication, operator)

        assert publication.status == PublicationStatus.FAILED
        assert set(publication.difference) == {"brand_id"}
        assert publication.difference["brand_id"]["expected"] == "53"
        assert "Nothing was submitted" in publication.error
        assert submits(vinted) == 0 and not vinted.state["items"]
        listing.refresh_from_db()
        assert (listing.status, listing.vinted_item_id) == (ListingStatus.FAILED, "")
        assert JobRun.objects.get(pk=publication.publish_job_id).status == JobStatus.FAILED  # not retried

    def test_a_field_dropped_at_prepare_leaves_nothing_to_confirm(self, vinted, operator, listing):
        vinted.fail_next("drop_field", field="price", paths="^/items/new$")
        publication = prepare_now(listing, vinted.account, operator)
        assert publication.status == PublicationStatus.FAILED
        assert set(publication.difference) == {"price"}
        refusal(lambda: publishing.issue_confirm_token(publication, by_user=operator), "NOT_PREPARED")

    def test_a_double_publish_publishes_once(self, vinted, operator, listing):
        publication = prepare_now(listing, vinted.account, operator)
        token, _expires = publishing.issue_confirm_token(publication, by_user=operator)
        first = publishing.request_publish(publication, token, "click", by_user=operator)
        second = publishing.request_publish(publication, token, "click", by_user=operator)
        assert first.pk == second.pk
        run_worker()
        refusal(lambda: publishing.request_publish(publication, token, "another-click", by_user=operator),
                "ALREADY_PUBLISHED")
        run_worker()
        assert submits(vinted) == 1
        assert Publication.objects.get(pk=publication.pk).status == PublicationStatus.PUBLISHED

    def test_dry_run_stops_after_prepare_and_says_so(self, vinted, operator, listing):
        vinted.account.dry_run = True
        vinted.account.save()
        publication = prepare_now(listing, vinted.account, operator)
        assert publication.status == PublicationStatus.DRY_RUN
        assert "nothing was published" in publication.error and "admin" in publication.error
        assert publication.screenshot and publication.snapshot["values"]["title"] == listing.title
        assert Listing.objects.get(pk=listing.pk).status == ListingStatus.READY
        refusal(lambda: publishing.issue_confirm_token(publication, by_user=operator), "DRY_RUN")
        assert submits(vinted) == 0

    def test_an_expired_session_fails_with_the_plain_message_and_no_retry(self, vinted, operator, listing):
        vinted.fail_next("expired", paths="^/items/new$")
        publication = prepare_now(listing, vinted.account, operator)
        assert publication.status == PublicationStatus.FAILED
        assert "session expired" in publication.error
        assert Listing.objects.get(pk=listing.pk).status == ListingStatus.FAILED
        run = JobRun.objects.get(pk=publication.prepare_job_id)
        assert (run.status, run.attempt) == (JobStatus.FAILED, 1)

    def test_a_vinted_outage_is_retried_by_the_job_wrapper(self, vinted, operator, listing):
        vinted.fail_next("server_error", paths="^/items/new$")
        publication = publishing.request_prepare(listing, vinted.account, by_user=operator)
        run_worker()
        run = JobRun.objects.get(pk=publication.prepare_job_id)
        assert (run.status, run.attempt) == (JobStatus.RETRYING, 2)
        assert Publication.objects.get(pk=publication.pk).status == PublicationStatus.PREPARING
        make_due()
        run_worker()
        publication.refresh_from_db()
        assert publication.status == PublicationStatus.PREPARED, publication.error


def test_a_worker_that_dies_while_preparing_fails_the_publication(operator, listing, account):
    publication = publishing.request_prepare(listing, account, by_user=operator)
    publishing.on_prepare_worker_died(publication.prepare_job)
    publication.refresh_from_db()
    assert publication.status == PublicationStatus.FAILED and "prepare again" in publication.error
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.FAILED
    # A failed listing can be prepared again.
    again = publishing.request_prepare(Listing.objects.get(pk=listing.pk), account, by_user=operator)
    assert again.status == PublicationStatus.PREPARING
    assert Publication.objects.get(pk=publication.pk).status == PublicationStatus.SUPERSEDED


def test_a_dry_run_preparation_stays_unpublishable_after_dry_run_is_turned_off(operator, listing):
    dry = account_for(operator, label="Dry", dry_run=True)
    publication = prepared(listing, dry, status=PublicationStatus.DRY_RUN)
    dry.dry_run = False
    dry.save()
    refused = refusal(lambda: publishing.issue_confirm_token(publication, by_user=operator), "DRY_RUN")
    assert "prepare the listing again" in refused.message


def test_an_ai_redraft_of_a_prepared_listing_supersedes_the_preparation(operator, listing, account, fake_openai):
    from vinted.services.drafts import draft_listing

    from .drafting_helpers import GOOD_ANSWER

    publication = prepared(listing, account)
    token, _ = publishing.issue_confirm_token(publication, by_user=operator)
    fake_openai.reply_next(GOOD_ANSWER)
    result = draft_listing(operator, Listing.objects.get(pk=listing.pk), overwrite=True)
    assert result.filled
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.DRAFT
    assert Publication.objects.get(pk=publication.pk).status == PublicationStatus.SUPERSEDED
    refusal(lambda: publishing.request_publish(publication, token, "key-1", by_user=operator), "SUPERSEDED")
