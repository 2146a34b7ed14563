from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "medspa.clients"
    label = "clients"
