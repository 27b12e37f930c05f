"""The API of AI drafts: POST /vinted/listings/{id}/draft/ and /vinted/batches/, with the role
matrix (JWT and personal token), the error envelope for AI errors, and the schema."""

from decimal import Decimal

import pytest

from monitoring.models import AIUsage, JobRun
from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.factories import ListingFactory
from tests.helpers import API_PERSONAS
from tests.monitoring.worker import run_worker
from vinted.models import DraftBatch, Listing

from .drafting_helpers import GOOD_ANSWER, good_answer, listing_with_photo

pytestmark = pytest.mark.django_db

API = "/api/v1/vinted"


def draft(client, listing, **body):
    return client.post(f"{API}/listings/{listing.pk}/draft/", body, format="json")


DRAFT_ANSWERS = {"anonymous": 401, "viewer": 403, "operator": 200, "other_operator": 404, "admin": 200}


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_draft_action_role_matrix(api_for, api_with, persona, operator, fake_openai):
    fake_openai.chat_handler = lambda request: GOOD_ANSWER
    listing = listing_with_photo(operator)
    response = draft(api_for(persona, using=api_with), listing)
    assert_matrix_answer(response, DRAFT_ANSWERS[persona], persona)
    if response.status_code == 404:
        assert_error(response, 404, "NOT_FOUND")
    assert (Listing.objects.get(pk=listing.pk).ai_drafted_at is not None) == (response.status_code == 200)


def test_draft_answers_the_result_and_the_listing(api_as, operator, fake_openai):
    listing = listing_with_photo(operator, edited_fields=["title"], title="Mine")
    fake_openai.reply_next(good_answer(size="XXXL"))
    body = draft(api_as(operator), listing).json()

    result = body["result"]
    assert result["listing_id"] == listing.pk and result["offline"] is False and result["model"] == "gpt-4o-mini"
    assert result["kept"] == ["title"] and "title" not in result["filled"]
    assert "is not one of the sizes of Women > Clothing > Jeans" in result["rejected"]["size"]
    assert result["needs_user"] == ["size"]
    assert Decimal(result["cost_usd"]) == AIUsage.objects.get().cost_usd
    drafted = body["listing"]
    assert drafted["title"] == "Mine" and drafted["category"]["vinted_id"] == 1187
    assert drafted["brand"] == {"id": drafted["brand"]["id"], "name": "Levi's", "vinted_id": 53}
    assert [colour["name"] for colour in drafted["colours"]] == ["Blue"]
    assert drafted["price"] == "22.50" and drafted["ai_price_max"] == "30.00"
    assert drafted["ai_rejected"] == result["rejected"] and drafted["ai_confidence"]["brand"] == 0.8


def test_overwrite_in_the_body(api_as, operator, fake_openai):
    listing = listing_with_photo(operator, edited_fields=["title"], title="Mine")
    fake_openai.chat_handler = lambda request: GOOD_ANSWER
    assert draft(api_as(operator), listing, overwrite=True).json()["listing"]["title"] == GOOD_ANSWER["title"]
    assert field_errors(draft(api_as(operator), listing, overwrite="maybe")) == {
        "overwrite": ["Must be a valid boolean."]}


def test_budget_exceeded_is_402_and_nothing_changes(api_as, operator, fake_openai):
    operator.ai_monthly_budget_usd = Decimal("0")
    operator.save()
    listing = listing_with_photo(operator, title="Mine")
    body = assert_error(draft(api_as(operator), listing), 402, "AI_BUDGET_EXCEEDED")
    assert body["error"]["details"] == {"spent_usd": "0", "budget_usd": "0.00"}
    assert Listing.objects.get(pk=listing.pk).title == "Mine" and fake_openai.requests == []


def test_unusable_answer_is_502_with_its_cost_recorded(api_as, operator, fake_openai):
    listing = listing_with_photo(operator)
    fake_openai.reply_next("{not json")
    assert_error(draft(api_as(operator), listing), 502, "AI_BAD_ANSWER")
    assert not AIUsage.objects.get().success and Listing.objects.get(pk=listing.pk).ai_drafted_at is None


def test_ai_service_down_is_503(api_as, operator, fake_openai):
    fake_openai.rate_limit_next(1, retry_after=7)
    listing = listing_with_photo(operator)
    body = assert_error(draft(api_as(operator), listing), 503, "AI_UNAVAILABLE")
    assert body["error"]["details"] == {"retry_after_seconds": 7}


def test_no_photo_is_a_field_error(api_as, operator, fake_openai):
    listing = ListingFactory(owner=operator)
    assert field_errors(draft(api_as(operator), listing)) == {
        "photos": ["Add at least one photo before drafting: the draft is made from them."]}


def test_offline_draft_over_the_api(api_as, operator, settings):
    settings.OPENAI_API_KEY = ""
    listing = listing_with_photo(operator, colour=(200, 30, 30))
    result = draft(api_as(operator), listing).json()["result"]
    assert result["offline"] is True and result["model"] == "offline" and result["filled"] == ["colours"]
    assert result["cost_usd"] == "0.000000" and "title" in result["needs_user"]


# --- batches ---------------------------------------------------------------------------------------

CREATE_ANSWERS = {"anonymous": 401, "viewer": 403, "operator": 202, "other_operator": 400, "admin": 202}


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_batch_create_role_matrix(api_for, api_with, persona, operator):
    listing = listing_with_photo(operator)
    response = api_for(persona, using=api_with).post(f"{API}/batches/", {"listings": [listing.pk]}, format="json")
    assert_matrix_answer(response, CREATE_ANSWERS[persona], persona)
    if persona == "other_operator":  # someone else's listing is not theirs to draft (and not shown to exist)
        assert field_errors(response) == {"listings": [f"No listing of yours with id {listing.pk}."]}
    assert DraftBatch.objects.exists() == (response.status_code == 202)


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_batch_read_role_matrix(api_for, api_with, persona, operator):
    batch = DraftBatch.objects.create(owner=operator)
    client = api_for(persona, using=api_with)
    detail = client.get(f"{API}/batches/{batch.pk}/")
    listed = client.get(f"{API}/batches/")
    expected = {"anonymous": 401, "other_operator": 404}.get(persona, 200)
    assert_matrix_answer(detail, expected, persona)
    if persona != "anonymous":
        ids = [row["id"] for row in listed.json()["results"]] if "results" in listed.json() else [
            row["id"] for row in listed.json()]
        assert ids == ([] if persona == "other_operator" else [batch.pk])


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_batch_draft_action_role_matrix(api_for, api_with, persona, operator):
    batch = DraftBatch.objects.create(owner=operator)
    listing_with_photo(operator, batch=batch)
    response = api_for(persona, using=api_with).post(f"{API}/batches/{batch.pk}/draft/", format="json")
    expected = {"anonymous": 401, "viewer": 403, "other_operator": 404}.get(persona, 202)
    assert_matrix_answer(response, expected, persona)
    assert JobRun.objects.filter(name="vinted.draft_batch").exists() == (expected == 202)


def test_batch_progress_and_results_over_the_api(api_as, operator, fake_openai):
    first, second = listing_with_photo(operator), ListingFactory(owner=operator)
    fake_openai.reply_next(GOOD_ANSWER)
    client = api_as(operator)
    created = client.post(f"{API}/batches/", {"listings": [first.pk, second.pk]}, format="json").json()
    assert created["status"] == "queued" and created["total"] == 2 and created["progress"] == 0
    assert created["results"] == {str(first.pk): {"status": "queued"}, str(second.pk): {"status": "queued"}}

    run_worker()

    batch = client.get(f"{API}/batches/{created['id']}/").json()
    assert (batch["status"], batch["done"], batch["failed"], batch["progress"]) == ("partial", 1, 1, 1.0)
    assert batch["results"][str(first.pk)]["status"] == "ok"
    assert batch["results"][str(second.pk)]["message"].startswith("Add at least one photo")


def test_batch_create_refuses_bad_input(api_as, operator):
    client = api_as(operator)
    assert "listings" in field_errors(client.post(f"{API}/batches/", {"listings": []}, format="json"))
    assert "listings" in field_errors(client.post(f"{API}/batches/", {"listings": ["x"]}, format="json"))
    assert "listings" in field_errors(client.post(f"{API}/batches/", {}, format="json"))
    assert not DraftBatch.objects.exists()


def test_batch_being_drafted_is_a_400(api_as, operator):
    batch = DraftBatch.objects.create(owner=operator)
    listing_with_photo(operator, batch=batch)
    client = api_as(operator)
    assert client.post(f"{API}/batches/{batch.pk}/draft/").status_code == 202
    assert_error(client.post(f"{API}/batches/{batch.pk}/draft/"), 400, "VALIDATION_ERROR")


def test_schema_documents_the_draft_answers(api_as, admin_user):
    schema = api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/vinted/listings/{id}/draft/"]["post"]
    for code in ("200", "400", "402", "404", "502", "503"):
        assert code in operation["responses"], code
    for code in ("402", "502", "503"):
        assert operation["responses"][code]["content"]["application/json"]["schema"]["$ref"].endswith(
            "ErrorEnvelope")
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("DraftAnswer")
    batches = schema["paths"]["/api/v1/vinted/batches/"]
    assert "202" in batches["post"]["responses"] and "get" in batches
