from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "medspa.portal"
    label = "portal"
    verbose_name = "Client portal"
