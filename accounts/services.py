"""Changes to accounts: users, roles, sign-in records."""

import secrets

from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, transaction
from django.dispatch import Signal
from django.utils.crypto import salted_hmac

from lofisite.client_ip import client_ip  # the one client-IP rule (legal imports it from here too)

from .models import LoginEvent, User
from .roles import Role

# Apps whose model permissions the role groups carry (for the Django admin).
_DOMAIN_APPS = ["pipeline", "vinted", "monitoring", "legal"]

# Sent by update_user with `actor`, `user` and `changes` ({field: (old, new)} of role, is_active and
# ai_monthly_budget_usd); monitoring's audit log records it (accounts imports no monitoring).
user_changed = Signal()
_AUDITED_FIELDS = ("role", "is_active", "ai_monthly_budget_usd")


def ensure_role_groups(sender=None, apps=global_apps, using=DEFAULT_DB_ALIAS, **kwargs):
    """Create one group per role with matching model permissions (post_migrate), in the database
    being migrated (`migrate --database` passes it as `using`)."""
    for role in Role:
        group, _ = Group.objects.using(using).get_or_create(name=role.value)
        perms = Permission.objects.using(using).filter(content_type__app_label__in=_DOMAIN_APPS)
        if role == Role.VIEWER:
            perms = perms.filter(codename__startswith="view_")
        group.permissions.set(perms)


@transaction.atomic
def assign_role(user: User, role: str) -> User:
    role = Role(role)
    user.role = role
    user.is_staff = role == Role.ADMIN
    user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    ensure_role_groups()
    user.groups.set([Group.objects.get(name=role.value)])
    return user


def check_user_change(actor, user: User, *, role: str | None = None, is_active: bool | None = None) -> None:
    """The rule `update_user` applies: nobody demotes or deactivates themselves.

    Forms call it too, to show the refusal next to the field before anything is saved.
    """
    if actor is not None and actor.pk == user.pk and (
            (role is not None and Role(role) != Role.ADMIN) or is_active is False):
        raise ValidationError("You cannot demote or deactivate yourself.")


@transaction.atomic
def update_user(actor, user: User, *, role: str | None = None, **fields) -> User:
    """Change a user's details, role or active flag, as `actor` (None: an operator at a shell).

    Nobody demotes or deactivates themselves (the last admin could lock everyone out of
    user management): the check and the change happen in one transaction, on the locked
    row, so the answer cannot go stale between them.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    check_user_change(actor, user, role=role, is_active=fields.get("is_active"))
    before = {name: getattr(user, name) for name in _AUDITED_FIELDS}
    for name, value in fields.items():
        setattr(user, name, value)
    if fields:
        user.full_clean(exclude=["password"])
        user.save(update_fields=list(fields))
    user = assign_role(user, role) if role is not None else user
    changes = {name: (old, getattr(user, name)) for name, old in before.items() if getattr(user, name) != old}
    if changes:
        user_changed.send(sender=User, actor=actor, user=user, changes=changes)
    return user


@transaction.atomic
def create_user(username: str, email: str, password: str, role: str = Role.VIEWER) -> User:
    """Create a user after validating the password against the site's validators."""
    from django.contrib.auth.password_validation import validate_password

    from .validators import normalize_username

    username = normalize_username(username)  # NFKC first: "ａｄｍｉｎ" is "admin"; mixed scripts fail full_clean
    if User.objects.filter(username__iexact=username).exists():  # "Ada" and "ada" would be confusing
        raise ValidationError({"username": "A user with that username already exists."})
    user = User(username=username, email=email)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list})
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return assign_role(user, role)


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def device_hash(user_agent: str, accept_language: str) -> str:
    """A keyed hash of what identifies a browser; new hash = new device."""
    return salted_hmac("accounts.device", f"{user_agent}|{accept_language}", algorithm="sha256").hexdigest()


def record_login(user: User, request, method=LoginEvent.Method.WEB) -> LoginEvent:
    user_agent = request.headers.get("User-Agent", "")[:512]
    fingerprint = device_hash(user_agent, request.headers.get("Accept-Language", ""))
    is_new = not LoginEvent.objects.filter(user=user, device_hash=fingerprint).exists()
    return LoginEvent.objects.create(
        user=user,
        method=method,
        ip_address=client_ip(request),
        user_agent=user_agent,
        device_hash=fingerprint,
        is_new_device=is_new,
    )
