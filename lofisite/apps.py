from django.apps import AppConfig


class LofisiteConfig(AppConfig):
    name = "lofisite"
    verbose_name = "lofisite project"
