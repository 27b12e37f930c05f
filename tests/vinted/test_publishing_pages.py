"""Publishing pages: the role matrix on every page and action; the publication page in each state
(prepared with its screenshot and confirm form, dry run, failed with the read-back difference,
published); bad input (no account, another seller's account, a forged, expired or stale token)
answers 4xx with a message and changes nothing; a double submit publishes once.

Publications are made directly in each state (the prepare job itself is the publishing tests'
business, tests/vinted/test_publishing.py); the tokens are the service's own."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.models import JobRun
from tests.factories import ListingFactory, PhotoFactory
from tests.helpers import PERSONAS, assert_answer, client_for
from tests.vinted.publishing_page_helpers import PNG, make_account, make_publication
from vinted.choices import AccountStatus, ListingStatus, PublicationStatus
from vinted.models import Colour, Listing, Publication
from vinted.services import publishing

pytestmark = pytest.mark.django_db

@pytest.fixture
def listing(operator):
    listing = ListingFactory(owner=operator, complete=True, title="Otto's jeans", status=ListingStatus.READY)
    PhotoFactory(listing=listing, sha256="a" * 64)
    return listing


@pytest.fixture
def account(operator):
    return make_account(operator)


@pytest.fixture
def prepared(listing, account):
    return make_publication(listing, account, PublicationStatus.PREPARED)


def _rows():
    return list(Publication.objects.order_by("pk").values_list("pk", "status", "idempotency_key", "publish_job"))


def _form_fields(html):
    """The hidden fields of the page's confirm form."""
    form = re.search(r"<form[^>]*data-confirm-form.*?</form>", html, re.S)
    assert form, "no confirm form on the page"
    return dict(re.findall(r'name="(token|idempotency_key)" value="([^"]+)"', form.group(0)))


def _confirm_fields(client, publication):
    return _form_fields(client.get(reverse("vinted:publication-detail", args=[publication.pk])).content.decode())


# --- the role matrix ------------------------------------------------------------------------------
# (name, method, url name, object, expected for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("prepare", "post", "vinted:listing-prepare", "listing", ("login", 403, 302, 404, 302)),
    ("detail", "get", "vinted:publication-detail", "publication", ("login", 404, 200, 404, 200)),
    ("progress", "get", "vinted:publication-progress", "publication", ("login", 404, 200, 404, 200)),
    ("screenshot", "get", "vinted:publication-screenshot", "publication", ("login", 404, 200, 404, 200)),
    ("publish", "post", "vinted:publication-publish", "publication", ("login", 403, 302, 404, 302)),
]


@pytest.mark.parametrize("name,method,url_name,target,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix(client, personas, operator, listing, account, prepared, persona, name, method, url_name,
                     target, expected):
    want = expected[PERSONAS.index(persona)]
    data = {}
    if name == "prepare":
        data = {"account": account.pk}
    elif name == "publish":
        # A real token of the page the owner (or the admin) was shown; others post the owner's.
        issuer = personas[persona] if persona in ("operator", "admin") else operator
        token, _ = publishing.issue_confirm_token(prepared, by_user=issuer)
        data = {"token": token, "idempotency_key": "5f0c3a8e-2b7d-4c1e-9a6f-0d8e7b6c5a41"}
    client = client_for(client, personas, persona)
    url = reverse(url_name, args=[listing.pk if target == "listing" else prepared.pk])
    before, jobs = _rows(), JobRun.objects.count()
    response = client.get(url) if method == "get" else client.post(url, data)
    assert_answer(response, want)
    if method == "post" and want != 302:
        assert _rows() == before and JobRun.objects.count() == jobs, "a refused request changed data"
    if method == "post" and want == 302:
        assert JobRun.objects.count() == jobs + 1, "the action did not start its job"
        new = Publication.objects.latest("pk") if name == "prepare" else Publication.objects.get(pk=prepared.pk)
        assert response["Location"] == reverse("vinted:publication-detail", args=[new.pk])
    if name == "screenshot" and want == 200:
        assert response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content) == PNG


def test_a_viewer_sees_no_publishing_panel_and_the_owner_does(client, viewer, operator, listing, prepared):
    client.force_login(viewer)
    page = client.get(listing.get_absolute_url()).content.decode()
    assert "Otto&#x27;s jeans" in page and 'id="listing-publishing"' not in page
    assert reverse("vinted:publication-detail", args=[prepared.pk]) not in page
    client.force_login(operator)
    page = client.get(listing.get_absolute_url()).content.decode()
    assert 'id="listing-publishing"' in page
    assert "Prepared, waiting for confirmation" in page
    assert reverse("vinted:publication-detail", args=[prepared.pk]) in page
    assert "See the screenshot and values, then confirm" in page


# --- the listing panel and prepare -----------------------------------------------------------------
def test_a_ready_listing_offers_prepare_on_the_owners_accounts_only(client, operator, other_operator, listing,
                                                                     account):
    make_account(other_operator, label="Oona's account")
    client.force_login(operator)
    page = client.get(listing.get_absolute_url()).content.decode()
    assert "Prepare on Vinted" in page
    assert "Otto on vinted.fr (vinted.fr)" in page and "Oona&#x27;s account" not in page


def test_without_an_account_the_panel_says_to_add_one(client, operator, listing):
    client.force_login(operator)
    page = client.get(listing.get_absolute_url()).content.decode()
    assert "You have no Vinted account here yet." in page
    assert f'href="{reverse("vinted:account-list")}"' in page
    assert "Prepare on Vinted" not in page


def test_a_draft_listing_is_not_offered_prepare(client, operator, account):
    draft = ListingFactory(owner=operator, complete=True)
    client.force_login(operator)
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "Prepare on Vinted" not in page and "Mark it ready first" in page


def test_prepare_starts_the_job_and_shows_its_live_progress(client, operator, listing, account):
    client.force_login(operator)
    response = client.post(reverse("vinted:listing-prepare", args=[listing.pk]), {"account": account.pk},
                           follow=True)
    publication = Publication.objects.get()
    assert response.redirect_chain == [(reverse("vinted:publication-detail", args=[publication.pk]), 302)]
    assert publication.status == PublicationStatus.PREPARING and publication.account == account
    page = response.content.decode()
    assert "Nothing is published until you confirm." in page
    progress_url = reverse("vinted:publication-progress", args=[publication.pk])
    assert f'hx-get="{progress_url}"' in page and 'hx-trigger="every 2s"' in page
    # Until it is read back, the table shows what prepare fills in, with the catalogue's names.
    assert "Values to fill in" in page and "Levi&#x27;s" in page and "Very good" in page
    partial = client.get(progress_url).content.decode()
    assert partial.startswith("<div") or 'id="publication-state"' in partial
    assert 'hx-trigger="every 2s"' in partial and "<html" not in partial


@pytest.mark.parametrize("choice", ["", "999999", "not-a-number", "other"])
def test_prepare_without_a_usable_account_is_a_400_that_changes_nothing(client, operator, other_operator,
                                                                        listing, account, choice):
    if choice == "other":
        choice = str(make_account(other_operator, label="Oona's").pk)
    client.force_login(operator)
    response = client.post(reverse("vinted:listing-prepare", args=[listing.pk]), {"account": choice})
    assert response.status_code == 400
    page = response.content.decode()
    expected = "Choose the Vinted account to publish on." if choice == "" else "not among them"
    assert expected in page
    assert not Publication.objects.exists() and not JobRun.objects.exists()
    listing.refresh_from_db()
    assert listing.status == ListingStatus.READY


def test_prepare_refused_by_the_service_says_why(client, operator, listing):
    expired = make_account(operator, label="Expired", status=AccountStatus.NEEDS_LOGIN)
    client.force_login(operator)
    response = client.post(reverse("vinted:listing-prepare", args=[listing.pk]), {"account": expired.pk})
    assert response.status_code in (400, 409)
    assert "Not prepared:" in response.content.decode()
    assert not Publication.objects.exists()


# --- the publication page in each state ----------------------------------------------------------------
def test_a_prepared_publication_shows_screenshot_values_and_the_confirm_form(client, operator, listing, prepared):
    client.force_login(operator)
    response = client.get(reverse("vinted:publication-detail", args=[prepared.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Prepared, waiting for confirmation" in page
    assert f'src="{reverse("vinted:publication-screenshot", args=[prepared.pk])}"' in page
    assert "Values read back from Vinted's form" in page
    blue = Colour.objects.get(name="Blue")
    for text in ("Otto&#x27;s jeans", "Jeans", "Levi&#x27;s", "Very good", "Blue", "25.00 EUR", "Medium",
                 "(id 53)", f"(id {blue.vinted_id})", f"(id {listing.size.vinted_id})", "(id 1187)",
                 "1 uploaded, in order"):
        assert text in page, text
    fields = _form_fields(page)
    assert fields["token"] and re.fullmatch(r"[0-9a-f-]{36}", fields["idempotency_key"])
    assert "Confirm and publish" in page
    assert 'hx-trigger' not in page, "a prepared publication does not poll"
    # Every view of the page carries a fresh idempotency key.
    assert _confirm_fields(client, prepared)["idempotency_key"] != fields["idempotency_key"]


def test_a_dry_run_says_nothing_was_published_and_offers_no_confirm(client, operator, listing):
    account = make_account(operator, label="Dry", dry_run=True)
    publication = make_publication(listing, account, PublicationStatus.DRY_RUN)
    client.force_login(operator)
    page = client.get(reverse("vinted:publication-detail", args=[publication.pk])).content.decode()
    assert "Dry run: nothing was published." in page and "An admin turns dry run off" in page
    assert "data-confirm-form" not in page and "Confirm and publish" not in page
    assert "Prepare again" in page


def test_a_failed_read_back_shows_the_difference_with_names(client, operator, listing, account):
    publication = make_publication(
        listing, account, PublicationStatus.FAILED, error="The form did not keep the brand.",
        difference={"brand_id": {"expected": "53", "found": ""}, "title": {"expected": "Otto's jeans",
                                                                           "found": "Otto's jean"}})
    client.force_login(operator)
    page = client.get(reverse("vinted:publication-detail", args=[publication.pk])).content.decode()
    assert "Difference found before sending" in page and "The form did not keep the brand." in page
    difference = re.search(r'data-difference.*?</section>', page, re.S).group(0)
    assert "Levi&#x27;s" in difference and "(Vinted id 53)" in difference and "No brand" in difference
    assert "Otto&#x27;s jean<" in difference
    assert "Nothing was submitted to Vinted" in page and "Confirm and publish" not in page


def test_a_published_publication_shows_the_item_id_and_link(client, operator, listing, account):
    publication = make_publication(listing, account, PublicationStatus.PUBLISHED, vinted_item_id="777001",
                                   vinted_url="https://www.vinted.fr/items/777001-otto-s-jeans",
                                   published_at=timezone.now())
    client.force_login(operator)
    page = client.get(reverse("vinted:publication-detail", args=[publication.pk])).content.decode()
    assert "Published on Vinted" in page and "777001" in page
    assert 'href="https://www.vinted.fr/items/777001-otto-s-jeans"' in page
    assert "Confirm and publish" not in page and "Prepare again" not in page
    listing_page = client.get(listing.get_absolute_url()).content.decode()
    assert "item 777001" in listing_page and "Prepare on Vinted" not in listing_page


def test_no_screenshot_is_a_404(client, operator, listing, account):
    publication = make_publication(listing, account, PublicationStatus.PREPARING, screenshot=False)
    client.force_login(operator)
    assert client.get(reverse("vinted:publication-screenshot", args=[publication.pk])).status_code == 404


# --- confirm and publish ---------------------------------------------------------------------------
def test_confirm_publishes_and_a_double_submit_publishes_once(client, operator, prepared):
    client.force_login(operator)
    fields = _confirm_fields(client, prepared)
    url = reverse("vinted:publication-publish", args=[prepared.pk])
    first = client.post(url, fields)
    assert first.status_code == 302
    prepared.refresh_from_db()
    assert prepared.status == PublicationStatus.PUBLISHING and prepared.publish_job_id
    jobs = JobRun.objects.count()
    second = client.post(url, fields)  # the same form sent again (a double click, a retried request)
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert JobRun.objects.count() == jobs
    assert Publication.objects.get(pk=prepared.pk).publish_job_id == prepared.publish_job_id


@pytest.mark.parametrize("forged", [
    {"token": "forged", "idempotency_key": "5f0c3a8e-2b7d-4c1e-9a6f-0d8e7b6c5a41"},
    {"token": "", "idempotency_key": "5f0c3a8e-2b7d-4c1e-9a6f-0d8e7b6c5a41"},
    {"idempotency_key": "not-a-uuid"},
])
def test_a_forged_or_missing_token_or_key_is_a_400_that_publishes_nothing(client, operator, prepared, forged):
    client.force_login(operator)
    data = {**_confirm_fields(client, prepared), **forged}
    before = _rows()
    response = client.post(reverse("vinted:publication-publish", args=[prepared.pk]), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Not published:" in page and "Nothing was published." in page and "Prepare again" in page
    assert _rows() == before and not JobRun.objects.exists()


def test_a_listing_changed_after_prepare_cannot_be_published(client, operator, listing, prepared):
    client.force_login(operator)
    fields = _confirm_fields(client, prepared)
    Listing.objects.filter(pk=listing.pk).update(title="Otto's jeans, now cheaper")
    response = client.post(reverse("vinted:publication-publish", args=[prepared.pk]), fields)
    assert response.status_code in (400, 409)
    page = response.content.decode()
    assert "Not published:" in page and "Prepare again" in page and "data-confirm-form" not in page
    prepared.refresh_from_db()
    assert prepared.status != PublicationStatus.PUBLISHING and not prepared.publish_job_id
    # The page itself no longer offers the stale confirmation either.
    again = client.get(reverse("vinted:publication-detail", args=[prepared.pk])).content.decode()
    assert "data-confirm-form" not in again and "Prepare again" in again


def test_an_expired_token_is_refused(client, operator, prepared, wall_clock, settings):
    client.force_login(operator)
    fields = _confirm_fields(client, prepared)
    wall_clock.shift((settings.VINTED_CONFIRM_TOKEN_MINUTES + 1) * 60)
    response = client.post(reverse("vinted:publication-publish", args=[prepared.pk]), fields)
    assert response.status_code in (400, 409)
    assert "Not published:" in response.content.decode() and "Prepare again" in response.content.decode()
    prepared.refresh_from_db()
    assert not prepared.publish_job_id


def test_a_token_of_another_publication_is_refused(client, operator, listing, account, prepared):
    other_listing = ListingFactory(owner=operator, complete=True, status=ListingStatus.READY)
    PhotoFactory(listing=other_listing, sha256="b" * 64)
    other = make_publication(other_listing, account, PublicationStatus.PREPARED)
    client.force_login(operator)
    fields = _confirm_fields(client, other)
    response = client.post(reverse("vinted:publication-publish", args=[prepared.pk]), fields)
    assert response.status_code in (400, 409)
    prepared.refresh_from_db()
    assert not prepared.publish_job_id and not JobRun.objects.exists()


def test_a_signed_out_poll_sends_the_browser_to_sign_in(client, prepared):
    response = client.get(reverse("vinted:publication-progress", args=[prepared.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("accounts:login"))


def test_a_superseded_publication_says_so_and_offers_no_confirm(client, operator, listing, account):
    old = make_publication(listing, account, PublicationStatus.SUPERSEDED)
    client.force_login(operator)
    page = client.get(reverse("vinted:publication-detail", args=[old.pk])).content.decode()
    assert "A newer prepare replaced this one" in page and "Confirm and publish" not in page


def test_a_publish_stopped_by_the_read_back_says_what_you_confirmed(client, operator, listing, account):
    job = JobRun.objects.create(name="vinted.publish_publication", job_path="vinted.tasks.publish_publication",
                                status="succeeded", progress=1.0)
    publication = make_publication(listing, account, PublicationStatus.FAILED, publish_job=job,
                                   difference={"price": {"expected": "25.00", "found": "2.50"}},
                                   error="Nothing was submitted: Vinted's form did not hold the confirmed values.")
    client.force_login(operator)
    page = client.get(reverse("vinted:publication-detail", args=[publication.pk])).content.decode()
    assert "did not hold what you confirmed" in page and "You confirmed" in page
    difference = re.search(r'data-difference.*?</section>', page, re.S).group(0)
    assert "25.00 EUR" in difference and "2.50 EUR" in difference
    assert "updates live" not in page and "Prepare again" in page
