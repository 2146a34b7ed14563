"""The service behind the security settings page: checked input, one audit event, own clinic."""

from __future__ import annotations

import pytest

from medspa.core.audit import verify_chain
from medspa.core.errors import Invalid, NotFound
from medspa.core.models import AuditEvent, Role
from medspa.core.services import update_security_settings
from tests.conftest import Clinic


def test_roles_are_kept_once_in_the_matrix_order_and_audited(clinic: Clinic) -> None:
    org = update_security_settings(
        organization=clinic.organization,
        actor=clinic.users[Role.MANAGER],
        mfa_required_roles=["provider", "owner", "provider"],
        idle_timeout_minutes=720,
    )
    assert org.mfa_required_roles == ["owner", "provider"]
    assert org.requires_second_factor(Role.PROVIDER)
    assert not org.requires_second_factor(Role.FRONT_DESK)
    event = AuditEvent.objects.get(action="organization.security_changed")
    assert event.data["before"] == {"mfa_required_roles": [], "idle_timeout_minutes": 30}
    assert verify_chain(clinic.organization) is None


@pytest.mark.parametrize(
    ("roles", "minutes", "field"),
    [
        (["owner", "janitor"], 30, "mfa_required_roles"),
        ([], 4, "idle_timeout_minutes"),
        ([], 721, "idle_timeout_minutes"),
    ],
)
def test_bad_input_names_its_field_and_changes_nothing(
    clinic: Clinic, roles: list[str], minutes: int, field: str
) -> None:
    with pytest.raises(Invalid) as refusal:
        update_security_settings(
            organization=clinic.organization,
            actor=clinic.users[Role.OWNER],
            mfa_required_roles=roles,
            idle_timeout_minutes=minutes,
        )
    assert [e.field for e in refusal.value.errors] == [field]
    clinic.organization.refresh_from_db()
    assert clinic.organization.mfa_required_roles == []
    assert not AuditEvent.objects.filter(action="organization.security_changed").exists()


def test_staff_of_another_organization_cannot_change_it(clinic: Clinic, outsider: Clinic) -> None:
    with pytest.raises(NotFound):
        update_security_settings(
            organization=clinic.organization,
            actor=outsider.users[Role.OWNER],
            mfa_required_roles=["owner"],
            idle_timeout_minutes=10,
        )
    clinic.organization.refresh_from_db()
    assert clinic.organization.idle_timeout_minutes == 30
