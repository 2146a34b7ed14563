from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "medspa.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        """Connect the receivers of the floors below (a signed chart builds its invoice), and
        register the Stripe gateway and its card tender (manual until Stripe is configured)."""
        import medspa.billing.receivers
        import medspa.billing.stripe_gateway  # noqa: F401
