"""Client records (minimal for now; the clinical work extends them)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from medspa.core.models import Organization


class Client(models.Model):
    """A person who books treatments at the clinic."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="clients")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    phone = models.CharField(max_length=32, blank=True, help_text="E.164, e.g. +16175550123")
    email = models.EmailField(blank=True)
    birth_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["organization", "last_name", "first_name"], name="client_name"),
            models.Index(fields=["organization", "phone"], name="client_phone"),
            models.Index(fields=["organization", "email"], name="client_email"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
