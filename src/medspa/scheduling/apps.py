from typing import Any

from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save


def _changed(sender: type, instance: Any, **kwargs: Any) -> None:
    """A location, service, segment, resource or weekly rule changed: renew the token."""
    from medspa.scheduling.setup import touch_schedule

    organization_id = getattr(instance, "organization_id", None)
    if organization_id is None and hasattr(instance, "service"):
        organization_id = instance.service.organization_id
    touch_schedule(organization_id)


class SchedulingConfig(AppConfig):
    name = "medspa.scheduling"
    label = "scheduling"

    def ready(self) -> None:
        from medspa.catalog.models import Service, ServiceSegment
        from medspa.core.models import Location
        from medspa.scheduling.models import Resource, WorkingHours

        for model in (Location, Service, ServiceSegment, Resource, WorkingHours):
            post_save.connect(_changed, sender=model, dispatch_uid=f"setup-save-{model.__name__}")
            post_delete.connect(
                _changed, sender=model, dispatch_uid=f"setup-delete-{model.__name__}"
            )
        m2m_changed.connect(
            _changed, sender=Service.locations.through, dispatch_uid="setup-service-locations"
        )
