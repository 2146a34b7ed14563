from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "medspa.clinical"
    label = "clinical"
    verbose_name = "Clinical"

    def ready(self) -> None:
        """Connect the receivers of scheduling's signals (each module connects on import)."""
        from medspa.clinical import (
            gate,  # noqa: F401  (the treatment gate's receivers)
            intake_requests,  # noqa: F401  (intake at booking)
        )
