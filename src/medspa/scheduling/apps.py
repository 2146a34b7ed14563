from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "medspa.scheduling"
    label = "scheduling"
