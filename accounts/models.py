from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from .querysets import LoginEventQuerySet, UserQuerySet
from .roles import Role


class LofiUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """Our user. The role decides permissions; groups mirror it for the admin."""

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
