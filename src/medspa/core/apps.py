from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "medspa.core"
    label = "core"
    verbose_name = "Organizations, staff and audit"
