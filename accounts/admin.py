from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import lockout, tokens, two_factor
from .models import APIToken, LoginEvent, User
from .services import assign_role, check_user_change, update_user

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

    actions = ["revoke_api_credentials", "reset_two_factor", "unlock_sign_in"]
    change_form_template = "admin/accounts/user/change_form.html"

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            return form
        actor = request.user

        class ChangeForm(form):
            def clean(self):
                cleaned = super().clean()
                try:  # the rule update_user applies on save, shown next to its field
                    check_user_change(actor, self.instance, role=cleaned.get("role"),
                                      is_active=cleaned.get("is_active"))
                except ValidationError as exc:
                    self.add_error("role" if cleaned.get("is_active", True) else "is_active", exc)
                return cleaned

        return ChangeForm

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            assign_role(obj, obj.role)  # keeps groups, is_staff and is_superuser in step
            return
        # Every change goes through the service: it refuses self-demotion on the locked row and
        # keeps groups and flags in step; deactivating revokes the user's tokens (accounts.signals).
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name not in ("role", "password")}
        update_user(request.user, obj, role=form.cleaned_data.get("role", obj.role), **fields)
        obj.refresh_from_db()

    def get_urls(self):
        unlock = self.admin_site.admin_view(require_POST(self.unlock_view))
        return [path("<int:object_id>/unlock/", unlock, name="accounts_user_unlock"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        user = self.get_object(request, object_id)
        if user is not None:
            extra_context = {**(extra_context or {}), "lockout": lockout.status(user.username)}
        return super().change_view(request, object_id, form_url, extra_context)

    def unlock_view(self, request, object_id):
        if not self.has_change_permission(request):
            raise PermissionDenied
        user = get_object_or_404(User, pk=object_id)
        self._report_unlock(request, [user])
        return redirect("admin:accounts_user_change", user.pk)

    @admin.action(description="Unlock sign-in (clear failed attempts)")
    def unlock_sign_in(self, request, queryset):
        self._report_unlock(request, list(queryset))

    def _report_unlock(self, request, users):
        cleared = sum(lockout.unlock(user.username) for user in users)
        names = ", ".join(user.username for user in users)
        self.message_user(request, f"Sign-in unlocked for {names} ({cleared} failed-attempt record(s) cleared).",
                          messages.SUCCESS)

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
