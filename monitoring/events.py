"""The operations event log.

`record_event()` writes after the surrounding transaction commits, so a change
that is rolled back logs nothing; outside a transaction it writes at once.
Logging never breaks the caller: a failed write is logged and swallowed.

Payloads are for operators: put ids, counts and error texts there, never
secrets (tokens, cookies, passwords, API keys). Viewers do not see payloads
(see monitoring.api.serializers.EventSerializer).

In tests wrapped in a transaction (pytest-django `db`), wrap the code under
test in `django_capture_on_commit_callbacks(execute=True)` to see the events.
"""

import logging

from django.db import transaction

from .choices import EventStatus

logger = logging.getLogger(__name__)

_MESSAGE_MAX = 500


def record_event(
    source: str,
    kind: str,
    status: str = "info",
    message: str = "",
    payload: dict | None = None,
    user=None,
    target=None,
) -> None:
    """Log one event after commit; `target` (a saved model instance) is what the event is about."""
    status = EventStatus(status)  # a typo fails loudly at the call site, not in the callback
    message = str(message)
    if len(message) > _MESSAGE_MAX:
        message = message[: _MESSAGE_MAX - 1] + "…"
    fields = {
        "source": source[:64],
        "kind": kind[:64],
        "status": status,
        "message": message,
        "payload": payload or {},
        "user_id": getattr(user, "pk", None),
    }
    if target is not None and target.pk is not None:
        from django.contrib.contenttypes.models import ContentType

        fields["target_type"] = ContentType.objects.get_for_model(target)
        fields["target_id"] = str(target.pk)

    def write():
        from . import notifications
        from .models import Event

        event = Event.objects.create(**fields)
        # Queues e-mails and webhooks for the kinds settings.NOTIFICATION_EVENTS lists; never raises.
        notifications.on_event(event)

    # robust: an error writing the log must not surface in code that already committed.
    transaction.on_commit(write, robust=True)
    logger.log(logging.WARNING if status in (EventStatus.FAILED, EventStatus.WARNING) else logging.INFO,
               "event %s/%s %s: %s", source, kind, status, message)

