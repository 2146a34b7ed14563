from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "medspa.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        """Connect the receivers of the floors below (a signed chart builds its invoice), and
        register the Stripe gateway and its card tender (manual until Stripe is configured), and
        the worker's instalment job."""
        import medspa.billing.receivers
        import medspa.billing.stripe_gateway  # noqa: F401
        from medspa.billing.plans import run_periodic
        from medspa.core.housekeeping import register_periodic_job

        # `medspa worker` charges the instalments that are due on each upkeep pass.
        register_periodic_job(run_periodic, name="billing.charge_due_instalments")
