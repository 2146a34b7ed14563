from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "medspa.catalog"
    label = "catalog"
