from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self):
        from accounts.services import user_changed

        from . import signals  # noqa: F401 -- connects the receivers
        from .audit import record_user_change

        # Role, active-flag and budget changes go to the audit log (accounts imports no monitoring).
        user_changed.connect(record_user_change, dispatch_uid="monitoring.audit.user_changed")
