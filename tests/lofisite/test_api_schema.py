"""The OpenAPI schema tells the truth: every error answer documented with the one envelope,
declared types that match what the API sends and accepts, server-side choices as enums.

bin/schema-fuzz (run by .ci/run) checks the same against a live server with schemathesis."""

import pytest

from monitoring.models import AIUsage
from pipeline.choices import RunStatus
from pipeline.engines.presets import PRESETS
from tests.api_helpers import assert_error, field_errors
from tests.factories import accept_all_documents

pytestmark = pytest.mark.django_db
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(api_as, admin_user):
    response = api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def component(schema, name):
    return schema["components"]["schemas"][name]


def test_every_operation_documents_its_error_answers_with_the_envelope(schema):
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert set(component(schema, "ErrorEnvelope")["required"]) == {"error", "request_id"}
    seen = 0
    for path, method, operation in operations(schema):
        expected = {"401", "403", "406", "429"}
        if "{" in path:
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"400", "413", "415"}
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            expected.add("400")
        for status in expected:
            response = operation["responses"].get(status)
            assert response, (method, path, status)
            assert response["content"]["application/json"]["schema"] == envelope, (method, path, status)
        seen += 1
    assert seen >= 40


def test_declared_types_match_what_the_api_answers(schema):
    assert component(schema, "CircuitBreaker")["properties"]["updated_at"]["nullable"] is True
    assert "format" not in component(schema, "User")["properties"]["email"]
    assert "format" not in component(schema, "Video")["properties"]["youtube_url"]
    documents = schema["paths"]["/api/v1/legal/documents/"]["get"]["responses"]["200"]["content"]
    assert documents["application/json"]["schema"]["type"] == "array"
    accept = schema["paths"]["/api/v1/legal/accept/"]["post"]["responses"]["200"]["content"]
    assert accept["application/json"]["schema"] == {"$ref": "#/components/schemas/AcceptResult"}
    assert set(component(schema, "AcceptResult")["properties"]) == {"documents", "pending"}


def test_presets_are_an_enum(schema):
    assert component(schema, "PresetEnum")["enum"] == list(PRESETS)
    for name in ("RunCreateRequest", "ScheduleRequest"):
        assert component(schema, name)["properties"]["preset"]["allOf"] == [
            {"$ref": "#/components/schemas/PresetEnum"}]


def test_pagination_and_empty_filters_are_declared(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/pipeline/runs/"]["get"]["parameters"]}
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1}
    assert parameters["offset"]["schema"] == {"type": "integer", "minimum": 0}
    status = parameters["status"]["schema"]["anyOf"]
    assert status[0] == {"type": "string", "enum": sorted(RunStatus.values)}
    assert status[1] == {"type": "string", "enum": [""]}


def test_an_empty_filter_means_no_filter(api_as, admin_user):
    body = api_as(admin_user).get("/api/v1/legal/acceptances/", {"ordering": ""}).json()
    assert body["count"] == 4
    assert api_as(admin_user).get("/api/v1/events/", {"status": "", "until": ""}).status_code == 200


# --- inputs now checked as the schema declares them --------------------------------------------------------


def test_a_number_where_the_schema_says_string_is_a_field_error(api_as, admin_user):
    # Before: {"name": 7} saved the schedule name "7" (DRF's CharField converts numbers).
    body = {"name": 7, "cron": "0 18 * * *", "timezone": "UTC", "preset": "study", "duration_s": 30}
    response = api_as(admin_user).post("/api/v1/pipeline/schedules/", body, format="json")
    assert field_errors(response) == {"name": ["Not a valid string."]}


def test_a_boolean_filter_refuses_what_is_not_a_boolean(api_as, operator):
    # Before: ?success=maybe was read as "no filter".
    AIUsage.objects.create(user=operator, model="chat-test", request_type="t", success=False)
    client = api_as(operator)
    assert list(field_errors(client.get("/api/v1/ai/usage/", {"success": "maybe"}))) == ["success"]
    assert client.get("/api/v1/ai/usage/", {"success": "false"}).json()["count"] == 1
    assert client.get("/api/v1/ai/usage/", {"success": "true"}).json()["count"] == 0


def test_the_user_filter_takes_any_id(api_as, admin_user):
    # Before: an id nobody has was a 400 "Select a valid choice" although the schema says integer.
    response = api_as(admin_user).get("/api/v1/ai/usage/", {"user": 987654})
    assert response.status_code == 200 and response.json()["count"] == 0
    assert list(field_errors(api_as(admin_user).get("/api/v1/ai/usage/", {"user": "x"}))) == ["user"]


def test_the_schema_needs_the_terms_accepted_like_every_api_answer(api_as, newcomer):
    # Before: 200 with the whole schema before the legal documents were accepted.
    client = api_as(newcomer)
    body = assert_error(client.get("/api/schema/"), 403, "LEGAL_ACCEPTANCE_REQUIRED")
    assert body["error"]["details"]["pending"]
    accept_all_documents(newcomer)
    assert client.get("/api/schema/").status_code == 200


def test_bodies_are_json_and_multipart_only_where_files_are_uploaded(schema):
    content = {(method, path): list(op["requestBody"]["content"]) for path, method, op in operations(schema)
               if "requestBody" in op}
    assert content[("patch", "/api/v1/users/{id}/")] == ["application/json"]
    assert content[("post", "/api/v1/pipeline/runs/")] == ["application/json", "multipart/form-data"]
    assert content[("post", "/api/v1/pipeline/tracks/")] == ["multipart/form-data"]


def test_text_patterns_say_what_drf_refuses(schema, api_as, admin_user):
    import re

    name = re.compile(component(schema, "ScheduleRequest")["properties"]["name"]["pattern"])
    description = re.compile(component(schema, "PatchedVideoMetadataRequest")["properties"]["description"]["pattern"])
    assert name.match("Evening mix") and description.match("") and description.match("  ")
    assert not name.match("   ") and not name.match("a\x00b") and not description.match("\x00")
    body = {"name": "   ", "cron": "0 18 * * *", "timezone": "UTC", "preset": "study", "duration_s": 30}
    assert list(field_errors(api_as(admin_user).post("/api/v1/pipeline/schedules/", body, format="json"))) == [
        "name"]
