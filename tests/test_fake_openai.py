"""The real openai SDK against FakeOpenAI: responses parse (usage included) and failures surface as SDK errors."""

import base64
import io
import json
from typing import Literal

import httpx
import openai
import pytest
from openai import OpenAI
from PIL import Image
from pydantic import BaseModel

from tests.fakes.openai_server import IMAGE_INPUT_TOKENS, FakeOpenAI

CHAT_PATH = "/v1/chat/completions"


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def sdk(fake, **options):
    # No SDK retries unless a test asks for them, so each injected failure surfaces as it is.
    return OpenAI(base_url=fake.base_url + "/v1", api_key="test", **{"max_retries": 0, **options})


def ask(client, text, **options):
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **options)


class ListingDraft(BaseModel):
    title: str
    price_eur: float
    tags: list[str]
    condition: Literal["new", "very_good", "good"]


def test_chat_completion_parses_with_usage(fake):
    completion = sdk(fake).chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "You name lo-fi mixes."},
            {"role": "user", "content": "Name a rainy-night mix"},
        ],
    )

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-4o-mini"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == "Fake reply to: Name a rainy-night mix"
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    recorded = fake.requests_to(CHAT_PATH)[0]
    assert recorded.headers["authorization"] == "Bearer test"
    assert recorded.json["messages"][1]["content"] == "Name a rainy-night mix"


def test_prompt_tokens_are_deterministic_and_grow_with_the_prompt(fake):
    client = sdk(fake)

    short = ask(client, "a" * 400).usage.prompt_tokens

    assert ask(client, "a" * 400).usage.prompt_tokens == short
    assert ask(client, "a" * 4000).usage.prompt_tokens == short + 900  # about 4 characters a token


def test_an_image_in_a_vision_request_costs_fixed_tokens_not_its_base64_length(fake):
    photo = "data:image/jpeg;base64," + "A" * 400_000
    content = [{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": photo}}]

    completion = sdk(fake).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": content}])

    assert IMAGE_INPUT_TOKENS < completion.usage.prompt_tokens < IMAGE_INPUT_TOKENS + 20


def test_chat_handler_supplies_canned_content(fake):
    fake.chat_handler = lambda request: {"title": "Rain on neon", "model": request["model"]}

    completion = ask(sdk(fake), "Title please", response_format={"type": "json_object"})

    assert json.loads(completion.choices[0].message.content) == {"title": "Rain on neon", "model": "gpt-4o-mini"}
    assert fake.requests_to(CHAT_PATH)[0].json["response_format"] == {"type": "json_object"}


def test_default_json_schema_reply_validates_against_the_schema(fake):
    completion = sdk(fake).chat.completions.parse(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Draft a listing for this jacket"}],
        response_format=ListingDraft,
    )

    draft = completion.choices[0].message.parsed
    assert isinstance(draft, ListingDraft)
    assert draft.condition == "new"
    assert fake.requests_to(CHAT_PATH)[0].json["response_format"]["type"] == "json_schema"


def test_image_generation_returns_a_png_of_the_requested_size_with_usage(fake):
    result = sdk(fake).images.generate(
        model="gpt-image-1", prompt="cozy rainy window, lo-fi", size="1536x1024", quality="medium"
    )

    image = Image.open(io.BytesIO(base64.b64decode(result.data[0].b64_json)))
    assert (image.format, image.size) == ("PNG", (1536, 1024))
    assert result.size == "1536x1024"
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens == 1584  # 1056 for 1024x1024, scaled by area
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens


def test_an_impossible_image_size_is_a_bad_request(fake):
    with pytest.raises(openai.BadRequestError) as failure:
        sdk(fake).images.generate(model="gpt-image-1", prompt="x", size="9999x9999")

    assert failure.value.status_code == 400
    assert failure.value.param == "size"


def test_server_error_surfaces_as_internal_server_error(fake):
    fake.fail_next(1, status=500)
    client = sdk(fake)

    with pytest.raises(openai.InternalServerError) as failure:
        ask(client, "hello")

    assert failure.value.status_code == 500
    assert ask(client, "hello").choices[0].message.content == "Fake reply to: hello"


def test_rate_limit_surfaces_with_retry_after(fake):
    fake.rate_limit_next(1, retry_after=7)

    with pytest.raises(openai.RateLimitError) as failure:
        ask(sdk(fake), "hello")

    assert failure.value.status_code == 429
    assert failure.value.code == "rate_limit_exceeded"
    assert failure.value.response.headers["retry-after"] == "7"


def test_sdk_retries_after_the_rate_limit_delay(fake):
    fake.rate_limit_next(1, retry_after=0.05)

    completion = ask(sdk(fake, max_retries=1), "hello")

    assert completion.choices[0].message.content == "Fake reply to: hello"
    attempts = fake.requests_to(CHAT_PATH)
    assert [request.headers["x-stainless-retry-count"] for request in attempts] == ["0", "1"]


def test_hanging_server_surfaces_as_timeout(fake):
    fake.hang_next(1, seconds=10)

    with pytest.raises(openai.APITimeoutError):
        ask(sdk(fake, timeout=0.3), "hello")


def test_requests_without_an_api_key_are_refused(fake):
    response = httpx.post(
        fake.base_url + CHAT_PATH, json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_reply_next_scripts_the_next_answers_in_order_before_the_handler(fake):
    fake.chat_handler = lambda request: {"from": "handler"}
    fake.reply_next({"title": "first"}, "{not json")
    client = sdk(fake)
    first = ask(client, "one", response_format={"type": "json_object"})
    second = ask(client, "two")
    third = ask(client, "three")
    assert json.loads(first.choices[0].message.content) == {"title": "first"}
    assert second.choices[0].message.content == "{not json"  # a string is sent as it is
    assert json.loads(third.choices[0].message.content) == {"from": "handler"}
    assert first.usage.completion_tokens > 0 and first.usage.prompt_tokens > 0
