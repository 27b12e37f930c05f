from django.apps import AppConfig


class VintedConfig(AppConfig):
    name = "vinted"
