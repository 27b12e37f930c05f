from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import signals  # noqa: F401  (sign-in recording)
        from .api import schema  # noqa: F401  (OpenAPI extensions for the JWT classes)
        from .services import ensure_role_groups

        post_migrate.connect(ensure_role_groups, sender=self)
