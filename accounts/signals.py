from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from .models import APIToken, LoginEvent, User
from .services import record_login
from .tokens import revoke_credentials


@receiver(user_logged_in)
def on_web_login(sender, request, user, **kwargs):
    # Django's login() rotates the session key; we add the sign-in record.
    if request is not None:
        record_login(user, request, LoginEvent.Method.WEB)


@receiver(pre_save, sender=User)
def note_credential_change(sender, instance, raw=False, update_fields=None, **kwargs):
    """Every path that changes a password goes through set_password() (which sets `_password`);
    deactivation is is_active turning False. Either one revokes the user's credentials on save."""
    instance._revoke_reason = None
    if raw or instance.pk is None:
        return
    if getattr(instance, "_password", None) is not None:
        instance._revoke_reason = APIToken.RevokeReason.PASSWORD
    elif (not instance.is_active and (update_fields is None or "is_active" in update_fields)
          and User.objects.filter(pk=instance.pk, is_active=True).exists()):
        instance._revoke_reason = APIToken.RevokeReason.DEACTIVATED


@receiver(post_save, sender=User)
def revoke_on_credential_change(sender, instance, created=False, **kwargs):
    reason = getattr(instance, "_revoke_reason", None)
    if reason and not created:
        revoke_credentials(instance, reason)
        instance._revoke_reason = None
