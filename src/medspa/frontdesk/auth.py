"""Sign-in rules for staff: no self sign-up; accounts are made by a manager; a second
factor the organization requires for the role cannot be switched off."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.http import HttpRequest

from medspa.core.models import User


class StaffAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


class StaffMFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        user = authenticator.user
        required = (
            isinstance(user, User)
            and user.organization is not None
            and user.organization.requires_second_factor(user.role)
        )
        if required and authenticator.type == Authenticator.Type.TOTP:
            # Keep at least one authenticator app: the clinic requires it for the role.
            others = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP)
            if not others.exclude(pk=authenticator.pk).exists():
                return False
        return bool(super().can_delete_authenticator(authenticator))
