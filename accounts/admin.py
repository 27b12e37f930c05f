from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import tokens, two_factor
from .models import APIToken, LoginEvent, User
from .services import assign_role

# django-otp's own admin pages show the TOTP secret and its QR code: secrets stay out of the admin.
# Devices are managed from the user (reset below, or `manage.py users reset-2fa`).
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Role", {"fields": ("role", "is_active", "ai_monthly_budget_usd")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "role", "password1", "password2")}),
    )

    actions = ["revoke_api_credentials", "reset_two_factor"]

    def save_model(self, request, obj, form, change):
        # Deactivating or setting a password here revokes the user's tokens (accounts.signals).
        super().save_model(request, obj, form, change)
        assign_role(obj, obj.role)  # keeps groups, is_staff and is_superuser in step

    @admin.action(description="Revoke API tokens and JWT refresh tokens")
    def revoke_api_credentials(self, request, queryset):
        for user in queryset:
            tokens.revoke_credentials(user, APIToken.RevokeReason.ADMIN)
        self.message_user(request, f"Revoked the API credentials of {len(queryset)} user(s).", messages.SUCCESS)

    @admin.action(description="Reset two-factor sign-in")
    def reset_two_factor(self, request, queryset):
        for user in queryset:
            two_factor.reset(user)
        self.message_user(request, f"Two-factor sign-in reset for {len(queryset)} user(s).", messages.SUCCESS)


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    """Tokens are created by their owner (profile page, `manage.py users token create`); here they are revoked."""

    list_display = ("name", "user", "display", "write_enabled", "created_at", "expires_at", "last_used_at",
                    "revoked_at", "revoke_reason")
    list_filter = ("write_enabled", "revoke_reason")
    search_fields = ("name", "user__username", "key")
    fields = ("user", "name", "display", "write_enabled", "allowed_ips", "created_at", "expires_at",
              "last_used_at", "revoked_at", "revoke_reason")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        count = tokens.revoke(queryset, APIToken.RevokeReason.ADMIN)
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(LoginEvent)
class LoginEventAdmin(admin.ModelAdmin):
    list_display = ("user", "created_at", "method", "ip_address", "is_new_device")
    list_filter = ("method", "is_new_device")
    search_fields = ("user__username", "ip_address")
    readonly_fields = [f.name for f in LoginEvent._meta.fields]

    def has_add_permission(self, request):
        return False
