"""The audit log: who changed what, merged from the records that already exist (no second copy).

Two sources, read together in one SQL UNION so that the database orders, counts and pages them:

- Django's admin `LogEntry` (every add, change and delete made in the admin);
- the `Event`s that record an administrative action taken through a service (a breaker reset,
  a role change, a backup restored, ...): the `source/kind` pairs listed in
  `settings.AUDIT_EVENT_KINDS` (domain apps' kinds are wired there, so monitoring names none).

The log is read-only and admin-only (`AuditQuerySet`: every action is an admin's). Accounts'
changes arrive through `accounts.services.user_changed`, recorded here as Events.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, CharField, F, Q, TextField, Value, When
from django.db.models.functions import Cast

from accounts.querysets import RestrictedQuerySet
from accounts.roles import Action

from .events import record_event
from .models import Event

ADMIN_SOURCE = "admin"
# The admin's three action flags as audit kinds ("admin/added", ...).
ADMIN_KINDS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}
_ADMIN_KIND_LABELS = {"added": "Added in the admin", "changed": "Changed in the admin",
                      "deleted": "Deleted in the admin"}


class AuditQuerySet(RestrictedQuerySet):
    """The audit log shows what every admin did: admins only, even to look."""

    admin_only_actions = frozenset(Action)


def audit_queryset():
    """The queryset whose rule gates the audit log (its rows are the admin's LogEntry)."""
    return AuditQuerySet(LogEntry)


def event_kinds() -> list[tuple[str, str]]:
    """The (source, kind) pairs of Events that are audit entries, from settings.AUDIT_EVENT_KINDS."""
    pairs = []
    for item in getattr(settings, "AUDIT_EVENT_KINDS", []):
        source, _, kind = item.partition("/")
        pairs.append((source, kind))
    return pairs


def kind_choices() -> list[tuple[str, str]]:
    """The kind filter's choices: "source/kind" values."""
    admin = [(f"{ADMIN_SOURCE}/{kind}", label) for kind, label in _ADMIN_KIND_LABELS.items()]
    return admin + [(f"{source}/{kind}", f"{source}: {kind}") for source, kind in event_kinds()]


@dataclass
class AuditEntry:
    origin: str  # "admin" (a LogEntry) or "event"
    pk: int
    at: datetime
    user: object  # the actor, None for the system or a shell
    source: str
    kind: str
    message: str
    target_type: ContentType | None
    target_id: str

    @property
    def kind_label(self) -> str:
        return f"{self.source}/{self.kind}"

    @property
    def target_label(self) -> str:
        if self.target_type is None:
            return ""
        return f"{self.target_type.name} #{self.target_id}" if self.target_id else self.target_type.name

    @property
    def admin_url(self) -> str:
        """The admin page of what an admin change touched (none for deletions and for events)."""
        if self.origin != "admin" or self.kind == "deleted" or self.target_type is None:
            return ""
        # The content type is already loaded: handing it over saves a query per row.
        return LogEntry(content_type=self.target_type, object_id=self.target_id).get_admin_url() or ""


_COLUMNS = ["a_origin", "a_pk", "a_at", "a_user", "a_source", "a_kind", "a_text", "a_detail", "a_type", "a_target"]


def _admin_rows(filters):
    flag = Case(*[When(action_flag=flag, then=Value(kind)) for flag, kind in ADMIN_KINDS.items()],
                default=Value("changed"), output_field=CharField())
    rows = LogEntry.objects.annotate(
        a_origin=Value("admin", output_field=CharField()), a_pk=F("pk"), a_at=F("action_time"),
        a_user=F("user_id"), a_source=Value(ADMIN_SOURCE, output_field=CharField()), a_kind=flag,
        a_text=Cast("object_repr", TextField()), a_detail=Cast("change_message", TextField()),
        a_type=F("content_type_id"), a_target=Cast("object_id", TextField()))
    if filters.get("kind"):
        source, _, kind = filters["kind"].partition("/")
        flags = [flag for flag, name in ADMIN_KINDS.items() if name == kind]
        rows = rows.filter(action_flag__in=flags) if source == ADMIN_SOURCE else rows.none()
    if filters.get("user"):
        rows = rows.filter(user=filters["user"])
    if filters.get("what"):
        rows = rows.filter(Q(object_repr__icontains=filters["what"]) | Q(change_message__icontains=filters["what"]))
    if filters.get("since"):
        rows = rows.filter(action_time__gte=filters["since"])
    if filters.get("until"):
        rows = rows.filter(action_time__lt=filters["until"])
    return rows.order_by().values(*_COLUMNS)  # no ORDER BY inside a UNION part (SQLite)


def _event_rows(filters):
    pairs = event_kinds()
    if filters.get("kind"):
        source, _, kind = filters["kind"].partition("/")
        pairs = [pair for pair in pairs if pair == (source, kind)]
    if not pairs:
        return Event.objects.none().annotate(**{name: Value(None, output_field=TextField()) for name in _COLUMNS}
                                             ).order_by().values(*_COLUMNS)
    match = Q()
    for source, kind in pairs:
        match |= Q(source=source, kind=kind)
    rows = Event.objects.filter(match).annotate(
        a_origin=Value("event", output_field=CharField()), a_pk=F("pk"), a_at=F("created_at"),
        a_user=F("user_id"), a_source=F("source"), a_kind=F("kind"), a_text=Cast("message", TextField()),
        a_detail=Value("", output_field=TextField()), a_type=F("target_type_id"),
        a_target=Cast("target_id", TextField()))
    if filters.get("user"):
        rows = rows.filter(user=filters["user"])
    if filters.get("what"):
        rows = rows.filter(message__icontains=filters["what"])
    if filters.get("since"):
        rows = rows.filter(created_at__gte=filters["since"])
    if filters.get("until"):
        rows = rows.filter(created_at__lt=filters["until"])
    return rows.order_by().values(*_COLUMNS)  # no ORDER BY inside a UNION part (SQLite)


def entries(viewer, filters: dict | None = None):
    """The audit rows `viewer` may read, newest first, as one UNION queryset of dicts (page it, then
    `hydrate()` the page). `filters`: user (a User or id), kind ("source/kind"), what (text), since, until."""
    filters = filters or {}
    if not audit_queryset().model_permits(viewer, Action.VIEW):
        return LogEntry.objects.none().values("pk")
    admin = _admin_rows(filters)
    if filters.get("kind") and not filters["kind"].startswith(f"{ADMIN_SOURCE}/"):
        admin = admin.none()
    return admin.union(_event_rows(filters), all=True).order_by("-a_at", "a_origin", "-a_pk")


def _message(row) -> str:
    if row["a_origin"] != "admin":
        return row["a_text"]
    detail = LogEntry(change_message=row["a_detail"] or "").get_change_message()
    text = f"“{row['a_text']}”"
    return f"{text}: {detail}" if detail else text


def hydrate(rows) -> list[AuditEntry]:
    """One page of `entries()` as AuditEntry objects: one query for the actors (content types are cached)."""
    rows = list(rows)
    users = get_user_model()._base_manager.in_bulk({row["a_user"] for row in rows if row["a_user"]})
    result = []
    for row in rows:
        target_type = ContentType.objects.get_for_id(row["a_type"]) if row["a_type"] else None
        result.append(AuditEntry(
            origin=row["a_origin"], pk=row["a_pk"], at=row["a_at"], user=users.get(row["a_user"]),
            source=row["a_source"], kind=row["a_kind"], message=_message(row), target_type=target_type,
            target_id=row["a_target"] or ""))
    return result


def record_user_change(sender, actor, user, changes, **kwargs):
    """accounts.services.user_changed -> one Event per audited change (role, active flag, AI budget)."""
    who = getattr(actor, "username", None) or "a shell"
    if "role" in changes:
        old, new = changes["role"]
        record_event("accounts", "user.role_changed", "info", f"{user.username}: role {old} → {new}, by {who}.",
                     {"user": user.pk, "from": str(old), "to": str(new)}, user=actor, target=user)
    if "is_active" in changes:
        active = changes["is_active"][1]
        record_event("accounts", "user.reactivated" if active else "user.deactivated", "info" if active else "warning",
                     f"{user.username} {'reactivated' if active else 'deactivated'} by {who}.",
                     {"user": user.pk}, user=actor, target=user)
    if "ai_monthly_budget_usd" in changes:
        old, new = (("default" if value is None else str(value)) for value in changes["ai_monthly_budget_usd"])
        record_event("accounts", "user.budget_changed", "info",
                     f"{user.username}: monthly AI budget {old} → {new} USD, by {who}.",
                     {"user": user.pk, "from": old, "to": new}, user=actor, target=user)

