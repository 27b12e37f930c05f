"""The AI gateway: the only module that imports the OpenAI SDK.

Why one ~400-line module: it is the single door to the SDK (breaker, budget check, cost
ledger, usage rows and the offline fallbacks), and one door is the point.

    if ai_enabled():
        try:
            draft = vision_json(user=request.user, request_type="vinted.draft", prompt=..., images=[jpeg_bytes])
        except AIError as exc:   # every gateway error is an AIError
            ...
    else:
        ...  # the honest offline fallback

Order of a call: no key -> `AIUnavailable` (nothing recorded); monthly budget
reached -> `BudgetExceeded` (nothing sent; one warning Event per person and
month); breaker "openai" open -> `AITransientError` (nothing sent, nothing
recorded); then the request, with the breaker's timeout and no SDK retries
(retries belong to the job wrapper). Every request that was sent records one
`AIUsage` row, success or failure, with tokens, cost and latency.

Errors: `AITransientError` (timeouts, connection errors, 429, 5xx, breaker
open) is also a `monitoring.jobs.TransientError`, so jobs back off and retry;
other 4xx answers and unusable answers (invalid JSON) raise a plain `AIError`.

Budgets: per person per calendar month (TIME_ZONE), `user.ai_monthly_budget_usd`
or AI_MONTHLY_BUDGET_USD. Calls without a user (system work) share one budget
of AI_MONTHLY_BUDGET_USD. The check is made before the call, so concurrent
calls can overshoot by at most their own cost.

Cost comes from settings.AI_PRICES (USD per 1M input/output tokens, per image;
a dated model name such as gpt-4o-mini-2024-07-18 uses its base entry, unknown
models the "default" entry). Images are priced by their reported tokens when
the API reports usage (gpt-image-*), else by `per_image`.

Don't call the gateway inside a database transaction: a rollback would erase
the ledger row of money already spent.
"""

import base64
import binascii
import json
import logging
import math
import re
import time
from decimal import Decimal

import openai
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.roles import Action
from lofisite.cache import invalidate

from .breakers import BreakerOpen, breaker
from .events import record_event
from .jobs import TransientError
from .models import AIUsage

logger = logging.getLogger(__name__)

BREAKER_NAME = "openai"
# The home dashboard's AI figures (monitoring.dashboard), forgotten whenever a usage row or a budget changes.
DASHBOARD_NAMESPACE = "dashboard:ai"
_MILLION = Decimal(1_000_000)
_CENTS6 = Decimal("0.000001")


class AIError(Exception):
    """The AI call did not give a usable answer."""


class AIUnavailable(AIError):
    """No API key configured: use the offline fallback."""


class AITransientError(AIError, TransientError):
    """Worth retrying later: timeout, connection error, 429, 5xx, or the openai breaker is open."""


class BudgetExceeded(AIError):
    def __init__(self, spent: Decimal, budget: Decimal):
        self.spent = spent
        self.budget = budget
        super().__init__(
            f"AI budget reached: spent {spent:.2f} of {budget:.2f} USD this month. "
            "An admin can raise the budget; it resets on the 1st."
        )


def ai_enabled() -> bool:
    return bool(settings.OPENAI_API_KEY)


# --- money --------------------------------------------------------------------------------


def month_start():
    return timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def budget_for(user) -> Decimal:
    override = getattr(user, "ai_monthly_budget_usd", None) if user is not None else None
    return Decimal(override) if override is not None else Decimal(str(settings.AI_MONTHLY_BUDGET_USD))


def _this_month():
    return AIUsage.objects.filter(created_at__gte=month_start())


def month_spend(user=None) -> Decimal:
    """USD spent this month by `user`, or by everyone when user is None."""
    rows = _this_month() if user is None else _this_month().filter(user=user)
    return rows.aggregate(total=Sum("cost_usd"))["total"] or Decimal("0")


def visible_month_spend(viewer) -> Decimal:
    """USD spent this month in the calls `viewer` may see (AIUsageQuerySet: their own; admins everyone's)."""
    rows = AIUsage.objects.restrict(viewer).filter(created_at__gte=month_start())
    return rows.aggregate(total=Sum("cost_usd"))["total"] or Decimal("0")


def _budget_spend(user) -> Decimal:
    # The budget pool of a call: the person's own, or the shared one of user-less calls.
    rows = _this_month().filter(user__isnull=True) if user is None else _this_month().filter(user=user)
    return rows.aggregate(total=Sum("cost_usd"))["total"] or Decimal("0")


def price_for(model: str) -> dict:
    prices = settings.AI_PRICES
    if model in prices:
        return prices[model]
    # Dated snapshots ("gpt-4o-mini-2024-07-18") cost what their base model costs.
    bases = [key for key in prices if key != "default" and model.startswith(key + "-")]
    return prices[max(bases, key=len)] if bases else prices.get("default", {})


def cost_usd(model: str, *, prompt_tokens: int = 0, completion_tokens: int = 0, priced_images: int = 0) -> Decimal:
    price = price_for(model)
    cost = (
        Decimal(str(price.get("input_per_million", 0))) * prompt_tokens / _MILLION
        + Decimal(str(price.get("output_per_million", 0))) * completion_tokens / _MILLION
        + Decimal(str(price.get("per_image", 0))) * priced_images
    )
    return cost.quantize(_CENTS6)


def _check_budget(user) -> None:
    spent, budget = _budget_spend(user), budget_for(user)
    if spent < budget:
        return
    who = user.get_username() if user is not None else "system calls"
    # One event per pool and month, however often it is hit.
    if cache.add(f"ai:budget-event:{getattr(user, 'pk', 'system')}:{month_start():%Y-%m}", 1, 40 * 24 * 3600):
        record_event("ai", "budget.exceeded", "warning",
                     f"AI budget reached for {who}: {spent:.2f} of {budget:.2f} USD this month.",
                     {"spent_usd": str(spent), "budget_usd": str(budget)}, user=user)
    raise BudgetExceeded(spent, budget)


# --- calls ----------------------------------------------------------------------------------


def chat_json(*, user, request_type: str, messages: list[dict], model: str | None = None,
              json_schema: dict | None = None, max_tokens: int = 800) -> dict:
    """A chat completion whose answer is one JSON object (json_schema if given, else json_object)."""
    return _chat_json(user=user, request_type=request_type, messages=list(messages),
                      model=model or settings.OPENAI_CHAT_MODEL, json_schema=json_schema,
                      max_tokens=max_tokens, images=0)


def vision_json(*, user, request_type: str, prompt: str, images: list[bytes], model: str | None = None,
                json_schema: dict | None = None, max_tokens: int = 800) -> dict:
    """Like chat_json, with images (JPEG/PNG/WebP/GIF bytes) sent inline as data: URLs."""
    content = [{"type": "text", "text": prompt}]
    content += [{"type": "image_url", "image_url": {"url": _data_url(image)}} for image in images]
    return _chat_json(user=user, request_type=request_type, messages=[{"role": "user", "content": content}],
                      model=model or settings.OPENAI_VISION_MODEL, json_schema=json_schema,
                      max_tokens=max_tokens, images=len(images))


def generate_image(*, user, request_type: str, prompt: str, size: str = "1536x1024",
                   model: str | None = None) -> bytes:
    """One generated image as PNG bytes."""
    model = model or settings.OPENAI_IMAGE_MODEL
    params = {"model": model, "prompt": prompt, "size": size, "n": 1}
    if model.startswith("gpt-image"):
        params["output_format"] = "png"  # these models always answer base64
    else:
        params["response_format"] = "b64_json"
    response, latency_ms = _send(user, lambda client: client.images.generate(**params),
                                 request_type=request_type, model=model, images=1)
    usage = getattr(response, "usage", None)
    if usage is not None:
        tokens = {"prompt_tokens": usage.input_tokens or 0, "completion_tokens": usage.output_tokens or 0}
        cost = cost_usd(model, **tokens)
    else:
        tokens = {"prompt_tokens": 0, "completion_tokens": 0}
        cost = cost_usd(model, priced_images=1)
    ledger = {"user": user, "request_type": request_type, "model": model, "images": 1, "cost_usd": cost,
              "latency_ms": latency_ms, **tokens}
    try:
        png = base64.b64decode(response.data[0].b64_json, validate=True)
    except (TypeError, IndexError, binascii.Error):
        _record(**ledger, success=False, error="The answer held no image.")
        raise AIError("The AI service answered without an image.")
    _record(**ledger, success=True)
    return png


def _chat_json(*, user, request_type, messages, model, json_schema, max_tokens, images) -> dict:
    if json_schema is not None:
        response_format = {"type": "json_schema", "json_schema": _schema_format(json_schema, request_type)}
    else:
        response_format = {"type": "json_object"}
        if not any("json" in _text_of(message).lower() for message in messages):
            # The API insists the conversation mentions JSON in json_object mode.
            messages.insert(0, {"role": "system", "content": "Answer with one JSON object."})

    def send(client):
        return client.chat.completions.create(model=model, messages=messages, response_format=response_format,
                                              max_completion_tokens=max_tokens)

    response, latency_ms = _send(user, send, request_type=request_type, model=model, images=images)
    usage = response.usage
    prompt_tokens = getattr(usage, "prompt_tokens", 0) or 0
    completion_tokens = getattr(usage, "completion_tokens", 0) or 0
    ledger = {
        "user": user, "request_type": request_type, "model": response.model or model, "images": images,
        "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "latency_ms": latency_ms,
        "cost_usd": cost_usd(response.model or model, prompt_tokens=prompt_tokens,
                             completion_tokens=completion_tokens),
    }
    choice = response.choices[0] if response.choices else None
    try:
        data = json.loads(choice.message.content)
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (AttributeError, TypeError, ValueError):
        truncated = choice is not None and choice.finish_reason == "length"
        reason = f"cut off at max_tokens={max_tokens}" if truncated else "not a JSON object"
        _record(**ledger, success=False, error=f"Invalid JSON answer ({reason}).")
        raise AIError(f"The AI answer was not usable JSON ({reason}).")
    _record(**ledger, success=True)
    return data


def _send(user, request, *, request_type: str, model: str, images: int):
    """Checks, the breaker and the SDK call; records the failure of a sent request. Returns (response, ms)."""
    if not ai_enabled():
        raise AIUnavailable("AI is off: no OPENAI_API_KEY is configured.")
    _check_budget(user)
    gate = breaker(BREAKER_NAME, counts_as_failure=_is_outage)
    started = time.monotonic()
    try:
        with gate:
            started = time.monotonic()
            client = openai.OpenAI(api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL,
                                   timeout=gate.timeout, max_retries=0)
            try:
                response = request(client)
            finally:
                client.close()
    except BreakerOpen as exc:
        raise AITransientError(f"AI calls are paused: {exc}", retry_after=exc.retry_after) from exc
    except openai.OpenAIError as exc:
        error = _translate(exc, gate.timeout)
        _record(user=user, request_type=request_type, model=model, images=images,
                latency_ms=_ms_since(started), success=False, error=str(error))
        raise error from exc
    return response, _ms_since(started)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record(*, user, request_type, model, images=0, prompt_tokens=0, completion_tokens=0, cost_usd=Decimal("0"),
            latency_ms=0, success, error="") -> AIUsage:
    row = AIUsage.objects.create(
        user=user, request_type=request_type[:64], model=model[:100], images=images,
        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost_usd=cost_usd,
        latency_ms=latency_ms, success=success, error=_scrub(error),
    )
    forget_dashboard_figures()
    if cost_usd:
        _note_budget_level(user)
    return row


def forget_dashboard_figures() -> None:
    """The dashboard's cached AI figures are stale once the new row (or budget) is committed."""
    transaction.on_commit(lambda: invalidate(DASHBOARD_NAMESPACE), robust=True)


BUDGET_WARNING_SHARE = Decimal("0.8")


def _note_budget_level(user) -> None:
    """After a paid call: log once per pool and month when spend crosses 80 % and 100 % of the budget
    (notifications send them); the 100 % event shares _check_budget's key, so it is logged once."""
    spent, budget = _budget_spend(user), budget_for(user)
    if budget <= 0:
        return
    who = user.get_username() if user is not None else "system calls"
    pool = f"{getattr(user, 'pk', 'system')}:{month_start():%Y-%m}"
    if spent >= budget:
        if cache.add(f"ai:budget-event:{pool}", 1, 40 * 24 * 3600):
            record_event("ai", "budget.exceeded", "warning",
                         f"AI budget reached for {who}: {spent:.2f} of {budget:.2f} USD this month.",
                         {"spent_usd": str(spent), "budget_usd": str(budget)}, user=user)
    elif spent >= budget * BUDGET_WARNING_SHARE and cache.add(f"ai:budget-warning:{pool}", 1, 40 * 24 * 3600):
        record_event("ai", "budget.warning", "warning",
                     f"AI spend of {who} is at {spent / budget:.0%} of the budget: {spent:.2f} of {budget:.2f} USD "
                     "this month.", {"spent_usd": str(spent), "budget_usd": str(budget)}, user=user)


def _is_outage(exc: BaseException) -> bool:
    """What trips the breaker: the service failing, not our request being refused."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 429) or exc.status_code >= 500
    return True


def _translate(exc: openai.OpenAIError, timeout: float) -> AIError:
    if isinstance(exc, openai.APITimeoutError):
        return AITransientError(f"The AI service did not answer within {timeout:g} s.")
    if isinstance(exc, openai.APIConnectionError):
        return AITransientError("Could not reach the AI service.")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = _scrub(_api_message(exc))
        if status in (408, 429) or status >= 500:
            return AITransientError(f"The AI service answered {status}: {message}",
                                    retry_after=_retry_after(exc.response))
        return AIError(f"The AI service refused the request ({status}): {message}")
    return AIError(f"AI call failed: {_scrub(str(exc))}")


def _api_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return exc.message


def _retry_after(response) -> float | None:
    try:
        value = float(response.headers.get("retry-after", ""))
    except (AttributeError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _scrub(text: str) -> str:
    key = settings.OPENAI_API_KEY
    return text.replace(key, "***") if key else text


def _schema_format(json_schema: dict, request_type: str) -> dict:
    if "schema" in json_schema and "name" in json_schema:
        return json_schema  # already {"name", "schema", "strict"?}
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", request_type)[:64] or "answer"
    return {"name": name, "schema": json_schema}


def _text_of(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]


def _data_url(image: bytes) -> str:
    mime = "image/jpeg"
    if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        mime = "image/webp"
    for signature, kind in _SIGNATURES:
        if image.startswith(signature):
            mime = kind
    return f"data:{mime};base64,{base64.b64encode(image).decode()}"


# --- summaries for the dashboard and the API -------------------------------------------------------


def spend_by_user(viewer=None) -> list[dict]:
    """This month per person (non-admins: only themselves), with budget and share used.

    `viewer` None is the system (metrics, shell commands): every person, and the user-less pool as "system".
    """
    visible = AIUsage.objects.all() if viewer is None else AIUsage.objects.restrict(viewer)
    rows = (
        visible.filter(created_at__gte=month_start())
        .values("user", "user__username", "user__ai_monthly_budget_usd")
        .annotate(calls=Count("id"), failures=Count("id", filter=Q(success=False)), cost=Sum("cost_usd"))
        .order_by("-cost")
    )
    default_budget = Decimal(str(settings.AI_MONTHLY_BUDGET_USD))
    result = []
    for row in rows:
        budget = row["user__ai_monthly_budget_usd"]
        budget = default_budget if budget is None else budget
        cost = row["cost"] or Decimal("0")
        result.append({
            "user_id": row["user"], "username": row["user__username"] or "system",
            "calls": row["calls"], "failures": row["failures"], "cost_usd": cost, "budget_usd": budget,
            "percent_used": int(cost / budget * 100) if budget else None,
        })
    return result


def spend_by_request_type(viewer) -> list[dict]:
    rows = (
        AIUsage.objects.restrict(viewer).filter(created_at__gte=month_start())
        .values("request_type")
        .annotate(calls=Count("id"), failures=Count("id", filter=Q(success=False)), cost=Sum("cost_usd"),
                  prompt_tokens=Sum("prompt_tokens"), completion_tokens=Sum("completion_tokens"))
        .order_by("-cost")
    )
    return [{key: value for key, value in row.items() if key != "cost"} | {"cost_usd": row["cost"] or Decimal("0")}
            for row in rows]


_BUDGET_MAX = Decimal("99999999.99")  # what User.ai_monthly_budget_usd (10 digits, 2 places) holds


def set_budget(user, amount, by_user):
    """Set `user`'s monthly AI budget in USD (None: back to AI_MONTHLY_BUDGET_USD); logged as an Event.

    Who may: whoever may change that person (UserQuerySet: admins). PermissionDenied otherwise;
    ValidationError (field "budget_usd") for an amount that is not 0..99999999.99 with at most 2 places."""
    if not get_user_model().objects.permits(by_user, user, Action.CHANGE):
        raise PermissionDenied("Only an admin changes AI budgets.")
    if amount is not None:
        try:
            amount = Decimal(str(amount))
        except ArithmeticError:
            raise ValidationError({"budget_usd": "Enter an amount in USD, such as 25 or 12.50."}) from None
        if not amount.is_finite() or amount < 0 or amount > _BUDGET_MAX:
            raise ValidationError({"budget_usd": f"Enter an amount from 0 to {_BUDGET_MAX:,}."})
        if amount != amount.quantize(Decimal("0.01")):
            raise ValidationError({"budget_usd": "Use at most 2 decimal places (cents)."})
    before = user.ai_monthly_budget_usd
    with transaction.atomic():
        user.ai_monthly_budget_usd = amount
        user.save(update_fields=["ai_monthly_budget_usd"])
        shown = "the default" if amount is None else f"{amount:.2f} USD"
        record_event("ai", "budget.changed", "info",
                     f"{by_user.get_username()} set the AI monthly budget of {user.get_username()} to {shown}.",
                     {"user": user.get_username(), "before_usd": None if before is None else str(before),
                      "after_usd": None if amount is None else str(amount)},
                     user=by_user, target=user)
        forget_dashboard_figures()
    return user


def budget_summary(user) -> dict:
    """The person's own month: spent, budget, remaining."""
    spent, budget = month_spend(user), budget_for(user)
    return {
        "month": f"{month_start():%Y-%m}",
        "spent_usd": spent,
        "budget_usd": budget,
        "remaining_usd": max(Decimal("0"), budget - spent),
        "ai_enabled": ai_enabled(),
    }
