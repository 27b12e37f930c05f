"""The AI gateway against a local OpenAI-compatible server (the real SDK, real HTTP)."""

import io
import json
import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from PIL import Image

from monitoring import ai
from monitoring.ai import AIError, AITransientError, AIUnavailable, BudgetExceeded
from monitoring.jobs import TransientError
from monitoring.models import AIUsage, CircuitBreaker, Event
from tests.factories import AIUsageFactory
from tests.fakes.openai_server import IMAGE_OUTPUT_TOKENS, estimate_prompt_tokens
from tests.helpers import API_PERSONAS

pytestmark = pytest.mark.django_db

PRICES = {
    "chat-test": {"input_per_million": 2.0, "output_per_million": 8.0},
    "gpt-image-1": {"input_per_million": 5.0, "output_per_million": 40.0, "per_image": 0.063},
    "default": {"input_per_million": 1.0, "output_per_million": 1.0, "per_image": 0.08},
}
MESSAGES = [{"role": "user", "content": "Suggest a title for a rainy lo-fi mix as JSON."}]


@pytest.fixture
def prices(settings):
    settings.AI_PRICES = PRICES
    settings.OPENAI_CHAT_MODEL = "chat-test"
    settings.AI_MONTHLY_BUDGET_USD = 20.0


def spend(user, amount, when=None):
    return AIUsageFactory(user=user, model="chat-test", request_type="seed", cost_usd=Decimal(amount), created_at=when)


def test_chat_json_returns_the_json_and_records_tokens_and_cost(fake_openai, prices, operator):
    fake_openai.chat_handler = lambda request: {"title": "Rainy window", "tags": ["lofi", "rain"]}
    result = ai.chat_json(user=operator, request_type="pipeline.metadata", messages=MESSAGES, max_tokens=300)
    assert result == {"title": "Rainy window", "tags": ["lofi", "rain"]}

    (sent,) = fake_openai.requests_to("/v1/chat/completions")
    headers = {name.lower(): value for name, value in sent.headers.items()}
    assert headers["authorization"] == "Bearer sk-test-0123456789"
    assert sent.json["model"] == "chat-test"
    assert sent.json["response_format"] == {"type": "json_object"}
    assert sent.json["max_completion_tokens"] == 300

    usage = AIUsage.objects.get()
    prompt = estimate_prompt_tokens(sent.json["messages"])
    completion = math.ceil(len(json.dumps(result)) / 4)
    assert (usage.prompt_tokens, usage.completion_tokens) == (prompt, completion)
    expected = (Decimal(prompt) * 2 + Decimal(completion) * 8) / 1_000_000
    assert usage.cost_usd == expected.quantize(Decimal("0.000001"))
    assert usage.cost_usd > 0
    assert (usage.user, usage.request_type, usage.model, usage.success) == (operator, "pipeline.metadata",
                                                                           "chat-test", True)
    assert usage.latency_ms >= 0 and usage.error == ""


def test_json_object_mode_mentions_json_when_the_caller_did_not(fake_openai, prices, operator):
    ai.chat_json(user=operator, request_type="t", messages=[{"role": "user", "content": "Name a colour."}])
    sent = fake_openai.requests_to("/v1/chat/completions")[0].json["messages"]
    assert sent[0]["role"] == "system" and "JSON" in sent[0]["content"]


def test_json_schema_response_format(fake_openai, prices, operator):
    schema = {"type": "object", "properties": {"title": {"type": "string", "minLength": 6}}, "required": ["title"]}
    result = ai.chat_json(user=operator, request_type="pipeline.metadata", messages=MESSAGES, json_schema=schema)
    assert result == {"title": "xxxxxx"}
    fmt = fake_openai.requests[0].json["response_format"]
    assert fmt == {"type": "json_schema", "json_schema": {"name": "pipeline_metadata", "schema": schema}}


def test_invalid_json_is_an_error_but_the_spend_is_recorded(fake_openai, prices, operator):
    fake_openai.chat_handler = lambda request: "Sure! Here is your title: Rainy window"
    with pytest.raises(AIError, match="not usable JSON") as caught:
        ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
    assert not isinstance(caught.value, TransientError)
    usage = AIUsage.objects.get()
    assert usage.success is False and "Invalid JSON" in usage.error
    assert usage.cost_usd > 0  # the tokens were billed all the same


def test_vision_json_sends_images_as_data_urls(fake_openai, prices, operator):
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, format="PNG")
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(jpeg, format="JPEG")
    result = ai.vision_json(user=operator, request_type="vinted.draft", prompt="Describe this item as JSON.",
                            images=[png.getvalue(), jpeg.getvalue()], model="chat-test")
    assert result == {"result": "fake"}
    content = fake_openai.requests[0].json["messages"][-1]["content"]
    urls = [part["image_url"]["url"] for part in content if part["type"] == "image_url"]
    assert urls[0].startswith("data:image/png;base64,") and urls[1].startswith("data:image/jpeg;base64,")
    usage = AIUsage.objects.get()
    assert usage.images == 2 and usage.prompt_tokens > 2 * 765


def test_generate_image_returns_png_and_prices_reported_tokens(fake_openai, prices, operator):
    png = ai.generate_image(user=operator, request_type="pipeline.cover", prompt="a cat by a rainy window")
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (1536, 1024))
    sent = fake_openai.requests_to("/v1/images/generations")[0].json
    assert (sent["model"], sent["size"], sent["output_format"]) == ("gpt-image-1", "1536x1024", "png")
    usage = AIUsage.objects.get()
    output_tokens = round(IMAGE_OUTPUT_TOKENS["medium"] * 1536 * 1024 / (1024 * 1024))
    assert usage.images == 1 and usage.completion_tokens == output_tokens
    expected = (Decimal(usage.prompt_tokens) * 5 + Decimal(output_tokens) * 40) / 1_000_000
    assert usage.cost_usd == expected.quantize(Decimal("0.000001"))


def test_image_model_without_usage_costs_per_image(fake_openai, prices, operator):
    ai.generate_image(user=operator, request_type="pipeline.cover", prompt="rain", size="1024x1024",
                      model="dall-e-3")
    assert fake_openai.requests[0].json["response_format"] == "b64_json"
    assert AIUsage.objects.get().cost_usd == Decimal("0.080000")  # the default row's per_image


def test_dated_model_names_use_their_base_price(settings):
    settings.AI_PRICES = {**PRICES, "chat-test-mini": {"input_per_million": 100.0, "output_per_million": 0}}
    assert ai.cost_usd("chat-test-2024-07-18", prompt_tokens=1_000_000) == Decimal("2.000000")
    assert ai.cost_usd("chat-test-mini-2025-01-01", prompt_tokens=1_000_000) == Decimal("100.000000")
    assert ai.cost_usd("unknown", prompt_tokens=1_000_000) == Decimal("1.000000")


def test_budget_is_checked_before_the_call(fake_openai, prices, operator, django_capture_on_commit_callbacks):
    spend(operator, "20.00")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(BudgetExceeded) as caught:
            ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
        with pytest.raises(BudgetExceeded):
            ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
    assert "spent 20.00 of 20.00 USD this month" in str(caught.value)
    assert fake_openai.requests == []  # nothing was sent
    assert AIUsage.objects.count() == 1  # only the seed row
    assert Event.objects.filter(kind="budget.exceeded", user=operator).count() == 1  # once per month


def test_personal_budget_overrides_the_default(fake_openai, prices, operator, other_operator):
    operator.ai_monthly_budget_usd = Decimal("5.00")
    operator.save()
    spend(operator, "4.99")
    ai.chat_json(user=operator, request_type="t", messages=MESSAGES)  # still under
    spend(operator, "0.02")
    with pytest.raises(BudgetExceeded, match="of 5.00 USD"):
        ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
    spend(other_operator, "4.99")
    ai.chat_json(user=other_operator, request_type="t", messages=MESSAGES)  # default budget of 20


def test_last_months_spend_does_not_count(fake_openai, prices, operator):
    spend(operator, "50.00", when=ai.month_start() - timedelta(days=1))
    ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
    assert ai.month_spend(operator) < Decimal("1")


def test_no_key_means_unavailable_and_nothing_recorded(fake_openai, prices, operator, settings):
    settings.OPENAI_API_KEY = ""  # the fake is running, but no key is configured
    assert ai.ai_enabled() is False
    with pytest.raises(AIUnavailable):
        ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
    with pytest.raises(AIUnavailable):
        ai.generate_image(user=operator, request_type="t", prompt="x")
    assert fake_openai.requests == [] and not AIUsage.objects.exists()


def test_server_error_is_transient_recorded_and_trips_the_breaker(fake_openai, prices, operator):
    fake_openai.fail_next(2, status=500)
    with pytest.raises(AITransientError, match="500") as caught:
        ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
    assert isinstance(caught.value, TransientError)
    usage = AIUsage.objects.get()
    assert usage.success is False and "500" in usage.error and usage.cost_usd == 0
    assert CircuitBreaker.objects.get(name="openai").failure_count == 1

    with pytest.raises(AITransientError):
        ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
    assert CircuitBreaker.objects.get(name="openai").state == "open"  # threshold 2 in the test settings

    sent = len(fake_openai.requests)
    with pytest.raises(AITransientError, match="paused") as caught:
        ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
    assert len(fake_openai.requests) == sent  # the open breaker sent nothing
    assert AIUsage.objects.count() == 2
    assert caught.value.retry_after > 50


def test_rate_limit_carries_retry_after(fake_openai, prices, operator):
    fake_openai.rate_limit_next(retry_after=7)
    with pytest.raises(AITransientError) as caught:
        ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
    assert caught.value.retry_after == 7
    assert "429" in AIUsage.objects.get().error


def test_client_errors_are_permanent_and_do_not_trip_the_breaker(fake_openai, prices, operator):
    for _ in range(3):
        with pytest.raises(AIError, match="refused the request \\(400\\)") as caught:
            ai.generate_image(user=operator, request_type="t", prompt="x", size="8x8")
        assert not isinstance(caught.value, TransientError)
    assert AIUsage.objects.filter(success=False).count() == 3
    breaker_row = CircuitBreaker.objects.get(name="openai")
    assert breaker_row.state == "closed" and breaker_row.failure_count == 0


def test_timeout_uses_the_breaker_call_timeout(fake_openai, prices, operator, breaker_settings):
    breaker_settings.CIRCUIT_BREAKERS["openai"]["call_timeout"] = 0.3
    fake_openai.hang_next(seconds=5)
    with pytest.raises(AITransientError, match="within 0.3 s"):
        ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
    usage = AIUsage.objects.get()
    assert usage.success is False and 250 <= usage.latency_ms < 3000


def test_error_texts_never_hold_the_key(fake_openai, prices, operator, breaker_settings):
    breaker_settings.OPENAI_API_KEY = "sk-secret-key-abc"
    fake_openai.chat_handler = lambda request: "broken json sk-secret-key-abc"
    with pytest.raises(AIError):
        ai.chat_json(user=operator, request_type="t", messages=MESSAGES)
    assert "sk-secret" not in AIUsage.objects.get().error


def test_month_spend_and_summaries(prices, operator, other_operator, admin_user):
    spend(operator, "1.50")
    spend(operator, "0.50")
    spend(other_operator, "3.00")
    spend(None, "0.25")
    assert ai.month_spend(operator) == Decimal("2.00")
    assert ai.month_spend() == Decimal("5.25")
    assert {row["username"] for row in ai.spend_by_user(operator)} == {"otto"}
    everyone = {row["username"]: row for row in ai.spend_by_user(admin_user)}
    assert set(everyone) == {"otto", "oona", "system"}
    assert everyone["oona"]["cost_usd"] == Decimal("3.00") and everyone["oona"]["percent_used"] == 15
    summary = ai.budget_summary(operator)
    assert (summary["spent_usd"], summary["budget_usd"], summary["remaining_usd"]) == (
        Decimal("2.00"), Decimal("20.0"), Decimal("18.00"))


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_usage_api_shows_own_usage_and_admins_all(api_for, api_with, personas, persona, prices):
    spend(personas["operator"], "1.00")
    spend(personas["other_operator"], "2.00")
    client = api_for(persona, using=api_with)
    response = client.get("/api/v1/ai/usage/")
    if persona == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    users = sorted(row["user"] for row in response.json()["results"])
    expected = {"viewer": [], "operator": ["otto"], "other_operator": ["oona"], "admin": ["oona", "otto"]}
    assert users == expected[persona]
    summary = client.get("/api/v1/ai/usage/summary/")
    assert summary.status_code == 200
    own = {"viewer": "0", "operator": "1", "other_operator": "2", "admin": "0"}[persona]
    assert Decimal(summary.json()["spent_usd"]) == Decimal(own)
    assert client.post("/api/v1/ai/usage/", {}, format="json").status_code == (403 if persona == "viewer" else 405)


def test_usage_api_filters(api_as, admin_user, operator, prices):
    spend(operator, "1.00")
    AIUsageFactory(user=operator, model="chat-test", request_type="vinted.draft", success=False)
    client = api_as(admin_user)
    rows = client.get("/api/v1/ai/usage/?request_type=vinted.draft").json()["results"]
    assert [row["request_type"] for row in rows] == ["vinted.draft"]
    rows = client.get("/api/v1/ai/usage/?success=false").json()["results"]
    assert [row["success"] for row in rows] == [False]
    since = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert client.get("/api/v1/ai/usage/", {"since": since}).json()["results"] == []
