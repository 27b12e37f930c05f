"""Bulk AI drafts: one background job (the real django-tasks-db worker), per-item failures,
retries after a transient AI error without drafting finished items again."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from monitoring.jobs import recover_stale_jobs
from monitoring.models import AIUsage, Event, JobRun
from tests.factories import ListingFactory
from tests.monitoring.worker import make_due, run_worker
from vinted import tasks
from vinted.models import DraftBatch, Listing
from vinted.services import drafts

from .drafting_helpers import GOOD_ANSWER, good_answer, listing_with_photo

pytestmark = pytest.mark.django_db

CHAT = "/v1/chat/completions"


@pytest.fixture
def openai_breaker(settings):
    # One failure does not open the breaker (the retry is the job wrapper's).
    settings.CIRCUIT_BREAKERS = {**settings.CIRCUIT_BREAKERS,
                                 "openai": {"failure_threshold": 5, "recovery_timeout": 60, "call_timeout": 5}}


def test_a_batch_drafts_every_item_and_one_failure_does_not_fail_the_rest(
        fake_openai, operator, django_capture_on_commit_callbacks):
    first, second = listing_with_photo(operator), listing_with_photo(operator)
    no_photos = ListingFactory(owner=operator, title="")
    fake_openai.reply_next(GOOD_ANSWER, good_answer(title="Second jeans"))

    batch = drafts.start_batch(operator, [first, no_photos, second])
    assert (batch.status, batch.total, batch.done, batch.failed) == ("queued", 3, 0, 0)
    assert set(batch.results) == {str(first.pk), str(no_photos.pk), str(second.pk)}
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()

    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.failed) == ("partial", 2, 1)
    assert batch.finished_at is not None
    assert batch.results[str(first.pk)]["status"] == "ok"
    assert batch.results[str(no_photos.pk)] == {"status": "failed", "message": (
        "Add at least one photo before drafting: the draft is made from them.")}
    assert Listing.objects.get(pk=second.pk).title == "Second jeans"
    assert Decimal(batch.results[str(second.pk)]["cost_usd"]) > 0
    assert AIUsage.objects.filter(request_type="listing_draft").count() == 2
    event = Event.objects.get(source="vinted", kind="batch.finished")
    assert event.status == "warning" and "2 of 3 drafted, 1 failed" in event.message
    assert JobRun.objects.get(name="vinted.draft_batch").status == "succeeded"


def test_a_transient_ai_error_retries_the_job_without_redrafting_finished_items(
        fake_openai, openai_breaker, operator, django_capture_on_commit_callbacks):
    first, second, third = (listing_with_photo(operator) for _ in range(3))
    batch = drafts.start_batch(operator, [first, second, third])

    def first_answer(request):
        # The first item is drafted, then the AI service fails (500) on the second.
        fake_openai.chat_handler = None
        fake_openai.fail_next(1, status=500)
        return good_answer(title="One")

    fake_openai.chat_handler = first_answer
    run_worker()
    batch.refresh_from_db()
    run = JobRun.objects.get(name="vinted.draft_batch")
    assert run.status == "retrying" and run.attempt == 2
    assert batch.status == "running" and (batch.done, batch.failed) == (1, 0)
    assert batch.results[str(second.pk)] == {"status": "queued"}
    assert len(fake_openai.requests_to(CHAT)) == 2

    fake_openai.reply_next(good_answer(title="Two"), good_answer(title="Three"))
    make_due()
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.failed) == ("succeeded", 3, 0)
    # One request for the first item in all: it was not drafted again.
    assert len(fake_openai.requests_to(CHAT)) == 4
    titles = dict(Listing.objects.filter(pk__in=[first.pk, second.pk, third.pk]).values_list("pk", "title"))
    assert titles == {first.pk: "One", second.pk: "Two", third.pk: "Three"}
    assert Event.objects.get(kind="batch.finished").status == "succeeded"


def test_on_the_last_attempt_a_transient_error_fails_only_that_item(
        fake_openai, openai_breaker, operator, monkeypatch):
    monkeypatch.setattr(tasks.draft_batch, "_max_attempts", 1)
    first, second = listing_with_photo(operator), listing_with_photo(operator)
    fake_openai.fail_next(1, status=503)
    fake_openai.reply_next(GOOD_ANSWER)
    batch = drafts.start_batch(operator, [first, second])

    run_worker()

    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.failed) == ("partial", 1, 1), batch.results
    assert "503" in batch.results[str(first.pk)]["message"]
    assert batch.results[str(second.pk)]["status"] == "ok"


def test_budget_exceeded_mid_batch_fails_the_remaining_items_and_keeps_the_drafted_ones(
        fake_openai, operator, settings):
    first, second = listing_with_photo(operator), listing_with_photo(operator, title="Mine")
    # The first call (some 1,500 tokens) spends more than the whole budget.
    settings.AI_PRICES = {**settings.AI_PRICES, "gpt-4o-mini": {"input_per_million": 50, "output_per_million": 50}}
    operator.ai_monthly_budget_usd = Decimal("0.01")
    operator.save()
    fake_openai.reply_next(GOOD_ANSWER)
    batch = drafts.start_batch(operator, [first, second])

    run_worker()

    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.failed) == ("partial", 1, 1)
    assert "AI budget reached" in batch.results[str(second.pk)]["message"]
    assert Listing.objects.get(pk=second.pk).title == "Mine"
    assert len(fake_openai.requests_to(CHAT)) == 1


def test_a_dead_worker_fails_the_item_it_was_on_and_the_batch_resumes(fake_openai, operator, settings):
    first, second = listing_with_photo(operator), listing_with_photo(operator)
    batch = drafts.start_batch(operator, [first, second])
    run = JobRun.objects.get(name="vinted.draft_batch")
    # A worker claimed the job and stopped sending heartbeats (killed mid-item).
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS + 5)
    JobRun.objects.filter(pk=run.pk).update(status="running", started_at=stale, heartbeat_at=stale)
    DraftBatch.objects.filter(pk=batch.pk).update(status="running")

    assert recover_stale_jobs() == 1

    batch.refresh_from_db()
    assert batch.results[str(first.pk)] == {"status": "failed",
                                            "message": "The worker stopped while drafting this item."}
    fake_openai.reply_next(GOOD_ANSWER)
    run_worker()
    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.failed) == ("partial", 1, 1)
    assert len(fake_openai.requests_to(CHAT)) == 1


def test_offline_batch_fills_colours(settings, operator):
    settings.OPENAI_API_KEY = ""
    listing = listing_with_photo(operator, colour=(200, 30, 30))
    batch = drafts.start_batch(operator, [listing])
    run_worker()
    batch.refresh_from_db()
    entry = batch.results[str(listing.pk)]
    assert batch.status == "succeeded" and entry["offline"] and entry["filled"] == ["colours"]
    assert "title" in entry["needs_user"]


def test_start_batch_needs_listings_the_user_may_change(operator, other_operator, viewer):
    listing = ListingFactory(owner=operator)
    with pytest.raises(ValidationError):
        drafts.start_batch(operator, [])
    for user in (other_operator, viewer):
        with pytest.raises(PermissionDenied):
            drafts.start_batch(user, [listing])
    assert not DraftBatch.objects.exists() and not JobRun.objects.exists()


def test_queue_batch_drafts_the_items_of_a_bulk_upload(fake_openai, operator):
    batch = DraftBatch.objects.create(owner=operator)
    items = [listing_with_photo(operator, batch=batch) for _ in range(2)]
    fake_openai.reply_next(GOOD_ANSWER, GOOD_ANSWER)

    queued = drafts.queue_batch(operator, batch)
    assert queued.pk == batch.pk and queued.total == 2
    with pytest.raises(ValidationError, match="already being drafted"):
        drafts.queue_batch(operator, batch)
    run_worker()

    batch.refresh_from_db()
    assert (batch.status, batch.done) == ("succeeded", 2)
    assert set(batch.results) == {str(item.pk) for item in items}
    # Finished: it may be drafted again.
    assert drafts.queue_batch(operator, batch).status == "queued"


def test_queue_batch_without_items_is_refused(operator):
    batch = DraftBatch.objects.create(owner=operator)
    with pytest.raises(ValidationError, match="no items"):
        drafts.queue_batch(operator, batch)
