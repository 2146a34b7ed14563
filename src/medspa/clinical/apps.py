from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "medspa.clinical"
    label = "clinical"
    verbose_name = "Clinical"
