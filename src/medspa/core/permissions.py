"""Who may do what: the permission matrix in code (docs/permissions.md is its written form)."""

from __future__ import annotations

from medspa.core.errors import Forbidden
from medspa.core.models import Role, User

ALL_STAFF = frozenset(Role.values)
DESK = frozenset({Role.OWNER, Role.MANAGER, Role.FRONT_DESK})
MANAGERS = frozenset({Role.OWNER, Role.MANAGER})

# action -> roles allowed
MATRIX: dict[str, frozenset[str]] = {
    "locations.view": ALL_STAFF,
    "services.view": ALL_STAFF,
    "resources.view": ALL_STAFF,
    "schedule.view": ALL_STAFF,
    "schedule.export": DESK,
    "hours.manage": MANAGERS,
    "clients.view": ALL_STAFF,
    # Allergies, medications and medical flags: clinical data, for clinical roles only.
    "clients.medical": MANAGERS | {Role.PROVIDER},
    "clients.create": DESK | {Role.PROVIDER},
    "clients.update": DESK | {Role.PROVIDER},
    "clients.merge": MANAGERS,
    "appointments.book": DESK,
    "appointments.reschedule": DESK,
    "appointments.cancel": DESK,
    "appointments.status": DESK | {Role.PROVIDER},
    "security.manage": MANAGERS,
    # Intake forms: every staff member reads and tries them; managers write them.
    "intake.view": ALL_STAFF,
    "intake.manage": MANAGERS,
    # Send or resend a client's intake and consent link, or hand them the tablet.
    "intake.send": DESK | {Role.PROVIDER},
    # Read intake answers and decide review tasks: clinical roles.
    "intake.answers": MANAGERS | {Role.PROVIDER},
    "intake.review": MANAGERS | {Role.PROVIDER},
    # Whether a consent is signed, and its PDF: everyone at the desk and in the room.
    "consent.view": DESK | {Role.PROVIDER},
    "consent.manage": MANAGERS,
    # Let an appointment into treatment without the gate's requirements: manual recovery.
    "treatment.override": MANAGERS,
    # Charts: clinical roles read them; providers write and sign; managers add addenda too.
    "chart.view": MANAGERS | {Role.PROVIDER},
    "chart.write": frozenset({Role.PROVIDER}),
    "chart.sign": frozenset({Role.PROVIDER}),
    "chart.addendum": MANAGERS | {Role.PROVIDER},
    # What was used (products, units, device time) without any notes: billing builds charges.
    "chart.charges": MANAGERS | {Role.PROVIDER, Role.BILLING},
    # Invoices and payments: the desk checks clients out; billing staff too.
    "billing.view": DESK | {Role.BILLING},
    "billing.checkout": DESK | {Role.BILLING},
    # Keep a client's card on file with their recorded consent, or take it off file.
    "billing.cards": DESK | {Role.BILLING},
    # Voiding an issued invoice reverses a sale in the books: not the front desk.
    "billing.void": MANAGERS | {Role.BILLING},
    # Refunds and credit notes give money back and reduce revenue: not the front desk.
    "billing.refund": MANAGERS | {Role.BILLING},
    # The till count at the end of the day: whoever closes the desk.
    "billing.close": DESK | {Role.BILLING},
    # Promotion codes and the referral programme: offers that cost revenue, set by managers.
    "promotions.manage": MANAGERS,
    # Failed payment plans: call the client, then resolve (a write-off is a credit note).
    "billing.follow_ups": MANAGERS | {Role.BILLING},
    # The legal name and tax numbers printed on invoices and receipts.
    "billing.identity": MANAGERS,
    # E-mail an issued invoice or receipt to the client: whoever checks them out.
    "billing.send": DESK | {Role.BILLING},
    # Deposits and cancellation fees: managers set each service's policy; the desk takes
    # deposits and decides proposed fees; giving a held deposit back is a refund.
    "policies.manage": MANAGERS,
    "deposits.take": DESK | {Role.BILLING},
    "deposits.refund": MANAGERS | {Role.BILLING},
    "fees.view": DESK | {Role.BILLING},
    "fees.decide": DESK | {Role.BILLING},
    "aftercare.manage": MANAGERS,
    "aftercare.send": MANAGERS | {Role.PROVIDER},
    "audit.view": MANAGERS,
    # The books: chart of accounts, trial balance, journal and accounting exports.
    "ledger.view": MANAGERS | {Role.BILLING},
}


def can(user: User, action: str) -> bool:
    """Whether the user's role allows the action."""
    return user.is_active and user.organization_id is not None and user.role in MATRIX[action]


def require(user: User, action: str) -> None:
    """Refuse with 403 unless the user's role allows the action."""
    if not can(user, action):
        raise Forbidden(f"Your role ({user.get_role_display()}) does not allow this.")
