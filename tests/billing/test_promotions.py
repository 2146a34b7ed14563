"""Promotion codes: created by managers, applied at the desk, counted under a lock, freed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medspa.billing import money, promotions, services
from medspa.billing.models import Invoice, InvoiceLine, InvoiceStatus, LineKind
from medspa.billing.promotion_models import PromotionCode, PromotionRedemption
from medspa.core.errors import Conflict, DomainError, Invalid
from medspa.core.models import AuditEvent, Role
from medspa.ledger.selectors import account_balance, trial_balance
from tests.billing.helpers import desk, taxed
from tests.conftest import Clinic, build_clinic
from tests.scheduling.test_concurrency import race


def draft(clinic: Clinic, hour: int = 10, client: Any = None) -> Invoice:
    """A booked neurotoxin visit's draft invoice: 450.00 of services."""
    invoice, _ = services.build_invoice_from_chart(
        appointment=clinic.book(hour, client=client), actor=None
    )
    return invoice


def retail(invoice: Invoice, cents: int = 4000) -> InvoiceLine:
    return services.add_line(
        invoice=invoice, actor=None, description="SPF 50", unit_price_cents=cents
    )


def code(clinic: Clinic, text: str = "WELCOME10", **terms: Any) -> PromotionCode:
    terms.setdefault("percent_bp", None if "amount_cents" in terms else 1000)
    return promotions.create_promotion_code(
        organization=clinic.organization, actor=clinic.users[Role.MANAGER], code=text, **terms
    )


def apply(invoice: Invoice, text: str, **kw: Any) -> InvoiceLine:
    return promotions.apply_promotion_code(invoice=invoice, actor=None, code=text, **kw)


def refused(invoice: Invoice, text: str, **kw: Any) -> DomainError:
    before = (invoice.lines.count(), PromotionRedemption.objects.count())
    with pytest.raises(DomainError) as caught:
        apply(invoice, text, **kw)
    assert (invoice.lines.count(), PromotionRedemption.objects.count()) == before
    assert caught.value.errors[0].field == "code"
    return caught.value


# --- creating codes -----------------------------------------------------------------------


def test_a_code_is_trimmed_and_case_insensitive_and_unique_in_the_organization(
    clinic: Clinic, outsider: Clinic
) -> None:
    made = code(clinic, "  welcome10 ")
    assert made.code == "WELCOME10"
    with pytest.raises(Conflict):
        code(clinic, "Welcome10")
    # Another organization may use the same code.
    assert code(outsider, "welcome10").code == "WELCOME10"


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"percent_bp": 1000, "amount_cents": 500}, "percent_bp"),
        ({"percent_bp": 0}, "percent_bp"),
        ({"percent_bp": 10_001}, "percent_bp"),
        ({"amount_cents": -5}, "amount_cents"),
        ({"amount_cents": 5.0}, "amount_cents"),
        ({"applies_to": "everything"}, "applies_to"),
        ({"applies_to": "category", "tax_category": "food"}, "tax_category"),
        ({"valid_from": date(2026, 5, 2), "valid_until": date(2026, 5, 1)}, "valid_until"),
        ({"max_redemptions": 0}, "max_redemptions"),
        ({"minimum_spend_cents": -1}, "minimum_spend_cents"),
    ],
)
def test_bad_terms_are_refused_and_create_nothing(
    clinic: Clinic, terms: dict[str, Any], field: str
) -> None:
    with pytest.raises(Invalid) as caught:
        code(clinic, **terms)
    assert caught.value.errors[0].field == field
    assert not PromotionCode.objects.exists()


@pytest.mark.parametrize("text", ["", "   ", "A", "WELCOME 10", "x" * 41, "CAFÉ"])
def test_a_malformed_code_is_refused(clinic: Clinic, text: str) -> None:
    with pytest.raises(Invalid):
        code(clinic, text)


# --- applying codes -----------------------------------------------------------------------


def test_a_percent_code_becomes_a_discount_line_naming_the_code(clinic: Clinic) -> None:
    code(clinic)
    invoice = draft(clinic)

    line = apply(invoice, " welcome10")

    invoice.refresh_from_db()
    assert line.kind == LineKind.DISCOUNT and line.amount_cents == -4500
    assert "WELCOME10" in line.description and line.reason == "Promotion code WELCOME10"
    assert (invoice.discount_cents, invoice.total_cents) == (4500, 40500)
    assert PromotionCode.objects.get().used_count == 1
    event = AuditEvent.objects.filter(action="billing.promotion_applied").get()
    assert event.data["code"] == "WELCOME10" and event.data["amount_cents"] == 4500


def test_a_services_only_code_spreads_over_services_and_never_lowers_retail_tax(
    clinic: Clinic,
) -> None:
    taxed(clinic, retail=1000)
    code(clinic, "FACE20", percent_bp=2000, applies_to="services")
    invoice = draft(clinic)
    spf = retail(invoice, 4000)

    apply(invoice, "FACE20")

    invoice.refresh_from_db()
    spf.refresh_from_db()
    assert invoice.discount_cents == 9000  # 20% of the 450.00 service, not of the SPF
    assert (spf.discount_cents, spf.tax_cents) == (0, 400)
    assert invoice.total_cents == 45000 + 4000 - 9000 + 400


def test_an_amount_code_larger_than_what_it_covers_takes_only_that(clinic: Clinic) -> None:
    code(clinic, "SPF25", amount_cents=2500, applies_to="retail")
    invoice = draft(clinic)
    retail(invoice, 1800)

    line = apply(invoice, "SPF25")

    assert line.amount_cents == -1800  # never below zero
    invoice.refresh_from_db()
    assert invoice.total_cents == 45000


def test_a_category_code_covers_only_that_tax_category(clinic: Clinic) -> None:
    code(clinic, "RETAIL5", amount_cents=500, applies_to="category", tax_category="retail")
    invoice = draft(clinic)
    refused(invoice, "RETAIL5")  # a service visit has no retail
    retail(invoice, 3000)
    assert apply(invoice, "RETAIL5").amount_cents == -500


@pytest.mark.parametrize(
    ("terms", "why"),
    [
        ({"valid_until": date(2026, 1, 31)}, "promotion_expired"),
        ({"valid_from": date(2099, 1, 1)}, "promotion_not_yet_valid"),
        ({"minimum_spend_cents": 50_000}, "promotion_below_minimum"),
        ({"applies_to": "retail"}, "promotion_not_covered"),
    ],
)
def test_a_code_out_of_its_terms_gets_a_clear_error_and_changes_nothing(
    clinic: Clinic, terms: dict[str, Any], why: str
) -> None:
    code(clinic, **terms)
    invoice = draft(clinic)
    error = refused(invoice, "WELCOME10")
    assert error.code == why and "WELCOME10" in error.detail
    assert PromotionCode.objects.get().used_count == 0


def test_unknown_and_deactivated_codes_are_refused(clinic: Clinic, outsider: Clinic) -> None:
    made = code(clinic)
    code(outsider, "THEIRS")
    invoice = draft(clinic)
    assert refused(invoice, "NOPE").code == "promotion_unknown"
    assert refused(invoice, "THEIRS").code == "promotion_unknown"  # another clinic's code
    promotions.update_promotion_code(promotion=made, actor=None, is_active=False)
    assert refused(invoice, "WELCOME10").code == "promotion_inactive"


def test_the_dates_are_read_in_the_clinics_zone(clinic: Clinic) -> None:
    # 02:00 UTC on June 1 is still May 31 in Boston: the last day of the code.
    assert clinic.location.time_zone == "America/New_York"
    code(clinic, valid_until=date(2026, 5, 31))
    invoice = draft(clinic)
    assert apply(invoice, "WELCOME10", now=datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    other = draft(clinic, 12)
    late = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 01:00 on June 1 in Boston (EDT)
    assert refused(other, "WELCOME10", now=late).code == "promotion_expired"


def test_a_code_is_once_per_client_and_once_per_invoice(clinic: Clinic) -> None:
    code(clinic)
    invoice = draft(clinic)
    apply(invoice, "WELCOME10")
    assert refused(invoice, "WELCOME10").code == "promotion_on_invoice"
    again = draft(clinic, 12, client=invoice.client)
    assert refused(again, "WELCOME10").code == "promotion_used_by_client"
    # Another client may.
    assert apply(draft(clinic, 14), "WELCOME10")


def test_a_used_up_code_is_refused_and_removing_the_line_frees_a_use(clinic: Clinic) -> None:
    code(clinic, max_redemptions=1)
    first = draft(clinic)
    line = apply(first, "WELCOME10")
    second = draft(clinic, 12)
    assert refused(second, "WELCOME10").code == "promotion_used_up"

    promotions.remove_promotion(invoice=first, line_id=line.pk, actor=desk(clinic))

    assert PromotionCode.objects.get().used_count == 0
    first.refresh_from_db()
    assert first.discount_cents == 0
    event = AuditEvent.objects.filter(action="billing.line_removed").get()
    assert event.data["promotion_codes_freed"] == ["WELCOME10"]
    assert apply(second, "WELCOME10")


def test_voiding_a_draft_frees_its_code(clinic: Clinic) -> None:
    code(clinic, max_redemptions=1)
    invoice = draft(clinic)
    apply(invoice, "WELCOME10")
    services.void_invoice(invoice=invoice, actor=None, reason="Booked twice")
    assert PromotionCode.objects.get().used_count == 0
    assert apply(draft(clinic, 12, client=invoice.client), "WELCOME10")


def test_an_issued_invoice_keeps_its_code_and_books_the_discount(clinic: Clinic) -> None:
    code(clinic)
    invoice = draft(clinic)
    apply(invoice, "WELCOME10")
    issued = services.issue_invoice(invoice=invoice, actor=None)
    assert issued.status == InvoiceStatus.OPEN
    assert account_balance(clinic.organization, "discounts") == -4500
    with pytest.raises(Conflict):
        apply(issued, "WELCOME10")
    assert PromotionCode.objects.get().used_count == 1


def test_issuing_is_refused_when_the_minimum_is_no_longer_met(clinic: Clinic) -> None:
    code(clinic, "BIG", amount_cents=1000, minimum_spend_cents=48_000)
    invoice = draft(clinic)
    spf = retail(invoice, 4000)
    apply(invoice, "BIG")
    services.remove_line(invoice=invoice, line=spf, actor=None)
    with pytest.raises(Invalid, match="BIG needs a spend"):
        services.issue_invoice(invoice=invoice, actor=None)


def test_issuing_is_refused_while_a_code_takes_nothing_and_the_client_keeps_it(
    clinic: Clinic,
) -> None:
    code(clinic, "SERUM5", amount_cents=500, applies_to="retail")
    invoice = draft(clinic)
    serum = retail(invoice, 4000)
    apply(invoice, "SERUM5")
    services.remove_line(invoice=invoice, line=serum, actor=None)

    with pytest.raises(Invalid, match="SERUM5 takes nothing off"):
        services.issue_invoice(invoice=invoice, actor=None)

    invoice.refresh_from_db()
    assert invoice.is_draft


def test_a_manager_cannot_lower_the_limit_below_the_uses(clinic: Clinic) -> None:
    made = code(clinic, max_redemptions=5)
    apply(draft(clinic), "WELCOME10")
    apply(draft(clinic, 12), "WELCOME10")
    with pytest.raises(Invalid):
        promotions.update_promotion_code(promotion=made, actor=None, max_redemptions=1)
    with pytest.raises(Invalid):
        promotions.update_promotion_code(promotion=made, actor=None, percent_bp=5000)
    changed = promotions.update_promotion_code(promotion=made, actor=None, max_redemptions=2)
    assert changed.max_redemptions == 2


# --- the invariant ------------------------------------------------------------------------

STEP = st.sampled_from(["apply", "remove", "void", "issue"])


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    limit=st.integers(1, 3),
    steps=st.lists(st.tuples(STEP, st.integers(0, 3)), min_size=1, max_size=12),
)
@pytest.mark.django_db
def test_redemptions_never_exceed_the_limit_and_the_books_balance(
    limit: int, steps: list[tuple[str, int]]
) -> None:
    # Examples share the test's transaction: each one works in a clinic of its own.
    clinic = build_clinic("Hypothesis")
    code(clinic, "LIMITED", max_redemptions=limit, once_per_client=False)
    invoices = [draft(clinic, 9 + 2 * i) for i in range(4)]
    for step, which in steps:
        invoice = Invoice.objects.get(pk=invoices[which].pk)
        try:
            if step == "apply":
                apply(invoice, "LIMITED")
            elif step == "remove":
                line = invoice.lines.filter(source_type="promotion_code").first()
                if line is not None:
                    services.remove_line(invoice=invoice, line=line, actor=None)
            elif step == "void":
                services.void_invoice(invoice=invoice, actor=None, reason="test")
            else:
                services.issue_invoice(invoice=invoice, actor=None)
        except DomainError:
            pass
        promotion = PromotionCode.objects.get(organization=clinic.organization)
        live = PromotionRedemption.objects.filter(promotion=promotion, status="applied")
        assert promotion.used_count == live.count() <= limit
        # Each counted redemption is one promotion line on a live invoice, and back.
        lines = InvoiceLine.objects.filter(
            organization=clinic.organization, source_type="promotion_code"
        ).exclude(invoice__status=InvoiceStatus.VOID)
        assert sorted(r.line_id or 0 for r in live) == sorted(x.pk for x in lines)
    assert trial_balance(clinic.organization).balanced


# --- concurrency --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_invoices_race_for_the_last_redemption_and_exactly_one_wins() -> None:
    clinic = build_clinic("RacePromo")
    code(clinic, "LAST", max_redemptions=3, once_per_client=False)
    drafts = [draft(clinic, h) for h in (9, 11, 13, 15, 10, 12)]
    apply(drafts[4], "LAST")
    apply(drafts[5], "LAST")  # one use left

    results = race([lambda d=d: apply(Invoice.objects.get(pk=d.pk), "LAST") for d in drafts[:4]])

    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == {"InvoiceLine": 1, "DomainError": 3} or outcomes == {
        "InvoiceLine": 1,
        "Invalid": 3,
    }, results
    assert all(getattr(r, "code", "promotion_used_up") == "promotion_used_up" for r in results)
    assert PromotionCode.objects.get().used_count == 3
    assert PromotionRedemption.objects.filter(status="applied").count() == 3


# --- the API ------------------------------------------------------------------------------


def test_the_api_creates_lists_changes_applies_and_removes_codes(
    clinic: Clinic, outsider: Clinic, api_as: Any
) -> None:
    manager = api_as(clinic.users[Role.MANAGER])
    made = manager.post(
        "/api/v1/promotion-codes",
        {"code": "spring15", "percent_bp": 1500, "applies_to": "services", "max_redemptions": 50},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["code"] == "SPRING15" and made.json()["offer"] == "15% off services"
    invoice = draft(clinic)
    front = api_as(desk(clinic))
    applied = front.post(
        f"/api/v1/invoices/{invoice.pk}/promotion",
        {"code": "Spring15"},
        content_type="application/json",
    )
    assert applied.status_code == 201, applied.content
    line = next(x for x in applied.json()["lines"] if x["kind"] == "discount")
    assert line["amount_cents"] == -6750
    bad = front.post(
        f"/api/v1/invoices/{invoice.pk}/promotion",
        {"code": "NOPE"},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad["Content-Type"] == "application/problem+json"
    assert bad.json()["errors"][0]["field"] == "code"
    removed = front.delete(f"/api/v1/invoices/{invoice.pk}/promotion/{line['id']}")
    assert removed.status_code == 200 and removed.json()["discount_cents"] == 0
    listed = front.get("/api/v1/promotion-codes").json()
    assert [c["used_count"] for c in listed["items"]] == [0]
    ended = manager.patch(
        f"/api/v1/promotion-codes/{made.json()['id']}",
        {"is_active": False},
        content_type="application/json",
    )
    assert ended.status_code == 200 and ended.json()["is_active"] is False
    # The desk may not create codes; another clinic never sees or changes ours.
    denied = front.post(
        "/api/v1/promotion-codes",
        {"code": "X1", "percent_bp": 100},
        content_type="application/json",
    )
    assert denied.status_code == 403
    theirs = api_as(outsider.users[Role.OWNER])
    assert theirs.get("/api/v1/promotion-codes").json()["count"] == 0
    assert (
        theirs.patch(
            f"/api/v1/promotion-codes/{made.json()['id']}",
            {"is_active": True},
            content_type="application/json",
        ).status_code
        == 404
    )


def test_removing_a_non_promotion_line_through_the_promotion_route_is_not_found(
    clinic: Clinic, api_as: Any
) -> None:
    invoice = draft(clinic)
    service_line = invoice.lines.get()
    front = api_as(desk(clinic))
    answer = front.delete(f"/api/v1/invoices/{invoice.pk}/promotion/{service_line.pk}")
    assert answer.status_code == 404
    assert invoice.lines.count() == 1


# --- the staff page -----------------------------------------------------------------------


@pytest.fixture
def manager_page(clinic: Clinic) -> HttpClient:
    browser = HttpClient()
    browser.force_login(clinic.users[Role.MANAGER])
    return browser


def test_the_code_list_page_reads_in_a_fixed_few_queries(
    clinic: Clinic, manager_page: HttpClient, django_assert_max_num_queries: Any
) -> None:
    for i in range(15):
        code(clinic, f"CODE{i}", max_redemptions=10)
    manager_page.get("/promotions/")  # warm the session and the chart
    with django_assert_max_num_queries(8):
        page = manager_page.get("/promotions/")
    assert page.status_code == 200
    assert b"CODE14" in page.content


def test_a_manager_creates_and_deactivates_a_code_on_the_page(
    clinic: Clinic, manager_page: HttpClient
) -> None:
    made = manager_page.post(
        "/promotions/",
        {
            "code": "glow20",
            "kind": "percent",
            "value": "20",
            "applies_to": "services",
            "valid_until": (clinic.day() + timedelta(days=30)).isoformat(),
            "minimum_spend": "100",
            "max_redemptions": "25",
            "once_per_client": "yes",
        },
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    promotion = PromotionCode.objects.get()
    assert (promotion.code, promotion.percent_bp, promotion.minimum_spend_cents) == (
        "GLOW20",
        2000,
        10000,
    )
    bad = manager_page.post("/promotions/", {"code": "glow20", "kind": "percent", "value": "5"})
    assert bad.status_code == 422 and b"GLOW20 exists" in bad.content
    manager_page.post(f"/promotions/{promotion.pk}/active", {"active": "no"})
    promotion.refresh_from_db()
    assert promotion.is_active is False


def test_the_desk_and_the_outsider_never_reach_the_code_page(
    clinic: Clinic, outsider: Clinic
) -> None:
    front = HttpClient()
    front.force_login(desk(clinic))
    assert front.get("/promotions/").status_code == 404
    promotion = code(clinic)
    theirs = HttpClient()
    theirs.force_login(outsider.users[Role.MANAGER])
    assert theirs.post(f"/promotions/{promotion.pk}/active", {"active": "no"}).status_code == 404
    promotion.refresh_from_db()
    assert promotion.is_active


def test_the_checkout_page_applies_a_code_or_shows_why_not(
    clinic: Clinic,
) -> None:
    code(clinic)
    invoice = draft(clinic)
    front = HttpClient()
    front.force_login(desk(clinic))
    page = front.get(f"/invoices/{invoice.pk}/")
    assert b'name="code"' in page.content
    bad = front.post(f"/invoices/{invoice.pk}/promotion", {"code": "nope"})
    assert bad.status_code == 422 and b"There is no promotion code NOPE" in bad.content
    good = front.post(f"/invoices/{invoice.pk}/promotion", {"code": "welcome10"})
    assert good.status_code == 302
    invoice.refresh_from_db()
    assert invoice.discount_cents == 4500
    assert money.format_cents(invoice.total_cents) == "405.00 USD"
