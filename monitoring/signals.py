"""Events monitoring records about other apps' rows, where that app may not import monitoring.

`accounts` sits below monitoring (it imports no app), so the sign-in from a new device is noticed here,
from its LoginEvent row, and logged as the event `accounts/login.new_device` that notifications list.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import LoginEvent

from .events import record_event


@receiver(post_save, sender=LoginEvent, dispatch_uid="monitoring.login_new_device")
def log_sign_in_from_new_device(sender, instance, created, **kwargs):
    # A person's very first sign-in is new by definition; warn only when a known device existed before.
    if not created or not instance.is_new_device:
        return
    if not LoginEvent.objects.filter(user_id=instance.user_id).exclude(pk=instance.pk).exists():
        return
    record_event("accounts", "login.new_device", "warning",
                 f"New sign-in to {instance.user} from a device not seen before: {instance.device_label}, "
                 f"address {instance.ip_address or 'unknown'} ({instance.get_method_display()}).",
                 {"login_event": instance.pk, "method": instance.method, "ip_address": instance.ip_address},
                 user=instance.user)
