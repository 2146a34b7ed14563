from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "medspa.demo"
    label = "demo"
    verbose_name = "Demo clinic"
