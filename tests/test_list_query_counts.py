"""Every list page and list API endpoint runs the same number of SQL queries for 10 and for 1,000 rows
of its model (no query per row: an N+1 shows as more queries once a page holds more rows).

The rows are bulk-created (as the bench does) so that 1,000 of them take a moment; each case's maker
fills the related rows a real row has (a run's stages and video, a listing's photo, ...). Each URL is
requested once before it is counted, so the first request's one-off work (content types, cached
statistics, the session) does not count.

Left out, with why: `pipeline/storage` and `vinted/inventory` API (one summary, not a list of rows),
`vinted/catalogue` and `legal/documents` (fixed reference data, not rows users add), the backup list
(files in a storage, not table rows).
"""

import secrets
from itertools import count

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import APIToken, LoginEvent, User
from accounts.roles import Role
from legal import services as legal_services
from legal.models import LegalAcceptance
from monitoring.models import AIUsage, CircuitBreaker, Event
from pipeline.choices import STAGE_ORDER, RunStatus
from pipeline.models import Run, Schedule, Stage, Track, Video
from tests.factories import default_preset
from tests.helpers import client_for
from vinted.models import Conversation, DraftBatch, Listing, Message, Photo, VintedAccount

pytestmark = pytest.mark.django_db

SMALL, LARGE = 10, 1000
_serial = count()


def _runs(owner, n, video=""):
    runs = Run.objects.bulk_create([
        Run(preset=default_preset(), duration_s=60, seed=next(_serial), created_by=owner,
            status=[RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.QUEUED][i % 3]) for i in range(n)])
    Stage.objects.bulk_create([Stage(run=run, name=name) for run in runs for name in STAGE_ORDER])
    Video.objects.bulk_create([Video(run=run, title=f"Mix {run.pk}", video=video and f"videos/{run.pk}.mp4",
                                     size_bytes=1000) for run in runs])


def make_runs(owner, n):
    _runs(owner, n)


def make_videos(owner, n):
    _runs(owner, n, video="yes")


def make_schedules(owner, n):
    Schedule.objects.bulk_create([Schedule(name=f"Nightly {next(_serial)}", cron="0 3 * * *", preset=default_preset(),
                                           duration_s=60, created_by=owner) for _ in range(n)])


def make_tracks(owner, n):
    Track.objects.bulk_create([Track(title=f"Track {next(_serial)}", file="tracks/a.mp3", duration_s=60,
                                     size_bytes=1000, uploaded_by=owner) for _ in range(n)])


def make_listings(owner, n, status="draft"):
    listings = Listing.objects.bulk_create([Listing(owner=owner, title=f"Jeans {next(_serial)}", price=10,
                                                    status=status) for _ in range(n)])
    Photo.objects.bulk_create([Photo(owner=owner, listing=listing, status="ready") for listing in listings])


def make_stock(owner, n):
    make_listings(owner, n, status="ready")


def make_batches(owner, n):
    batches = DraftBatch.objects.bulk_create([DraftBatch(owner=owner) for _ in range(n)])
    Photo.objects.bulk_create([Photo(owner=owner, batch=batch, status="ready") for batch in batches])


def make_photos(owner, n):
    Photo.objects.bulk_create([Photo(owner=owner, status="ready") for _ in range(n)])


def make_vinted_accounts(owner, n):
    VintedAccount.objects.bulk_create([VintedAccount(owner=owner, label=f"shop-{next(_serial)}") for _ in range(n)])


def make_conversations(owner, n):
    account = VintedAccount.objects.create(owner=owner, label=f"inbox-{next(_serial)}")
    conversations = Conversation.objects.bulk_create([Conversation(account=account, vinted_id=str(next(_serial)))
                                                      for _ in range(n)])
    Message.objects.bulk_create([Message(conversation=conversation, vinted_id=str(next(_serial)), body="Hello",
                                         sent_at=timezone.now())
                                 for conversation in conversations])


def make_events(owner, n):
    Event.objects.bulk_create([Event(source="pipeline", kind="run.queued", message="queued", user=owner,
                                     target_type=ContentType.objects.get_for_model(User), target_id=str(owner.pk))
                               for _ in range(n)])


def make_audit_entries(owner, n):
    user_type = ContentType.objects.get_for_model(User)
    LogEntry.objects.bulk_create([LogEntry(user=owner, content_type=user_type, object_id=str(owner.pk),
                                           object_repr=owner.username, action_flag=CHANGE, change_message="[]")
                                  for _ in range(n // 2)])
    Event.objects.bulk_create([Event(source="breakers", kind="breaker.reset", message="reset", user=owner)
                               for _ in range(n - n // 2)])


def _users(n, role=Role.OPERATOR):
    return User.objects.bulk_create([User(username=f"user{next(_serial)}", role=role) for _ in range(n)])


def make_users(owner, n):
    _users(n)


def make_sign_ins(owner, n):
    LoginEvent.objects.bulk_create([LoginEvent(user=owner, device_hash=secrets.token_hex(8)) for _ in range(n)])


def make_api_tokens(owner, n):
    APIToken.objects.bulk_create([APIToken(user=owner, name="script", key=secrets.token_hex(8), digest="x" * 64)
                                  for _ in range(n)])


def make_acceptances(owner, n):
    document = legal_services.current_documents()[0]
    LegalAcceptance.objects.bulk_create([LegalAcceptance(user=user, document=document) for user in _users(n)])


def make_ai_usage(owner, n):
    AIUsage.objects.bulk_create([AIUsage(model="gpt-4o-mini", request_type="vinted.draft", user=owner)
                                 for _ in range(n)])


def make_breakers(owner, n):
    CircuitBreaker.objects.bulk_create([CircuitBreaker(name=f"service-{next(_serial)}") for _ in range(n)])


PAGES = [
    ("pipeline:run-list", make_runs),
    ("pipeline:video-list", make_videos),
    ("pipeline:schedule-list", make_schedules),
    ("pipeline:track-list", make_tracks),
    ("vinted:listing-list", make_listings),
    ("vinted:bulk", make_batches),
    ("vinted:batch-list", make_batches),
    ("vinted:inventory", make_stock),
    ("vinted:account-list", make_vinted_accounts),
    ("vinted:conversation-list", make_conversations),
    ("monitoring:events", make_events),
    ("monitoring:audit", make_audit_entries),
]
ENDPOINTS = [
    ("api:user-list", make_users),
    ("api:sign-in-list", make_sign_ins),
    ("api:api-token-list", make_api_tokens),
    ("api:legal-acceptance-list", make_acceptances),
    ("api:event-list", make_events),
    ("api:breaker-list", make_breakers),
    ("api:ai-usage-list", make_ai_usage),
    ("api:pipeline-run-list", make_runs),
    ("api:pipeline-video-list", make_videos),
    ("api:pipeline-schedule-list", make_schedules),
    ("api:pipeline-track-list", make_tracks),
    ("api:vinted-listing-list", make_listings),
    ("api:vinted-photo-list", make_photos),
    ("api:vinted-batch-list", make_batches),
    ("api:vinted-account-list", make_vinted_accounts),
]

ADMIN_ONLY_ENDPOINTS = {"api:user-list", "api:legal-acceptance-list", "api:event-list", "api:breaker-list"}


def _count(get, url):
    get(url)  # one-off work of a first request
    with CaptureQueriesContext(connection) as queries:
        response = get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries), response


def _api_rows(response) -> int:
    body = response.json()
    return len(body["results"] if isinstance(body, dict) else body)  # the breakers list is not paginated


def _page_rows(response) -> int:
    page = response.context.get("page_obj")
    return len(page.object_list) if page is not None else 0


@pytest.mark.parametrize("persona", ["admin", "operator"])
@pytest.mark.parametrize("url_name,make", PAGES, ids=[name for name, _ in PAGES])
def test_list_page_queries_do_not_grow_with_rows(client, personas, persona, url_name, make):
    if url_name in ("monitoring:audit", "monitoring:events") and persona != "admin":
        pytest.skip("admins' only (tests/monitoring/test_audit.py, test_ops_pages.py)")
    url, owner = reverse(url_name), personas["operator"]
    get = client_for(client, personas, persona).get
    make(owner, SMALL)
    small, response = _count(get, url)
    small_rows = _page_rows(response)
    make(owner, LARGE - SMALL)
    large, response = _count(get, url)
    assert _page_rows(response) > small_rows, "the page must show more rows, or the comparison proves nothing"
    assert large == small, f"{url}: {small} queries for {SMALL} rows, {large} for {LARGE}"


@pytest.mark.parametrize("persona", ["admin", "operator"])
@pytest.mark.parametrize("url_name,make", ENDPOINTS, ids=[name for name, _ in ENDPOINTS])
def test_list_endpoint_queries_do_not_grow_with_rows(api_as, personas, persona, url_name, make):
    if persona != "admin" and url_name in ADMIN_ONLY_ENDPOINTS:
        pytest.skip("admins' only (their role matrices are in tests/accounts, tests/legal and tests/monitoring)")
    url, owner = reverse(url_name), personas["operator"]
    get = api_as(personas[persona]).get
    make(owner, SMALL)
    small, response = _count(get, url)
    small_rows = _api_rows(response)
    make(owner, LARGE - SMALL)
    large, response = _count(get, url)
    assert _api_rows(response) > small_rows, "more rows must be listed, or this proves nothing"
    assert large == small, f"{url}: {small} queries for {SMALL} rows, {large} for {LARGE}"
