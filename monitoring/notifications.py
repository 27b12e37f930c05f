"""Notifications: e-mail and signed webhooks for the events people must hear about.

Which events notify is a settings mapping, `NOTIFICATION_EVENTS` ("source/kind" of an Event ->
the title people read), so monitoring names no domain app: a domain app records its event with
`monitoring.events.record_event` and the settings list it. How it flows:

1. `record_event()` writes the Event after commit, then calls `on_event(event)` here;
2. `on_event` picks the recipients (the event's user, plus every admin for the kinds in
   `NOTIFICATION_SYSTEM_EVENTS`), reads each one's `NotificationPreference` (defaults without a
   row: e-mail on, every kind, no webhook), writes one `Delivery` per channel and enqueues the job
   `monitoring.deliver_notification` for it (both in one transaction);
3. the job sends it: e-mail through Django's backend (`EMAIL_URL`, console by default), or a JSON
   POST to the webhook, signed (see `sign()`/`verify()`, README "Notifications"). A timeout, a
   connection error, 429 or 5xx is a TransientError: the job wrapper retries with backoff; any other
   answer (4xx, a redirect, a refused address) fails the delivery at once. Each attempt is logged on
   the Delivery row.

A failing channel never reaches the code that recorded the event: step 2 runs after that code's
commit and swallows its own errors, and sending happens in the worker.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import smtplib
import socket
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .choices import DeliveryChannel, DeliveryStatus
from .jobs import TransientError, job
from .models import Delivery, Event, NotificationPreference

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Lofisite-Signature"
TIMESTAMP_HEADER = "X-Lofisite-Timestamp"
# A receiver refuses a signature older than this (replay); ours is fresh on every attempt.
SIGNATURE_TOLERANCE_SECONDS = 300
TEST_KIND = "monitoring/notification.test"


def event_key(event: Event) -> str:
    return f"{event.source}/{event.kind}"


def kinds() -> dict[str, str]:
    """{"source/kind": title} of every event that notifies."""
    return dict(settings.NOTIFICATION_EVENTS)


# --- signatures ------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Lofisite-Signature value: HMAC-SHA256 of "<timestamp>.<body>" with the shared secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None,
           tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the timestamp is recent (no replay) and the signature matches (constant time)."""
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(age) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


# --- webhook addresses -----------------------------------------------------------------------


def _refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def validate_webhook_url(url: str, *, resolve: bool = True) -> None:
    """Refuse what is not http(s) or points into our own network (SSRF), unless
    NOTIFICATION_WEBHOOK_ALLOW_PRIVATE says so (tests and closed networks)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Enter an http:// or https:// address.", code="scheme")
    if parts.username or parts.password:
        raise ValidationError("Put no user name or password in the address; the signature authenticates us.",
                              code="credentials")
    if settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        addresses = {parts.hostname} if _is_ip(parts.hostname) else (
            {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)}
            if resolve else set())
    except (socket.gaierror, UnicodeError):
        raise ValidationError(f"The host {parts.hostname} does not resolve.", code="unresolvable") from None
    if any(_refused_address(address) for address in addresses):
        raise ValidationError("This address is on a local or private network; webhooks go to public hosts only.",
                              code="private")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def shown_url(url: str) -> str:
    """The URL without its query and fragment (a token may hide there): what logs and pages show."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# --- who gets what -----------------------------------------------------------------------------


def preference_for(user) -> NotificationPreference:
    """The saved preferences, or the defaults (unsaved) for someone who never set any."""
    try:
        return NotificationPreference.objects.get(user=user)
    except NotificationPreference.DoesNotExist:
        return NotificationPreference(user=user, email_enabled=True, kinds=list(kinds()))


def own_preference(user) -> NotificationPreference:
    """The user's saved row, made with the defaults on first use (the API's `me`)."""
    preference, _ = NotificationPreference.objects.get_or_create(user=user, defaults={"kinds": list(kinds())})
    return preference


MIN_SECRET_LENGTH = 16


def save_preferences(user, *, email_enabled: bool | None = None, webhook_url: str | None = None,
                     webhook_secret: str | None = None, kinds_chosen: list[str] | None = None
                     ) -> NotificationPreference:
    """Change what `user` is told; None leaves a field as it is, and an empty secret keeps the saved one.

    Raises ValidationError with a message per field; nothing is saved then. Clearing the URL removes the
    webhook and its secret.
    """
    preference = preference_for(user)
    errors = {}
    if kinds_chosen is not None:
        unknown = sorted(set(kinds_chosen) - set(kinds()))
        if unknown:
            errors["kinds"] = [f"Not an event that notifies: {', '.join(unknown)}."]
    url = preference.webhook_url if webhook_url is None else webhook_url.strip()
    if url:
        try:
            validate_webhook_url(url)
        except ValidationError as exc:
            errors["webhook_url"] = exc.messages
    secret = webhook_secret or ""
    if secret and len(secret) < MIN_SECRET_LENGTH:
        errors["webhook_secret"] = [f"Use at least {MIN_SECRET_LENGTH} characters (a random string is best)."]
    elif url and not secret and not preference.webhook_secret:
        errors["webhook_secret"] = ["A webhook needs a secret: your receiver checks our signature with it."]
    if errors:
        raise ValidationError(errors)
    if email_enabled is not None:
        preference.email_enabled = email_enabled
    if kinds_chosen is not None:
        preference.kinds = [key for key in kinds() if key in set(kinds_chosen)]  # in the settings' order
    preference.webhook_url = url
    preference.webhook_secret = (secret or preference.webhook_secret) if url else ""
    preference.save()
    return preference


def system_recipients():
    """Who hears about the system's own trouble (breakers, backups): the people who may read the
    delivery log, that is whom the access rule makes responsible for operations."""
    users = get_user_model().objects.filter(is_active=True).order_by("pk")
    return [user for user in users if Delivery.objects.model_permits(user, "view")]


def recipients(event: Event, key: str) -> list:
    people = []
    if event.user_id and event.user.is_active:
        people.append(event.user)
    if key in settings.NOTIFICATION_SYSTEM_EVENTS:
        people += [user for user in system_recipients() if user.pk != event.user_id]
    return people


def on_event(event: Event) -> list[Delivery]:
    """Queue the deliveries an event calls for; never raises (the event is already written)."""
    try:
        key = event_key(event)
        if key not in kinds():
            return []
        deliveries = []
        for person in recipients(event, key):
            preference = preference_for(person)
            if key in preference.kinds:
                deliveries += queue_deliveries(event, person, preference, title=kinds()[key])
        return deliveries
    except Exception:
        logger.exception("Could not queue the notifications of event #%s", event.pk)
        return []


def queue_deliveries(event: Event, person, preference: NotificationPreference, *, title: str) -> list[Delivery]:
    channels = []
    if preference.email_enabled and person.email:
        channels.append((DeliveryChannel.EMAIL, person.email))
    if preference.webhook_url:
        channels.append((DeliveryChannel.WEBHOOK, shown_url(preference.webhook_url)))
    queued = []
    for channel, destination in channels:
        with transaction.atomic():
            delivery = Delivery.objects.create(event=event, kind=event_key(event), title=title[:200],
                                               recipient=person, channel=channel, destination=destination[:500])
            delivery.job_run = deliver_notification.enqueue(delivery.pk)
            delivery.save(update_fields=["job_run"])
        queued.append(delivery)
    return queued


def send_test(user) -> list[Delivery]:
    """A test notification to the user's own channels (the preferences page's button)."""
    preference = preference_for(user)
    # Written here, not through record_event: the test goes to this user's channels only, whatever kinds they chose.
    event = Event.objects.create(source="monitoring", kind="notification.test", status="info", user=user,
                                 message=f"Test notification requested by {user}.")
    return queue_deliveries(event, user, preference, title="Test notification")


# --- sending -------------------------------------------------------------------------------------


def body_of(delivery: Delivery) -> dict:
    event = delivery.event
    target = None
    if event is not None and event.target_type_id:
        url = event.target_url
        target = {"type": f"{event.target_type.app_label}.{event.target_type.model}", "id": event.target_id,
                  "url": (settings.SITE_URL.rstrip("/") + url) if url else ""}
    return {
        "id": delivery.pk,
        "kind": delivery.kind,
        "title": delivery.title,
        "message": event.message if event is not None else "",
        "occurred_at": (event.created_at if event is not None else delivery.created_at).isoformat(),
        "target": target,
    }


def _send_email(delivery: Delivery) -> None:
    body = body_of(delivery)
    lines = [body["message"] or body["title"], ""]
    if body["target"] and body["target"]["url"]:
        lines += [f"See {body['target']['url']}", ""]
    lines.append("You get this because of your notification preferences on lofisite.")
    try:
        send_mail(f"[lofisite] {delivery.title}", "\n".join(lines), settings.DEFAULT_FROM_EMAIL,
                  [delivery.recipient.email])
    except (OSError, smtplib.SMTPException) as exc:
        raise TransientError(f"The mail server did not take the message: {exc}") from exc


class DeliveryRefused(Exception):
    """The receiver answered, and not with success: trying again would not help."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class DeliveryUnavailable(TransientError):
    def __init__(self, message: str, status_code: int | None = None, retry_after: float | None = None):
        super().__init__(message, retry_after=retry_after)
        self.status_code = status_code


def _send_webhook(delivery: Delivery) -> int:
    preference = NotificationPreference.objects.filter(user=delivery.recipient).first()
    if preference is None or not preference.webhook_url:
        raise DeliveryRefused("The webhook was removed from the preferences before it was sent.")
    url = preference.webhook_url
    try:
        validate_webhook_url(url)  # again: the name may resolve elsewhere than when it was saved
    except ValidationError as exc:
        raise DeliveryRefused(f"Webhook address refused: {' '.join(exc.messages)}") from None
    body = json.dumps(body_of(delivery), separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "User-Agent": "lofisite-notifications/1",
               TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(preference.webhook_secret, timestamp, body)}
    try:
        with httpx.Client(timeout=settings.NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryUnavailable(f"The webhook did not answer: {type(exc).__name__}: {exc}") from exc
    code = response.status_code
    if code == 429 or code >= 500:
        retry_after = response.headers.get("Retry-After", "")
        raise DeliveryUnavailable(f"The webhook answered {code}.", code,
                                  retry_after=float(retry_after) if retry_after.isdigit() else None)
    if 300 <= code < 400:
        raise DeliveryRefused(f"The webhook answered {code} (a redirect); redirects are not followed.", code)
    if code >= 400:
        raise DeliveryRefused(f"The webhook refused the notification with {code}.", code)
    return code


def _delivery_label(delivery_id: int) -> str:
    return f"Notification delivery #{delivery_id}"


@job("monitoring.deliver_notification", max_attempts=5, label=_delivery_label)
def deliver_notification(delivery_id: int) -> str:
    """Send one delivery; TransientError (timeouts, 429, 5xx, mail server down) is retried with backoff."""
    delivery = Delivery.objects.select_related("event", "recipient").filter(pk=delivery_id).first()
    if delivery is None or delivery.status in (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED):
        return "nothing to do"
    Delivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
    delivery.refresh_from_db(fields=["attempts"])
    rows = Delivery.objects.filter(pk=delivery.pk)
    try:
        code = _send_email(delivery) if delivery.channel == DeliveryChannel.EMAIL else _send_webhook(delivery)
    except TransientError as exc:
        last = delivery.attempts >= deliver_notification.max_attempts
        rows.update(status=DeliveryStatus.FAILED if last else DeliveryStatus.RETRYING, error=str(exc)[:2000],
                    response_code=getattr(exc, "status_code", None))
        raise
    except DeliveryRefused as exc:
        rows.update(status=DeliveryStatus.FAILED, error=str(exc)[:2000], response_code=exc.status_code)
        raise
    except Exception as exc:
        rows.update(status=DeliveryStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    rows.update(status=DeliveryStatus.SUCCEEDED, error="", response_code=code, delivered_at=timezone.now())
    return "sent"
