"""A local OpenAI-compatible server for tests and demos.

It answers ``POST /v1/chat/completions`` and ``POST /v1/images/generations``
with real-shaped JSON (including ``usage``), so the real ``openai`` SDK runs
unchanged against it::

    with FakeOpenAI() as fake:
        client = OpenAI(base_url=fake.base_url + "/v1", api_key="test")

Chat content comes first from the replies queued with ``fake.reply_next(content)``
(one per request, in order: a string is sent as it is, so a test can script
malformed JSON; anything else is sent as JSON), then from
``fake.chat_handler(request_json)`` when set (return a string, or anything
JSON-serialisable); by default it is a short echo, or, when ``response_format``
asks for JSON, a JSON value that fits the schema.
Token counts are deterministic estimates from the request size.

Failure injection: ``fail_next`` (5xx), ``rate_limit_next`` (429 with
Retry-After), ``hang_next`` (answer only after a delay, to trip client timeouts).

Standalone for manual demos: ``python -m tests.fakes.openai_server --port 8766``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Self
from urllib.parse import urlsplit

from PIL import Image

from tests.fakes._server import FakeHTTPServer, FakeService

# An image in a vision request costs a fixed number of tokens, not its base64 length
# (765 is what a 1024x1024 high-detail image costs on OpenAI's published scale).
IMAGE_INPUT_TOKENS = 765
# gpt-image-1 output tokens for a 1024x1024 image; other sizes scale with area.
IMAGE_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
MAX_IMAGE_PIXELS = 3840 * 2160
IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any


@dataclass(frozen=True)
class _Failure:
    status: int | None = None  # None: answer normally, after the delay
    retry_after: float | None = None
    delay: float = 0.0


class FakeOpenAI(FakeService):
    thread_name = "FakeOpenAI"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.chat_handler: Callable[[dict[str, Any]], Any] | None = None
        self._replies: deque[Any] = deque()
        self.requests: list[RecordedRequest] = []
        self._failures: deque[_Failure] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()  # set by stop() so hung requests end at once

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> Self:
        self._released.clear()
        return super().start()

    def before_stop(self) -> None:
        self._released.set()

    # -- failure injection -------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """The next ``count`` API requests are answered with ``status`` and OpenAI's error JSON."""
        self._queue(count, _Failure(status=status))

    def rate_limit_next(self, count: int = 1, retry_after: float = 1.0) -> None:
        """The next ``count`` API requests are answered 429 with ``Retry-After: retry_after`` seconds."""
        self._queue(count, _Failure(status=429, retry_after=retry_after))

    def hang_next(self, count: int = 1, seconds: float = 30.0) -> None:
        """The next ``count`` API requests are answered only after ``seconds`` (or when the fake stops)."""
        self._queue(count, _Failure(delay=seconds))

    # -- scripted answers --------------------------------------------------

    def reply_next(self, *contents: Any) -> None:
        """The next chat completions answer with these contents, one each, in order (before chat_handler)."""
        with self._lock:
            self._replies.extend(contents)

    def _next_reply(self) -> tuple[bool, Any]:
        with self._lock:
            return (True, self._replies.popleft()) if self._replies else (False, None)

    def _queue(self, count: int, failure: _Failure) -> None:
        with self._lock:
            self._failures.extend([failure] * count)

    def _next_failure(self) -> _Failure | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    # -- inspection --------------------------------------------------------

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: tests assert on ``fake.requests`` instead."""

    def do_POST(self) -> None:
        fake = self.server.fake
        path = urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake._lock:
            fake.requests.append(RecordedRequest("POST", path, headers, body))

        routes = {"/v1/chat/completions": _chat_completion, "/v1/images/generations": _image_generation}
        if path not in routes:
            return self._error(404, f"Unknown request URL: POST {path}.", "invalid_request_error", "unknown_url")
        authorization = self.headers.get("Authorization", "")
        if not (authorization.startswith("Bearer ") and authorization.removeprefix("Bearer ").strip()):
            return self._error(
                401,
                "You didn't provide an API key. Provide it in the Authorization header (Bearer auth).",
                "invalid_request_error",
                "invalid_api_key",
            )
        failure = fake._next_failure()
        if failure is not None:
            fake._released.wait(failure.delay)
            if failure.status == 429:
                return self._error(
                    429,
                    "Rate limit reached for requests. Please try again later.",
                    "requests",
                    "rate_limit_exceeded",
                    headers={"Retry-After": f"{failure.retry_after:g}"},
                )
            if failure.status is not None:
                return self._error(
                    failure.status,
                    "The server had an error while processing your request. Sorry about that!",
                    "server_error",
                    None,
                )
        if not isinstance(body, dict):
            return self._error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
        try:
            payload = routes[path](fake, body)
        except _BadRequest as exc:
            return self._error(400, str(exc), "invalid_request_error", None, param=exc.param)
        self._send_json(200, payload)

    def _error(
        self,
        status: int,
        message: str,
        kind: str,
        code: str | None,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        error = {"message": message, "type": kind, "param": param, "code": code}
        self._send_json(status, {"error": error}, headers)

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req_{secrets.token_hex(16)}")
        # One request per connection: nothing lingers once stop() returns.
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class _BadRequest(ValueError):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


# -- chat completions ------------------------------------------------------


def _chat_completion(fake: FakeOpenAI, request: dict[str, Any]) -> dict[str, Any]:
    if not request.get("model"):
        raise _BadRequest("you must provide a model parameter", "model")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest("'messages' must be a non-empty array", "messages")
    if request.get("stream"):
        raise _BadRequest("The fake does not implement streaming.", "stream")
    scripted, content = fake._next_reply()
    if not scripted:
        content = fake.chat_handler(request) if fake.chat_handler else default_chat_content(request)
    if not isinstance(content, str):
        content = json.dumps(content)
    prompt_tokens = estimate_prompt_tokens(messages)
    completion_tokens = _text_tokens(content)
    return {
        "id": f"chatcmpl-{secrets.token_urlsafe(18)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    }


def default_chat_content(request: dict[str, Any]) -> str:
    """A JSON value fitting the requested schema, ``{}``-style JSON, or an echo of the prompt."""
    response_format = request.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema", {}).get("schema", {})
        return json.dumps(example_for_schema(schema, schema))
    if response_format.get("type") == "json_object":
        return json.dumps({"result": "fake"})
    return f"Fake reply to: {_last_user_text(request['messages'])[:200]}"


def example_for_schema(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """The simplest value that validates against a JSON schema (as the SDK's pydantic helpers write them)."""
    if "$ref" in schema:
        target: Any = root
        for key in schema["$ref"].removeprefix("#/").split("/"):
            target = target[key]
        return example_for_schema(target, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return example_for_schema(schema[combinator][0], root)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {name: example_for_schema(sub, root) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example_for_schema(schema.get("items", {}), root) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "x" * max(schema.get("minLength", 0), 4)


def estimate_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Deterministic token estimate: about 4 characters a token plus OpenAI's per-message overhead."""
    tokens = 3  # every reply is primed with a few tokens
    for message in messages:
        tokens += 4
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        for part in parts:
            if part.get("type") == "text":
                tokens += _text_tokens(part.get("text", ""))
            elif part.get("type") == "image_url":
                tokens += IMAGE_INPUT_TOKENS
    return tokens


def _text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return " ".join(part.get("text", "") for part in content or [] if part.get("type") == "text")
    return ""


# -- image generations -----------------------------------------------------


def _image_generation(fake: FakeOpenAI, request: dict[str, Any]) -> dict[str, Any]:
    prompt = request.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _BadRequest("'prompt' is required", "prompt")
    size = request.get("size") or "auto"
    match = re.fullmatch(r"(\d+)x(\d+)", "1024x1024" if size == "auto" else size)
    if not match:
        raise _BadRequest(f"Invalid size {size!r}: expected WIDTHxHEIGHT or 'auto'.", "size")
    width, height = int(match.group(1)), int(match.group(2))
    if not (16 <= width <= 3840 and 16 <= height <= 3840 and width * height <= MAX_IMAGE_PIXELS):
        raise _BadRequest(f"Invalid size {size!r}: at most 3840x2160 pixels.", "size")
    output_format = request.get("output_format") or "png"
    if output_format not in IMAGE_FORMATS:
        raise _BadRequest(f"Invalid output_format {output_format!r}.", "output_format")
    count = int(request.get("n") or 1)
    if not 1 <= count <= 10:
        raise _BadRequest("'n' must be between 1 and 10.", "n")
    quality = request.get("quality") or "auto"
    quality = quality if quality in IMAGE_OUTPUT_TOKENS else "medium"
    model = request.get("model") or "gpt-image-1"

    image = _b64_image(prompt, width, height, IMAGE_FORMATS[output_format])
    response: dict[str, Any] = {
        "created": int(time.time()),
        "data": [{"b64_json": image} for _ in range(count)],
        "background": "opaque",
        "output_format": output_format,
        "quality": quality,
        "size": f"{width}x{height}",
    }
    # Only the GPT image models report token usage; DALL-E never did.
    if model.startswith("gpt-image"):
        input_tokens = _text_tokens(prompt)
        output_tokens = count * round(IMAGE_OUTPUT_TOKENS[quality] * width * height / (1024 * 1024))
        response["usage"] = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"text_tokens": input_tokens, "image_tokens": 0},
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
    return response


def _b64_image(prompt: str, width: int, height: int, pil_format: str) -> str:
    """A real image of the requested size: a gradient in a colour derived from the prompt."""
    colour = tuple(hashlib.sha256(prompt.encode()).digest()[:3])
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(Image.new("RGB", (width, height), colour), Image.new("RGB", (width, height)), gradient)
    buffer = io.BytesIO()
    image.save(buffer, format=pil_format)
    return base64.b64encode(buffer.getvalue()).decode()


def main(argv: list[str] | None = None) -> None:
    FakeOpenAI.run_demo(
        argv, description="Run the fake OpenAI API for manual demos.", port=8766, describe=lambda fake: [
            f"Fake OpenAI listening on {fake.base_url}; set OPENAI_BASE_URL={fake.base_url}/v1 (Ctrl-C to stop)"])


FakeOpenAI.handler_class = _Handler


if __name__ == "__main__":
    main()
