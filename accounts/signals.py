from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .models import LoginEvent
from .services import record_login


@receiver(user_logged_in)
def on_web_login(sender, request, user, **kwargs):
    # Django's login() rotates the session key; we add the sign-in record.
    if request is not None:
        record_login(user, request, LoginEvent.Method.WEB)
