"""Legal documents: seeded versions, public pages, the first-login gate (pages and API), re-acceptance."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from accounts.roles import Role
from legal import services
from legal.models import DocumentKind, LegalAcceptance, LegalDocument
from tests.api_helpers import assert_error, field_errors
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

KINDS = {"terms", "privacy", "disclaimer", "acceptable-use"}
ACCEPT_API = "/api/v1/legal/accept/"
DOCUMENTS_API = "/api/v1/legal/documents/"
GATED_API = "/api/v1/auth/sign-ins/"  # any endpoint with the default permissions


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def current_ids():
    return [doc.pk for doc in services.current_documents()]


def accept_form_data(documents, next_url=None):
    data = {f"doc_{doc.pk}": "on" for doc in documents}
    if next_url is not None:
        data["next"] = next_url
    return data


# --- seeded documents and public pages ----------------------------------------------------------------


def test_four_documents_are_seeded_at_version_1():
    docs = LegalDocument.objects.all()
    assert {doc.kind for doc in docs} == KINDS
    assert {doc.version for doc in docs} == {1}
    assert all(doc.is_required and doc.title and len(doc.body) > 300 for doc in docs)
    by_kind = {doc.kind: doc for doc in docs}
    assert by_kind["terms"].title == "Terms of service"
    # Written for this product, not boilerplate.
    disclaimer = by_kind["disclaimer"].body
    assert "at your own risk" in disclaimer.lower()
    assert "not affiliated" in disclaimer.lower()
    assert "Vinted" in disclaimer and "YouTube" in disclaimer and "OpenAI" in disclaimer
    assert "banned" in disclaimer
    assert "GDPR" in by_kind["privacy"].body and "cookie" in by_kind["privacy"].body.lower()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_public_document_pages_render_for_anonymous_visitors(kind):
    response = Client().get(f"/legal/{kind}/")
    assert response.status_code == 200
    html = response.content.decode()
    doc = LegalDocument.objects.get(kind=kind)
    assert f"<h1>{doc.title}</h1>" in html
    assert "Version 1" in html
    assert "<ul>" in html or "<p>" in html  # Markdown became HTML
    assert "**" not in html.split("<main", 1)[1]  # no raw Markdown markers left


def test_unknown_document_kind_is_a_friendly_404():
    response = Client().get("/legal/cookies-and-cream/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_document_html_is_sanitized():
    services.publish_version("terms", "Terms of service", (
        "## Heading\n\nSome **bold** text and [a link](https://example.com).\n\n"
        "<script>alert('xss')</script>\n\n"
        "<img src=x onerror=\"alert('img')\">\n\n"
        "[click me](javascript:alert('js'))\n\n"
        "<iframe src=\"https://evil.example/\"></iframe>\n\n"
        "<p onclick=\"alert('attr')\">para</p>\n"
    ))
    html = Client().get("/legal/terms/").content.decode()
    main = html.split('<main', 1)[1]
    assert "<h2>Heading</h2>" in main
    assert "<strong>bold</strong>" in main
    assert 'href="https://example.com"' in main
    assert 'rel="noopener noreferrer nofollow"' in main
    assert "alert(" not in main
    assert "<script" not in main.split("</main>")[0]
    assert "javascript:" not in main
    assert "<iframe" not in main and "onerror" not in main and "onclick" not in main
    assert "Version 2" in main


# --- the first-login gate on pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/accounts/profile/", "/accounts/password/?x=1", "/no-such-page/"])
def test_newcomer_is_sent_to_accept_from_any_page(newcomer, url):
    response = signed_in(newcomer).get(url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/legal/accept/"
    assert parse_qs(location.query)["next"] == [url]


def test_newcomer_admin_is_gated_on_the_admin_site_too():
    admin = UserFactory(role=Role.ADMIN)
    response = signed_in(admin).get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/legal/accept/")


def test_gate_leaves_documents_and_logout_reachable(newcomer):
    client = signed_in(newcomer)
    assert client.get("/legal/privacy/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_anonymous_visitors_are_not_gated():
    assert Client().get("/")["Location"].startswith("/accounts/login/")


def test_accept_page_lists_every_pending_document_with_a_checkbox(newcomer):
    response = signed_in(newcomer).get("/legal/accept/?next=/accounts/profile/")
    assert response.status_code == 200
    html = response.content.decode()
    for doc in services.current_documents():
        assert f'name="doc_{doc.pk}"' in html
        assert doc.title in html
    assert html.count('type="checkbox"') == 4
    assert 'name="next" value="/accounts/profile/"' in html


def test_accepting_requires_every_checkbox(newcomer):
    docs = services.current_documents()
    client = signed_in(newcomer)
    response = client.post("/legal/accept/", accept_form_data(docs[:3], "/accounts/profile/"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [f"doc_{docs[3].pk}"]
    assert f"You must accept the {docs[3].title} to continue." in response.content.decode()
    assert not LegalAcceptance.objects.filter(user=newcomer).exists()  # nothing half-accepted
    assert client.get("/").status_code == 302  # still gated


def test_accepting_records_who_what_where_and_follows_next(newcomer):
    client = signed_in(newcomer)
    docs = services.current_documents()
    response = client.post("/legal/accept/", accept_form_data(docs, "/accounts/profile/"),
                           REMOTE_ADDR="203.0.113.44", HTTP_USER_AGENT="Mozilla/5.0 (gate test)")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    acceptances = LegalAcceptance.objects.filter(user=newcomer)
    assert {(a.document.kind, a.document.version) for a in acceptances} == {(k, 1) for k in KINDS}
    assert {a.ip_address for a in acceptances} == {"203.0.113.44"}
    assert {a.user_agent for a in acceptances} == {"Mozilla/5.0 (gate test)"}
    assert all(a.accepted_at for a in acceptances)

    page = client.get("/accounts/profile/")
    assert page.status_code == 200
    assert "Your acceptance has been recorded" in page.content.decode()
    assert client.get("/").status_code == 200
    assert client.get("/legal/accept/")["Location"] == "/"  # nothing left to accept


def test_accepting_with_a_huge_user_agent(newcomer):
    client = signed_in(newcomer)
    response = client.post("/legal/accept/", accept_form_data(services.current_documents()),
                           HTTP_USER_AGENT="U" * 5000)
    assert response.status_code == 302
    assert {len(a.user_agent) for a in LegalAcceptance.objects.filter(user=newcomer)} == {512}


@pytest.mark.parametrize("next_url", ["https://evil.example/phish", "//evil.example/", "javascript:alert(1)",
                                      "http://testserver.evil.example/"])
def test_external_next_is_refused(newcomer, next_url):
    client = signed_in(newcomer)
    response = client.post("/legal/accept/", accept_form_data(services.current_documents(), next_url))
    assert response.status_code == 302
    assert response["Location"] == "/"
    # The same on GET when nothing is pending.
    assert client.get("/legal/accept/", {"next": next_url})["Location"] == "/"


def test_accept_page_needs_sign_in():
    response = Client().get("/legal/accept/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- new versions ------------------------------------------------------------------------------------------------


def test_publishing_a_new_version_asks_everyone_again(operator, viewer):
    old_terms = LegalDocument.objects.get(kind="terms")
    new_terms = services.publish_version("terms", "Terms of service", "New terms.\n\nRead them.")
    assert new_terms.version == 2
    old_terms.refresh_from_db()
    assert old_terms.body != "New terms.\n\nRead them."  # old versions stay as they were accepted
    assert LegalAcceptance.objects.filter(user=operator, document=old_terms).exists()

    for user in (operator, viewer):
        assert [doc.pk for doc in services.pending_documents(user)] == [new_terms.pk]
        client = signed_in(user)
        assert client.get("/")["Location"].startswith("/legal/accept/")
        page = client.get("/legal/accept/")
        assert page.content.decode().count('type="checkbox"') == 1
        assert "version 2" in page.content.decode()
        client.post("/legal/accept/", accept_form_data([new_terms]))
        assert client.get("/").status_code == 200
    assert LegalDocument.objects.current().get(kind="terms") == new_terms


def test_public_page_shows_the_newest_version():
    services.publish_version("privacy", "Privacy policy", "Version two of the **privacy** policy.")
    html = Client().get("/legal/privacy/").content.decode()
    assert "Version 2" in html
    assert "<strong>privacy</strong>" in html


def test_publishing_an_optional_document_does_not_gate(operator):
    services.publish_version("disclaimer", "Service disclaimer", "Optional now.", is_required=False)
    assert services.pending_documents(operator) == []
    assert signed_in(operator).get("/").status_code == 200


def test_admin_change_form_publishes_a_new_version(admin_user, operator):
    terms = LegalDocument.objects.get(kind="terms")
    client = signed_in(admin_user)
    form = client.get(f"/admin/legal/legaldocument/{terms.pk}/change/")
    assert form.status_code == 200
    assert "Preview" in form.content.decode()
    response = client.post(f"/admin/legal/legaldocument/{terms.pk}/change/", {
        "kind": "terms", "title": "Terms of service", "body": "## Changed\n\nWe changed the terms.",
        "is_required": "on", "_save": "Save",
    })
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    versions = list(LegalDocument.objects.filter(kind="terms").order_by("version").values_list("version", "body"))
    assert versions[0][0] == 1 and versions[0][1] == terms.body  # version 1 untouched
    assert versions[1] == (2, "## Changed\n\nWe changed the terms.")
    new = LegalDocument.objects.get(kind="terms", version=2)
    assert new.published_by == admin_user
    # Everyone, the publishing admin included, accepts again.
    assert signed_in(operator).get("/")["Location"].startswith("/legal/accept/")
    assert client.get("/")["Location"].startswith("/legal/accept/")


def test_admin_add_form_publishes_the_next_version(admin_user):
    client = signed_in(admin_user)
    response = client.post("/admin/legal/legaldocument/add/", {
        "kind": "privacy", "title": "Privacy policy", "body": "Fresh privacy text.", "is_required": "on",
        "_save": "Save",
    })
    assert response.status_code == 302
    assert LegalDocument.objects.filter(kind="privacy").count() == 2
    assert LegalDocument.objects.get(kind="privacy", version=2).body == "Fresh privacy text."


def test_admin_form_rejects_bad_input(admin_user):
    client = signed_in(admin_user)
    response = client.post("/admin/legal/legaldocument/add/", {"kind": "cookies", "title": "", "body": ""})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"kind", "title", "body"} <= set(errors)
    assert LegalDocument.objects.count() == 4


def test_documents_cannot_be_deleted_in_the_admin(admin_user):
    terms = LegalDocument.objects.get(kind="terms")
    response = signed_in(admin_user).post(f"/admin/legal/legaldocument/{terms.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert LegalDocument.objects.filter(pk=terms.pk).exists()


# --- the gate on the API ---------------------------------------------------------------------------------------------


def test_api_answers_legal_acceptance_required_with_pending_kinds(api_as, newcomer):
    body = assert_error(api_as(newcomer).get(GATED_API), 403, "LEGAL_ACCEPTANCE_REQUIRED")
    assert set(body["error"]["details"]["pending"]) == KINDS
    assert "/api/v1/legal/accept/" in body["error"]["message"]


def test_api_documents_and_accept_work_before_acceptance(api_as, newcomer):
    client = api_as(newcomer)
    me = client.get("/api/v1/auth/me/")
    assert me.status_code == 200  # clients can read who they are

    listing = client.get(DOCUMENTS_API)
    assert listing.status_code == 200
    docs = listing.json()
    assert {doc["kind"] for doc in docs} == KINDS
    assert not any(doc["accepted"] for doc in docs)
    assert all(doc["html"] and doc["version"] == 1 for doc in docs)

    terms = next(doc for doc in docs if doc["kind"] == "terms")
    partial = client.post(ACCEPT_API, {"documents": [terms["id"]]}, format="json",
                          REMOTE_ADDR="198.51.100.5", HTTP_USER_AGENT="lofi-cli/2.0")
    assert partial.status_code == 200, partial.content
    assert set(partial.json()["pending"]) == KINDS - {"terms"}
    body = assert_error(client.get(GATED_API), 403, "LEGAL_ACCEPTANCE_REQUIRED")
    assert set(body["error"]["details"]["pending"]) == KINDS - {"terms"}

    done = client.post(ACCEPT_API, {"documents": [doc["id"] for doc in docs]}, format="json")
    assert done.status_code == 200
    assert done.json()["pending"] == []
    assert all(doc["accepted"] for doc in done.json()["documents"])
    assert client.get(GATED_API).status_code == 200

    acceptance = LegalAcceptance.objects.get(user=newcomer, document__kind="terms")
    assert acceptance.ip_address == "198.51.100.5"
    assert acceptance.user_agent == "lofi-cli/2.0"
    assert LegalAcceptance.objects.filter(user=newcomer).count() == 4  # accepting twice adds nothing


def test_viewer_newcomer_may_accept_through_the_api(api_as):
    viewer = UserFactory(role=Role.VIEWER)
    client = api_as(viewer)
    response = client.post(ACCEPT_API, {"documents": current_ids()}, format="json")
    assert response.status_code == 200, response.content
    assert client.get(GATED_API).status_code == 200


def test_api_gate_returns_after_a_new_version(api_as, operator):
    client = api_as(operator)
    assert client.get(GATED_API).status_code == 200
    services.publish_version("acceptable-use", "Acceptable-use policy", "Be nice.")
    body = assert_error(client.get(GATED_API), 403, "LEGAL_ACCEPTANCE_REQUIRED")
    assert body["error"]["details"]["pending"] == ["acceptable-use"]


def test_accept_api_needs_authentication(api):
    assert_error(api.post(ACCEPT_API, {"documents": current_ids()}, format="json"), 401, "NOT_AUTHENTICATED")
    assert_error(api.get(DOCUMENTS_API), 401, "NOT_AUTHENTICATED")


@pytest.mark.parametrize("payload", [
    {},
    {"documents": []},
    {"documents": [999999]},
    {"documents": ["abc"]},
    {"documents": "1"},
    {"documents": [0]},
    {"documents": [-1]},
    {"documents": [None]},
    {"documents": [[1]]},
    {"documents": list(range(1, 10_001))},
    {"documents": [1.5]},
])
def test_accept_api_bad_input_is_a_field_error(api_as, newcomer, payload):
    response = api_as(newcomer).post(ACCEPT_API, payload, format="json")
    errors = field_errors(response)
    assert list(errors) == ["documents"], errors
    assert not LegalAcceptance.objects.filter(user=newcomer).exists()


def test_accept_api_refuses_an_old_version(api_as, operator):
    old = LegalDocument.objects.get(kind="terms")
    services.publish_version("terms", "Terms of service", "v2")
    errors = field_errors(api_as(operator).post(ACCEPT_API, {"documents": [old.pk]}, format="json"))
    assert "Not a current document version" in str(errors["documents"])


def test_accept_api_with_non_object_body(api_as, newcomer):
    response = api_as(newcomer).post(ACCEPT_API, [1, 2], format="json")
    assert_error(response, 400, "VALIDATION_ERROR")
    response = api_as(newcomer).post(ACCEPT_API, "{broken", content_type="application/json")
    assert_error(response, 400, "PARSE_ERROR")


# --- who accepted: admins only -------------------------------------------------------------------------------------


def test_admins_see_acceptances_through_the_api(api_as, admin_user, operator):
    response = api_as(admin_user).get("/api/v1/legal/acceptances/?limit=100")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {row["username"] for row in rows} == {"ada", "otto"}
    row = next(r for r in rows if r["username"] == "otto" and r["kind"] == "terms")
    assert row["version"] == 1
    assert row["ip_address"] == "127.0.0.1" and row["user_agent"] == "pytest"
    assert row["accepted_at"]


@pytest.mark.parametrize("persona", ["operator", "viewer"])
def test_others_get_403_on_acceptances(request, api_as, persona):
    user = request.getfixturevalue(persona)
    assert_error(api_as(user).get("/api/v1/legal/acceptances/"), 403, "PERMISSION_DENIED")
    assert signed_in(user).get("/admin/legal/legalacceptance/").status_code == 403


def test_admins_see_acceptances_in_the_admin(admin_user, operator):
    client = signed_in(admin_user)
    page = client.get("/admin/legal/legalacceptance/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "otto" in html and "127.0.0.1" in html
    acceptance = LegalAcceptance.objects.filter(user=operator).first()
    detail = client.get(f"/admin/legal/legalacceptance/{acceptance.pk}/change/")
    assert detail.status_code == 200
    assert "pytest" in detail.content.decode()
    # Records cannot be forged or removed.
    assert client.get("/admin/legal/legalacceptance/add/").status_code == 403
    assert client.post(f"/admin/legal/legalacceptance/{acceptance.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LegalAcceptance.objects.filter(pk=acceptance.pk).exists()


def test_document_kinds_match_the_seed_files():
    assert {kind.value for kind in DocumentKind} == KINDS
    assert all((services.SEED_DIR / f"{kind}.md").exists() for kind in KINDS)
    first_line = (services.SEED_DIR / "terms.md").read_text().splitlines()[0]
    assert re.match(r"# Terms of service", first_line)
