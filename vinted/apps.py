from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class VintedConfig(AppConfig):
    name = "vinted"

    def ready(self):
        # The home dashboard's cached counts are forgotten when a listing or conversation changes.
        from .dashboard import forget_dashboard_counts

        for model in (self.get_model("Listing"), self.get_model("Conversation")):
            post_save.connect(forget_dashboard_counts, sender=model, dispatch_uid=f"dashboard-{model.__name__}")
            post_delete.connect(forget_dashboard_counts, sender=model, dispatch_uid=f"dashboard-{model.__name__}")
