from django.apps import AppConfig


class FrontdeskConfig(AppConfig):
    name = "medspa.frontdesk"
    label = "frontdesk"
    verbose_name = "Front desk"
