import ipaddress

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import models

from .querysets import APITokenQuerySet, LoginEventQuerySet, UserQuerySet
from .roles import Role
from .validators import SingleScriptUsernameValidator


class LofiUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """Our user. The role decides permissions; groups mirror it for the admin."""

    # Django's field, plus one script per name (no Cyrillic "а" in "аdmin"); clean() applies NFKC first.
    username = models.CharField(
        "username", max_length=150, unique=True,
        help_text="Required. 150 characters or fewer. Letters of one alphabet, digits and @/./+/-/_ only.",
        validators=[UnicodeUsernameValidator(), SingleScriptUsernameValidator()],
        error_messages={"unique": "A user with that username already exists."},
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    # Admin-set override of the monthly AI budget (None = settings default).
    ai_monthly_budget_usd = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    objects = LofiUserManager()

    class Meta:
        ordering = ["username"]

    @property
    def role_label(self):
        return Role(self.role).label


class LoginEvent(models.Model):
    class Method(models.TextChoices):
        WEB = "web", "Web"
        API = "api", "API token"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_events")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.WEB)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    device_hash = models.CharField(max_length=64)
    is_new_device = models.BooleanField(default=False)

    objects = LoginEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "device_hash"])]

    def __str__(self):
        return f"{self.user} at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def device_label(self):
        from user_agents import parse

        ua = parse(self.user_agent or "")
        if not self.user_agent:
            return "Unknown device"
        return f"{ua.browser.family} on {ua.os.family}"


def validate_networks(value):
    """A list of IP networks in CIDR notation ("203.0.113.0/24", "2001:db8::/32", or one address)."""
    if not isinstance(value, list):
        raise ValidationError("Give a list of networks.")
    for item in value:
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            raise ValidationError("%(value)s is not an IP network in CIDR notation (e.g. 203.0.113.0/24).",
                                  code="invalid_network", params={"value": item})


class APIToken(models.Model):
    """A personal API token for scripts: `Authorization: Token lofi_<key>.<secret>`.

    Only the SHA-256 of the secret is stored; `key` is the public lookup prefix.
    The token's scopes are a ceiling on the owner's role, like the JWT's.
    """

    PREFIX = "lofi_"

    class RevokeReason(models.TextChoices):
        USER = "user", "Revoked by its owner"
        ADMIN = "admin", "Revoked by an admin"
        PASSWORD = "password", "Password changed"
        DEACTIVATED = "deactivated", "User deactivated"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. \"backup script\".")
    key = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    write_enabled = models.BooleanField(
        "allow writes", default=False,
        help_text="Off: the token can only read, whatever your role. On: it can do what your role allows.")
    allowed_ips = models.JSONField(
        "allowed networks", default=list, blank=True, validators=[validate_networks],
        help_text="Only requests from these networks are accepted (CIDR list). Empty: any address.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    revoke_reason = models.CharField(max_length=16, choices=RevokeReason.choices, blank=True, editable=False)

    objects = APITokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.PREFIX}{self.key}…)"

    @property
    def scopes(self) -> set[str]:
        return {"read", "write"} if self.write_enabled else {"read"}

    @property
    def display(self) -> str:
        """What the owner may see again after creation: the prefix, never the secret."""
        return f"{self.PREFIX}{self.key}…"

    def is_expired(self, now) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def allows_ip(self, ip) -> bool:
        if not self.allowed_ips:
            return True
        try:
            address = ipaddress.ip_address(ip or "")
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(net, strict=False) for net in self.allowed_ips)

    def status(self, now) -> str:
        if self.revoked_at:
            return "revoked"
        return "expired" if self.is_expired(now) else "active"
