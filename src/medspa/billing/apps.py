from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "medspa.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        """Connect the receivers of the floors below (a signed chart builds its invoice)."""
        import medspa.billing.receivers  # noqa: F401
