"""/api/v1/vinted/listings/{id}/prepare|publication|confirm|publish/: the role matrix, the answers'
shapes, the Idempotency-Key header, refusals in the envelope, and the schema."""

import pytest

from monitoring.models import JobRun
from tests.api_helpers import assert_error, assert_matrix_answer, field_errors
from tests.helpers import API_PERSONAS, PERSONAS
from vinted.choices import ListingStatus, PublicationStatus
from vinted.models import Listing, Publication
from vinted.services import listings as listing_services
from vinted.services import publishing

from .publishing_helpers import account_for, prepared, ready_listing

pytestmark = pytest.mark.django_db
API = "/api/v1/vinted/listings"


@pytest.fixture
def account(operator):
    return account_for(operator)


@pytest.fixture
def listing(operator):
    return ready_listing(operator, title="Levi's 501")


def _state():
    return (list(Publication.objects.order_by("pk").values_list("pk", "status", "idempotency_key")),
            list(Listing.objects.order_by("pk").values_list("pk", "status")), JobRun.objects.count())


# (name, method, url, expected for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("prepare", "post", "/{pk}/prepare/", (401, 403, 202, 404, 202)),
    ("publication", "get", "/{pk}/publication/", (401, 404, 200, 404, 200)),
    ("confirm", "post", "/{pk}/confirm/", (401, 403, 200, 404, 200)),
    ("publish", "post", "/{pk}/publish/", (401, 403, 202, 404, 202)),
]


@pytest.mark.parametrize("name,method,url,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_role_matrix(api_for, api_with, operator, listing, account, persona, name, method, url, expected):
    publication = prepared(listing, account)
    client = api_for(persona, using=api_with)
    body, headers = None, {}
    if name == "prepare":
        body = {"account": account.pk}
    if name == "publish":
        body = {"token": publishing.issue_confirm_token(publication, by_user=operator)[0]}
        headers = {"HTTP_IDEMPOTENCY_KEY": f"matrix-{persona}"}
    before = _state()
    response = getattr(client, method)(API + url.format(pk=listing.pk), body, format="json", **headers)
    want = expected[PERSONAS.index(persona)]
    assert_matrix_answer(response, want, (persona, name))
    if want == 404:
        assert_error(response, 404, "NOT_FOUND")
    if want >= 400:
        assert _state() == before, "a refused request changed data"


def test_prepare_then_follow_the_publication(api_as, operator, listing, account):
    client = api_as(operator)
    response = client.post(f"{API}/{listing.pk}/prepare/", {"account": account.pk}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["listing"], body["account"], body["dry_run"]) == (
        "preparing", listing.pk, account.pk, False)
    assert body["job"]["name"] == "vinted.prepare_publication" and body["job"]["status"] == "queued"
    assert body["values"] is None and body["photo_hashes"] == [] and body["screenshot_url"] is None
    assert "cookies" not in response.content.decode() and "not-checked" not in response.content.decode()
    current = client.get(f"{API}/{listing.pk}/publication/").json()
    assert current["id"] == body["id"]
    # Without "account": the owner's only active account is used.
    Publication.objects.all().delete()
    Listing.objects.filter(pk=listing.pk).update(status=ListingStatus.READY)
    assert client.post(f"{API}/{listing.pk}/prepare/", {}, format="json").json()["account"] == account.pk


def test_prepare_refusals(api_as, operator, other_operator, listing, account):
    client = api_as(operator)
    theirs = account_for(other_operator)
    fields = field_errors(client.post(f"{API}/{listing.pk}/prepare/", {"account": theirs.pk}, format="json"))
    assert fields == {"account": ["No such Vinted account of yours."]}
    assert set(field_errors(client.post(f"{API}/{listing.pk}/prepare/", {"account": "x"}, format="json"))) == {
        "account"}
    no_photos = ready_listing(operator, photos=0)
    body = assert_error(client.post(f"{API}/{no_photos.pk}/prepare/", {"account": account.pk}, format="json"),
                        400, "NOT_READY")
    assert set(body["error"]["details"]["fields"]) == {"photos"}
    client.post(f"{API}/{listing.pk}/prepare/", {"account": account.pk}, format="json")
    assert_error(client.post(f"{API}/{listing.pk}/prepare/", {"account": account.pk}, format="json"), 409, "BUSY")
    assert Publication.objects.count() == 1


def test_publication_is_404_before_prepare(api_as, operator, listing):
    assert_error(api_as(operator).get(f"{API}/{listing.pk}/publication/"), 404, "NOT_FOUND")


def test_confirm_answers_the_token_and_the_snapshot(api_as, operator, listing, account):
    publication = prepared(listing, account)
    body = api_as(operator).post(f"{API}/{listing.pk}/confirm/").json()
    assert body["publication"] == publication.pk and body["token"] and body["expires_at"]
    assert body["snapshot"] == publication.snapshot


def test_publish_needs_the_idempotency_key_and_publishes_once(api_as, operator, listing, account):
    client = api_as(operator)
    prepared(listing, account)
    token = client.post(f"{API}/{listing.pk}/confirm/").json()["token"]
    missing = assert_error(client.post(f"{API}/{listing.pk}/publish/", {"token": token}, format="json"),
                           400, "IDEMPOTENCY_KEY_REQUIRED")
    assert "Idempotency-Key" in missing["error"]["details"]["fields"]
    assert set(field_errors(client.post(f"{API}/{listing.pk}/publish/", {}, format="json",
                                        HTTP_IDEMPOTENCY_KEY="k1"))) == {"token"}

    first = client.post(f"{API}/{listing.pk}/publish/", {"token": token}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 202, first.content
    assert first.json()["status"] == "publishing" and first.json()["job"]["name"] == "vinted.publish_publication"
    again = client.post(f"{API}/{listing.pk}/publish/", {"token": token}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert JobRun.objects.filter(name="vinted.publish_publication").count() == 1

    other = ready_listing(operator)
    prepared(other, account)
    token2 = client.post(f"{API}/{other.pk}/confirm/").json()["token"]
    assert_error(client.post(f"{API}/{other.pk}/publish/", {"token": token2}, format="json",
                             HTTP_IDEMPOTENCY_KEY="k1"), 409, "IDEMPOTENCY_KEY_REUSED")
    assert Publication.objects.get(listing=other).status == PublicationStatus.PREPARED


def test_an_edited_listing_refuses_the_old_token(api_as, operator, listing, account):
    client = api_as(operator)
    prepared(listing, account)
    token = client.post(f"{API}/{listing.pk}/confirm/").json()["token"]
    edited = client.patch(f"{API}/{listing.pk}/", {"title": "Levi's 501 W32"}, format="json")
    assert edited.status_code == 200 and edited.json()["status"] == "ready"
    # The superseded preparation is no longer the listing's publication.
    assert_error(client.get(f"{API}/{listing.pk}/publication/"), 404, "NOT_FOUND")
    assert_error(client.post(f"{API}/{listing.pk}/publish/", {"token": token}, format="json",
                             HTTP_IDEMPOTENCY_KEY="k1"), 404, "NOT_FOUND")
    assert not JobRun.objects.filter(name="vinted.publish_publication").exists()


def test_bad_tokens_and_dry_run_in_the_envelope(api_as, operator, listing, account, settings, wall_clock):
    client = api_as(operator)
    prepared(listing, account)
    assert_error(client.post(f"{API}/{listing.pk}/publish/", {"token": "forged"}, format="json",
                             HTTP_IDEMPOTENCY_KEY="k1"), 400, "CONFIRMATION_INVALID")
    token = client.post(f"{API}/{listing.pk}/confirm/").json()["token"]
    wall_clock.shift(settings.VINTED_CONFIRM_TOKEN_MINUTES * 60 + 1)
    client = api_as(operator)  # a fresh JWT: the first one expired meanwhile
    assert_error(client.post(f"{API}/{listing.pk}/publish/", {"token": token}, format="json",
                             HTTP_IDEMPOTENCY_KEY="k2"), 400, "CONFIRMATION_EXPIRED")
    dry = account_for(operator, label="Dry", dry_run=True)
    other = ready_listing(operator)
    prepared(other, dry, status=PublicationStatus.DRY_RUN)
    body = assert_error(client.post(f"{API}/{other.pk}/confirm/"), 409, "DRY_RUN")
    assert "nothing was published" in body["error"]["message"]
    listing_services.update_listing(operator, other, price="40.00")  # still editable after a dry run


def test_schema_documents_every_answer(api_as, admin_user):
    schema = api_as(admin_user).get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    expected = {"prepare/": ("post", {"202", "400", "404", "409"}), "publication/": ("get", {"200", "404"}),
                "confirm/": ("post", {"200", "404", "409"}), "publish/": ("post", {"202", "400", "404", "409"})}
    for suffix, (method, statuses) in expected.items():
        operation = paths["/api/v1/vinted/listings/{id}/" + suffix][method]
        assert statuses <= set(operation["responses"]), (suffix, operation["responses"].keys())
    header = [p for p in paths["/api/v1/vinted/listings/{id}/publish/"]["post"]["parameters"]
              if p["in"] == "header"]
    assert header and header[0]["name"] == "Idempotency-Key" and header[0]["required"] is True
