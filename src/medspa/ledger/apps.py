from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "medspa.ledger"
    label = "ledger"
    verbose_name = "Ledger"
