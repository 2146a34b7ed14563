"""`medspa export ledger --format beancount|xero-csv|quickbooks-csv --from --to --out FILE`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from medspa.core.audit import audit_context, record_event
from medspa.core.errors import DomainError
from medspa.core.models import Organization
from medspa.ledger.exports import FORMATS, render
from medspa.ledger.selectors import export_entries


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = "Export data for other systems. `export ledger`: the books for your accountant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["ledger"])
        parser.add_argument("--format", dest="fmt", choices=FORMATS, required=True)
        parser.add_argument("--from", dest="start", type=_day, help="first local day, inclusive")
        parser.add_argument("--to", dest="end", type=_day, help="last local day, inclusive")
        parser.add_argument("--out", required=True, help="file to write ('-' for the screen)")
        parser.add_argument(
            "--organization", help="the organization's slug (needed when there are several)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = self._organization(options["organization"])
        try:
            rows = export_entries(organization, options["start"], options["end"])
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        text = render(options["fmt"], rows, currency=organization.currency, title=organization.name)
        if options["out"] == "-":
            self.stdout.write(text, ending="")
        else:
            Path(options["out"]).write_text(text, encoding="utf-8", newline="")
        # The books leave the system: who took which range, never the amounts.
        with audit_context(via="cli"), transaction.atomic():
            record_event(
                organization=organization,
                actor=None,
                action="ledger.exported",
                object_type="ledger",
                object_id=organization.pk,
                data={
                    "format": options["fmt"],
                    "from": str(options["start"] or ""),
                    "to": str(options["end"] or ""),
                    "entries": len(rows),
                },
            )
        if options["out"] != "-":
            self.stderr.write(f"Wrote {len(rows)} entries to {options['out']}.")

    def _organization(self, slug: str | None) -> Organization:
        if slug:
            found = Organization.objects.filter(slug=slug).first()
            if found is None:
                raise CommandError(f"No organization with slug {slug!r}.")
            return found
        orgs = list(Organization.objects.order_by("id")[:2])
        if len(orgs) != 1:
            raise CommandError(
                "Name the organization with --organization SLUG."
                if orgs
                else "There is no organization yet."
            )
        return orgs[0]
