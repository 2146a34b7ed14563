"""`medspa token create --email E`: print a new API token for a staff user."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medspa.core.audit import audit_context
from medspa.core.models import User
from medspa.core.tokens import create_api_token


class Command(BaseCommand):
    help = "Manage API tokens. `token create --email E` prints the new token on its last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create"])
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(email__iexact=options["email"].strip(), is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active staff user with e-mail {options['email']}.") from None
        with audit_context(via="cli"):
            token = create_api_token(user=user, name=options["name"])
        self.stderr.write(f"API token for {user.email} ({user.get_role_display()}):")
        self.stdout.write(token)
