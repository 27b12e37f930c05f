"""AI draft pages: the listing page's draft panel and its POST, the bulk draft batch pages
(detail, live progress, "Draft all", list), with the role matrix on each."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from monitoring.models import AIUsage, JobRun
from tests.helpers import PERSONAS, assert_answer, client_for
from tests.monitoring.worker import run_worker
from vinted.models import DraftBatch, Listing
from vinted.services import drafts

from .drafting_helpers import GOOD_ANSWER, good_answer, listing_with_photo

pytestmark = pytest.mark.django_db

NEXT = "/vinted/batches/"  # any page of ours that shows messages (the listing page is the listings work's)


def draft_url(listing):
    return f"/vinted/listings/{listing.pk}/draft/"


@pytest.fixture
def always_good(fake_openai):
    fake_openai.chat_handler = lambda request: GOOD_ANSWER
    return fake_openai


def render_panel(listing, user):
    request = RequestFactory().get(f"/vinted/listings/{listing.pk}/")
    request.user = user
    return Template("{% include 'vinted/_draft.html' %}").render(
        Context({"listing": listing, "request": request, "user": user, "csrf_token": "tok"}))


# --- the draft POST --------------------------------------------------------------------------


@pytest.mark.parametrize("persona,expected", list(zip(PERSONAS, ["login", 403, 302, 404, 302], strict=True)))
def test_draft_post_role_matrix(client, personas, operator, always_good, persona, expected):
    listing = listing_with_photo(operator)
    response = client_for(client, personas, persona).post(draft_url(listing), {"next": NEXT})
    assert_answer(response, expected)
    drafted = Listing.objects.get(pk=listing.pk).ai_drafted_at is not None
    assert drafted == (expected == 302)
    if expected == 302:
        assert response["Location"] == NEXT


def test_draft_get_is_not_allowed(client, operator):
    listing = listing_with_photo(operator)
    client.force_login(operator)
    assert client.get(draft_url(listing)).status_code == 405


def test_draft_post_says_what_it_filled_and_what_needs_the_seller(client, operator, fake_openai):
    listing = listing_with_photo(operator)
    fake_openai.reply_next(good_answer(category="Women > Rockets"))
    client.force_login(operator)
    page = client.post(draft_url(listing), {"next": NEXT}, follow=True).content.decode()
    assert "Drafted with gpt-4o-mini; filled Title, Description" in page
    assert "Could not use the AI&#x27;s Category, Size" in page
    assert "Cost $0.0" in page


def test_budget_exceeded_is_a_clear_message_and_nothing_changes(client, operator, fake_openai):
    operator.ai_monthly_budget_usd = Decimal("0")
    operator.save()
    listing = listing_with_photo(operator, title="Mine")
    client.force_login(operator)
    page = client.post(draft_url(listing), {"next": NEXT}, follow=True).content.decode()
    assert "AI budget reached" in page and "Nothing was sent and nothing changed." in page
    assert Listing.objects.get(pk=listing.pk).title == "Mine" and fake_openai.requests == []


def test_ai_unavailable_is_a_clear_message(client, operator, fake_openai):
    fake_openai.fail_next(1, status=503)
    listing = listing_with_photo(operator)
    client.force_login(operator)
    page = client.post(draft_url(listing), {"next": NEXT}, follow=True).content.decode()
    assert "The AI service is unavailable right now" in page
    assert Listing.objects.get(pk=listing.pk).ai_drafted_at is None


def test_no_photo_is_a_clear_message(client, operator, fake_openai):
    listing = Listing.objects.create(owner=operator)
    client.force_login(operator)
    page = client.post(draft_url(listing), {"next": NEXT}, follow=True).content.decode()
    assert "Add at least one photo before drafting" in page


def _listing_page_exists():
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("vinted:listing-detail", args=[1])
    except NoReverseMatch:
        return False
    return True


@pytest.mark.skipif(not _listing_page_exists(), reason="the listing page is the listings work's (merged later)")
def test_an_offsite_next_is_ignored(client, operator, always_good):
    listing = listing_with_photo(operator)
    client.force_login(operator)
    response = client.post(draft_url(listing), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == listing.get_absolute_url()


def test_overwrite_replaces_the_sellers_edits_only_when_asked(client, operator, fake_openai):
    listing = listing_with_photo(operator, title="Mine", edited_fields=["title"])
    fake_openai.chat_handler = lambda request: GOOD_ANSWER
    client.force_login(operator)
    client.post(draft_url(listing), {"next": NEXT})
    assert Listing.objects.get(pk=listing.pk).title == "Mine"
    client.post(draft_url(listing), {"next": NEXT, "overwrite": "1"})
    assert Listing.objects.get(pk=listing.pk).title == GOOD_ANSWER["title"]


# --- the panel -------------------------------------------------------------------------------------


def test_panel_before_a_draft_offers_the_button_to_the_owner_only(operator, viewer, settings, fake_openai):
    listing = listing_with_photo(operator)
    html = render_panel(listing, operator)
    assert "Draft with AI" in html and f'action="{draft_url(listing)}"' in html
    assert 'name="next" value="/vinted/listings/' in html
    assert "Re-draft and overwrite my edits" not in html  # nothing of the seller's to overwrite yet
    assert "AI is off" not in html
    assert "Draft with AI" not in render_panel(listing, viewer)


def test_panel_after_a_draft_shows_confidence_rejections_cost_and_needs(operator, fake_openai):
    listing = listing_with_photo(operator, edited_fields=["price"], price="12.00")
    fake_openai.reply_next(good_answer(brand="Gucci", confidence={"title": 0.9, "description": 0.75}))
    drafts.draft_listing(operator, listing)
    listing.refresh_from_db()

    html = render_panel(listing, operator)

    assert "Draft again with AI" in html and "Re-draft and overwrite my edits" in html
    assert "Replace your own Price" in html
    assert "<th scope=\"row\">Title</th><td data-label=\"Confidence\"><meter" in html and "90%" in html
    assert "<strong>Brand</strong>: &#x27;Gucci&#x27; is not a brand in the catalogue." in html
    assert "<strong>Needs you:</strong> Brand." in html
    cost = AIUsage.objects.get().cost_usd
    assert f"${cost:.4f}" in html
    assert "Suggested price</dt><dd>22.50 EUR" in html


def test_panel_offline_says_ai_is_off_and_which_fields_need_the_seller(operator, settings):
    settings.OPENAI_API_KEY = ""
    listing = listing_with_photo(operator, colour=(200, 30, 30))
    drafts.draft_listing(operator, listing)
    listing.refresh_from_db()
    html = render_panel(listing, operator)
    assert "AI is off" in html and "offline (colours from the pixels)" in html
    assert "<strong>Needs you:</strong> Title, Description, Category, Brand, Size, Condition, Price." in html
    assert "AI cost" not in html


def test_panel_without_photos_asks_for_one(operator, fake_openai):
    listing = Listing.objects.create(owner=operator)
    html = render_panel(listing, operator)
    assert "Add a photo first" in html and "Draft with AI" not in html


# --- batches --------------------------------------------------------------------------------------


@pytest.fixture
def batch(operator):
    batch = DraftBatch.objects.create(owner=operator)
    listing_with_photo(operator, batch=batch)
    listing_with_photo(operator, batch=batch)
    return batch


@pytest.mark.parametrize("persona,expected", list(zip(PERSONAS, ["login", 200, 200, 404, 200], strict=True)))
def test_batch_page_role_matrix(client, personas, batch, persona, expected):
    response = client_for(client, personas, persona).get(f"/vinted/batches/{batch.pk}/")
    assert_answer(response, expected)
    if expected == 200:
        page = response.content.decode()
        assert "AI draft of every item" in page
        # Only those who may change the batch get the button.
        assert ("Draft all" in page) == (persona in ("operator", "admin"))


@pytest.mark.parametrize("persona,expected", list(zip(PERSONAS, ["login", 200, 200, 404, 200], strict=True)))
def test_batch_progress_role_matrix(client, personas, batch, persona, expected):
    assert_answer(client_for(client, personas, persona).get(f"/vinted/batches/{batch.pk}/progress/"), expected)


@pytest.mark.parametrize("persona,expected", list(zip(PERSONAS, ["login", 403, 302, 404, 302], strict=True)))
def test_draft_all_role_matrix(client, personas, batch, persona, expected):
    response = client_for(client, personas, persona).post(f"/vinted/batches/{batch.pk}/draft/")
    assert_answer(response, expected)
    assert JobRun.objects.filter(name="vinted.draft_batch").exists() == (expected == 302)
    if expected == 302:
        assert response["Location"] == f"/vinted/batches/{batch.pk}/"


def test_draft_all_shows_live_progress_then_results(client, operator, batch, fake_openai):
    fake_openai.reply_next(GOOD_ANSWER, "not json at all")
    client.force_login(operator)
    page = client.post(f"/vinted/batches/{batch.pk}/draft/", follow=True).content.decode()
    assert "Drafting 2 item(s) in the background" in page
    assert f'hx-get="/vinted/batches/{batch.pk}/progress/"' in page and 'hx-trigger="every 2s"' in page

    run_worker()

    partial = client.get(f"/vinted/batches/{batch.pk}/progress/").content.decode()
    assert "hx-trigger" not in partial  # finished: polling stops
    assert "1 drafted · 1 failed · 2 in all" in partial
    assert "Partly failed" in partial and "not usable JSON" in partial
    assert partial.count("badge-succeeded") == 1 and partial.count("badge-failed") == 1
    assert "Draft all again" in client.get(f"/vinted/batches/{batch.pk}/").content.decode()


def test_progress_poll_after_sign_out_redirects_the_whole_page(client, batch):
    response = client.get(f"/vinted/batches/{batch.pk}/progress/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"].startswith("/accounts/login/")


def test_a_batch_being_drafted_offers_no_second_draft_all(client, operator, batch):
    drafts.queue_batch(operator, batch)
    client.force_login(operator)
    page = client.get(f"/vinted/batches/{batch.pk}/").content.decode()
    assert "Draft all" not in page and "updates live" in page
    response = client.post(f"/vinted/batches/{batch.pk}/draft/", follow=True)
    assert "already being drafted" in response.content.decode()
    assert JobRun.objects.filter(name="vinted.draft_batch").count() == 1


@pytest.mark.parametrize("persona,expected", list(zip(PERSONAS, ["login", 200, 200, 200, 200], strict=True)))
def test_batch_list_role_matrix(client, personas, batch, persona, expected):
    response = client_for(client, personas, persona).get("/vinted/batches/")
    assert_answer(response, expected)
    if expected == 200:
        shown = f'href="/vinted/batches/{batch.pk}/"' in response.content.decode()
        assert shown == (persona != "other_operator")


def test_next_must_be_a_page_of_this_site():
    from vinted.views.drafts import _safe_next

    factory = RequestFactory()
    for target, expected in [("/vinted/batches/", "/vinted/batches/"), ("https://evil.example/", "fallback"),
                             ("//evil.example/x", "fallback"), ("", "fallback")]:
        request = factory.post("/", {"next": target})
        assert _safe_next(request, lambda: "fallback") == expected


def test_overwrite_is_offered_only_for_edits_a_draft_would_replace(operator, fake_openai):
    listing = listing_with_photo(operator, edited_fields=["package_size", "purchase_cost"])
    assert "Re-draft and overwrite my edits" not in render_panel(listing, operator)
    Listing.objects.filter(pk=listing.pk).update(edited_fields=["package_size", "hashtags"])
    listing.refresh_from_db()
    assert "Replace your own Hashtags with the AI" in render_panel(listing, operator)
