"""The demo clinic's offers: promotion codes the desk types and the referral programme.

Set up before the past visits are checked out, so the books hold what a real desk would:
now and then a code on a first visit or a services bill, a referred client's first-visit
discount, and the referrer's account credit granted when that first invoice is paid.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from medspa.billing import promotions, referrals
from medspa.billing.models import Invoice
from medspa.clients.models import Client, ClientTag
from medspa.core.errors import DomainError
from medspa.core.models import Organization, Role, User
from medspa.scheduling.models import Appointment, AppointmentStatus

# (code, description, percent in basis points, applies to, minimum spend, days valid
# before and after "now" (None: open-ended), limit): what the clinic ran this quarter.
CODES = (
    ("WELCOME10", "New clients: 10% off the first visit", 1_000, "all", 0, None, None, 500),
    ("GLOW20", "Autumn skin: 20% off treatments", 2_000, "services", 15_000, 40, 60, None),
    ("SUMMER15", "Summer laser: 15% off treatments", 1_500, "services", 0, 200, -75, None),
)
REFERRER_CREDIT_CENTS = 2_500
FIRST_VISIT_PERCENT_BP = 1_000


def set_up_offers(*, organization: Organization, now: datetime, seed: int) -> dict[int, str]:
    """Codes, the referral programme and who referred whom; the code each client will use."""
    rng = random.Random(f"offers|{seed}")
    manager = User.objects.filter(organization=organization, role=Role.MANAGER).first()
    desk = User.objects.filter(organization=organization, role=Role.FRONT_DESK).first()
    today = promotions.local_today(organization, now)
    for code, text, percent, scope, minimum, before, after, limit in CODES:
        promotion = promotions.create_promotion_code(
            organization=organization,
            actor=manager,
            code=code,
            description=text,
            percent_bp=percent,
            applies_to=scope,
            valid_from=today - timedelta(days=before) if before is not None else None,
            valid_until=today + timedelta(days=after) if after is not None else None,
            minimum_spend_cents=minimum,
            max_redemptions=limit,
        )
        if after is not None and after < 0:
            promotions.update_promotion_code(promotion=promotion, actor=manager, is_active=False)
    referrals.set_referral_programme(
        organization=organization,
        actor=manager,
        is_active=True,
        referrer_credit_cents=REFERRER_CREDIT_CENTS,
        first_visit_percent_bp=FIRST_VISIT_PERCENT_BP,
    )
    # Clients tagged "referral" came on a friend's word: a client seen before them.
    referred = list(
        Client.objects.filter(
            organization=organization,
            pk__in=ClientTag.objects.filter(organization=organization, slug="referral").values(
                "client_id"
            ),
        ).order_by("pk")
    )
    regulars = list(
        Client.objects.filter(organization=organization)
        .exclude(pk__in=[c.pk for c in referred])
        .order_by("pk")[:120]
    )
    for client in referred:
        referrals.set_referrer(client=client, referrer=rng.choice(regulars), actor=desk)
    # Which clients will hand the desk a code at some visit.
    chosen: dict[int, str] = {}
    seen = Appointment.objects.filter(
        organization=organization, status=AppointmentStatus.COMPLETED, start__lt=now
    ).values_list("client_id", flat=True)
    referred_ids = {c.pk for c in referred}
    for client_id in sorted(set(seen)):
        if client_id in referred_ids:
            continue
        roll = rng.random()
        if roll < 0.06:
            chosen[client_id] = "WELCOME10"
        elif roll < 0.12:
            chosen[client_id] = "GLOW20"
    return chosen


def offer_at_checkout(
    *, invoice: Invoice, desk: User | None, codes: dict[int, str], now: datetime
) -> None:
    """The client's code, or a referred client's first-visit discount, on the draft."""
    offer = referrals.first_visit_discount_offer(invoice)
    try:
        if offer is not None:
            referrals.add_first_visit_discount(invoice=invoice, actor=desk)
        elif invoice.client_id in codes:
            promotions.apply_promotion_code(
                invoice=invoice, actor=desk, code=codes[invoice.client_id], now=now
            )
            del codes[invoice.client_id]  # used once
    except DomainError:
        # Refused as the desk would see it (expired, below the minimum): no discount then.
        return
