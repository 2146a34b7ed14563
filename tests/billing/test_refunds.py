"""Refunds, account credit and credit notes: money given back, never more than was paid."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medspa.billing import refunds, services
from medspa.billing.models import CreditNote, InvoiceStatus, Payment, Refund
from medspa.billing.services import TenderIn
from medspa.core.errors import Conflict, Invalid, NotFound
from medspa.core.models import Role
from medspa.ledger.models import JournalEntry
from tests.billing.refund_helpers import books, issued, paid
from tests.conftest import Clinic, build_clinic


def key() -> str:
    return uuid.uuid4().hex


def test_a_partial_cash_refund_then_the_rest_leaves_the_invoice_refunded(clinic: Clinic) -> None:
    invoice = paid(clinic)
    cash = invoice.payments.get()
    manager = clinic.users[Role.MANAGER]

    first = refunds.refund_invoice(
        invoice=invoice,
        payment_id=cash.pk,
        amount_cents=10000,
        method="original",
        reason="Bruising, goodwill",
        idempotency_key=key(),
        actor=manager,
    )
    assert first.invoice.status == InvoiceStatus.PAID
    assert books(clinic)["cash"] == 45000 - 10000
    assert books(clinic)["refunds"] == -10000  # contra-revenue: a debit balance

    refunds.refund_invoice(
        invoice=invoice,
        payment_id=cash.pk,
        amount_cents=35000,
        method="original",
        reason="Client unhappy",
        idempotency_key=key(),
        actor=manager,
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.REFUNDED
    assert books(clinic) | {"refunds": 0} == {
        "cash": 0,
        "card_clearing": 0,
        "accounts_receivable": 0,
        "client_credit": 0,
        "refunds": 0,
        "cash_over_short": 0,
    }
    assert [r.tender for r in refunds.refunds_of(invoice)] == ["cash", "cash"]


def test_a_card_refund_goes_back_to_card_clearing_with_the_terminals_slip(
    clinic: Clinic,
) -> None:
    invoice = paid(clinic, ("card_external", 30000), ("cash", 15000))
    card = invoice.payments.get(kind="card_external")

    taken = refunds.refund_invoice(
        invoice=invoice,
        payment_id=card.pk,
        amount_cents=30000,
        method="original",
        reason="Wrong card charged",
        reference="TERM-REF-8841",
        idempotency_key=key(),
        actor=None,
    )

    assert (taken.refund.tender, taken.refund.reference) == ("card_external", "TERM-REF-8841")
    assert books(clinic)["card_clearing"] == 0 and books(clinic)["cash"] == 15000
    assert taken.invoice.status == InvoiceStatus.PAID  # the cash part stays paid


def test_a_refund_above_what_was_paid_is_refused_and_changes_nothing(clinic: Clinic) -> None:
    invoice = paid(clinic, ("card_external", 30000), ("cash", 15000))
    cash = invoice.payments.get(kind="cash")
    before = (Refund.objects.count(), JournalEntry.objects.count(), books(clinic))

    with pytest.raises(Invalid, match=r"more than the 150\.00 USD paid"):
        refunds.refund_invoice(
            invoice=invoice,
            payment_id=cash.pk,
            amount_cents=15001,
            method="original",
            reason="Too much",
            idempotency_key=key(),
            actor=None,
        )
    assert (Refund.objects.count(), JournalEntry.objects.count(), books(clinic)) == before


def test_two_refunds_together_never_exceed_the_payment(clinic: Clinic) -> None:
    invoice = paid(clinic)
    cash = invoice.payments.get()
    refunds.refund_invoice(
        invoice=invoice,
        payment_id=cash.pk,
        amount_cents=40000,
        method="original",
        reason="Most of it",
        idempotency_key=key(),
        actor=None,
    )
    with pytest.raises(Invalid, match=r"more than the 50\.00 USD") as refused:
        refunds.refund_invoice(
            invoice=invoice,
            payment_id=cash.pk,
            amount_cents=5001,
            method="original",
            reason="And more",
            idempotency_key=key(),
            actor=None,
        )
    assert refused.value.code == "refund_above_paid"
    # Nor across methods: account credit counts against the same money paid.
    with pytest.raises(Invalid, match=r"more than the 50\.00 USD"):
        refunds.refund_invoice(
            invoice=invoice,
            amount_cents=5001,
            method="account_credit",
            reason="As credit",
            idempotency_key=key(),
            actor=None,
        )
    assert refunds.refundable(invoice) == 5000


def test_bad_refunds_are_refused_with_clear_reasons(clinic: Clinic, outsider: Clinic) -> None:
    open_invoice = issued(clinic)
    invoice = paid(clinic, hour=12)
    theirs = paid(outsider)

    def attempt(**kw: object) -> None:
        args: dict[str, object] = {
            "invoice": invoice,
            "amount_cents": 100,
            "method": "original",
            "payment_id": invoice.payments.get().pk,
            "reason": "Because",
            "idempotency_key": key(),
            "actor": None,
        }
        refunds.refund_invoice(**(args | kw))  # type: ignore[arg-type]

    with pytest.raises(Invalid, match="above zero"):
        attempt(amount_cents=-100)
    with pytest.raises(Invalid, match="whole cents"):
        attempt(amount_cents=1.5)
    with pytest.raises(Invalid, match="required"):
        attempt(reason=" ")
    with pytest.raises(Invalid, match="Choose one of"):
        attempt(method="gift_card")
    with pytest.raises(Invalid, match="Say which payment"):
        attempt(payment_id=None)
    with pytest.raises(NotFound):
        attempt(payment_id=theirs.payments.get().pk)  # another clinic's payment
    with pytest.raises(Invalid, match=r"more than the 0\.00 USD"):
        attempt(invoice=open_invoice, method="account_credit", payment_id=None)
    draft, _ = services.build_invoice_from_chart(appointment=clinic.book(14), actor=None)
    with pytest.raises(Conflict, match="has not been issued"):
        attempt(invoice=draft, method="account_credit", payment_id=None)
    assert not Refund.objects.exists()


def test_no_refund_while_money_is_still_owed_and_no_reserved_keys(clinic: Clinic) -> None:
    invoice = issued(clinic)
    services.record_payment(
        invoice=invoice, tenders=[TenderIn("cash", 10000)], idempotency_key=key(), actor=None
    )
    # Handing the 100.00 back would leave the books saying the rest is all that is owed.
    with pytest.raises(Conflict) as refused:
        refunds.refund_invoice(
            invoice=invoice,
            amount_cents=10000,
            method="original",
            payment_id=invoice.payments.get().pk,
            reason="Changed their mind",
            idempotency_key=key(),
            actor=None,
        )
    assert refused.value.code == "invoice_not_paid" and not Refund.objects.exists()
    with pytest.raises(Invalid, match="reserved"):
        services.record_payment(
            invoice=invoice,
            tenders=[TenderIn("cash", 100)],
            idempotency_key=f"{services.INTERNAL_KEY_PREFIX}credit-note:1",
            actor=None,
        )


def test_a_replayed_key_returns_the_first_refund_and_never_refunds_twice(clinic: Clinic) -> None:
    invoice = paid(clinic)
    cash = invoice.payments.get()
    same = key()
    args = {
        "invoice": invoice,
        "payment_id": cash.pk,
        "amount_cents": 20000,
        "method": "original",
        "reason": "Goodwill",
        "idempotency_key": same,
        "actor": None,
    }
    first = refunds.refund_invoice(**args)  # type: ignore[arg-type]
    again = refunds.refund_invoice(**args)  # type: ignore[arg-type]

    assert (again.replayed, again.refund.pk) == (True, first.refund.pk)
    assert refunds.refunded(invoice) == 20000 and books(clinic)["cash"] == 25000
    with pytest.raises(Invalid, match="different refund") as reused:
        refunds.refund_invoice(**(args | {"amount_cents": 100}))  # type: ignore[arg-type]
    assert reused.value.code == "idempotency_key_reused"
    assert Refund.objects.count() == 1


def test_account_credit_is_granted_by_a_refund_and_spent_as_a_tender(clinic: Clinic) -> None:
    client = clinic.client
    first = paid(clinic, client=client)
    with pytest.raises(Invalid, match=r"0\.00 USD of account credit"):
        services.record_payment(
            invoice=issued(clinic, 12, client),
            tenders=[TenderIn("account_credit", 100)],
            idempotency_key=key(),
            actor=None,
        )

    refunds.refund_invoice(
        invoice=first,
        amount_cents=12000,
        method="account_credit",
        reason="Rebooked at a lower price",
        idempotency_key=key(),
        actor=None,
    )
    assert refunds.credit_balance(client) == 12000
    assert books(clinic)["client_credit"] == 12000 and books(clinic)["cash"] == 45000

    second = issued(clinic, 14, client)
    with pytest.raises(Invalid, match=r"120\.00 USD of account credit"):
        services.record_payment(
            invoice=second,
            tenders=[TenderIn("account_credit", 12001)],
            idempotency_key=key(),
            actor=None,
        )
    # Two credit tenders in one payment are checked together, not each against it all.
    with pytest.raises(Invalid, match=r"120\.00 USD of account credit"):
        services.record_payment(
            invoice=second,
            tenders=[TenderIn("account_credit", 8000), TenderIn("account_credit", 8000)],
            idempotency_key=key(),
            actor=None,
        )
    assert refunds.credit_balance(client) == 12000
    services.record_payment(
        invoice=second,
        tenders=[TenderIn("account_credit", 12000), TenderIn("cash", 33000)],
        idempotency_key=key(),
        actor=None,
    )
    second.refresh_from_db()
    assert second.status == InvoiceStatus.PAID
    assert refunds.credit_balance(client) == 0
    assert books(clinic)["client_credit"] == 0
    assert [m.amount_cents for m in refunds.credit_history(client)] == [-12000, 12000]
    # Refunding the part paid with credit to its "original method" gives the credit back.
    spent = second.payments.get(kind="account_credit")
    refunds.refund_invoice(
        invoice=second,
        payment_id=spent.pk,
        amount_cents=2000,
        method="original",
        reason="Partly back",
        idempotency_key=key(),
        actor=None,
    )
    assert refunds.credit_balance(client) == 2000 == books(clinic)["client_credit"]


def test_a_credit_note_on_an_open_invoice_reduces_what_is_owed(clinic: Clinic) -> None:
    invoice = issued(clinic)  # 450.00 owed
    note = refunds.issue_credit_note(
        invoice=invoice, amount_cents=5000, reason="Price was wrong", actor=None
    )

    invoice.refresh_from_db()
    assert (note.number, note.display_number, note.applied_cents) == (1, "CN000001", 5000)
    assert invoice.total_cents == 45000  # the issued invoice is never edited
    assert (invoice.balance_cents, invoice.status) == (40000, InvoiceStatus.PARTIALLY_PAID)
    assert books(clinic)["accounts_receivable"] == 40000
    assert refunds.refundable(invoice) == 0  # a credit note is not money to give back
    with pytest.raises(Invalid, match=r"more than the 400\.00 USD owed"):
        services.record_payment(
            invoice=invoice,
            tenders=[TenderIn("cash", 45000)],
            idempotency_key=key(),
            actor=None,
        )
    services.record_payment(
        invoice=invoice, tenders=[TenderIn("cash", 40000)], idempotency_key=key(), actor=None
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert books(clinic)["accounts_receivable"] == 0
    second = refunds.issue_credit_note(
        invoice=issued(clinic, 12), amount_cents=100, reason="Typo", actor=None
    )
    assert second.number == 2  # one gap-free series per organization


def test_a_credit_note_on_a_paid_invoice_is_refunded_or_becomes_credit(
    clinic: Clinic, outsider: Clinic
) -> None:
    refunds.issue_credit_note(
        invoice=issued(outsider), amount_cents=100, reason="Their own", actor=None
    )
    invoice = paid(clinic)
    with pytest.raises(Invalid, match="say whether it goes back"):
        refunds.issue_credit_note(invoice=invoice, amount_cents=5000, reason="Late", actor=None)

    note = refunds.issue_credit_note(
        invoice=invoice,
        amount_cents=5000,
        reason="Service shortened",
        method="original",
        payment_id=invoice.payments.get().pk,
        actor=None,
    )
    assert note.number == 1  # the outsider's series is its own
    assert (note.applied_cents, note.refunds.get().amount_cents) == (0, 5000)
    credit = refunds.issue_credit_note(
        invoice=invoice, amount_cents=3000, reason="Goodwill", method="account_credit", actor=None
    )
    assert credit.refunds.get().tender == "account_credit"
    assert books(clinic)["cash"] == 40000 and books(clinic)["client_credit"] == 3000

    with pytest.raises(Invalid, match=r"at most 370\.00 USD more"):
        refunds.issue_credit_note(
            invoice=invoice, amount_cents=37001, reason="Too much", method="original", actor=None
        )
    with pytest.raises(Conflict, match="draft"):
        draft, _ = services.build_invoice_from_chart(appointment=clinic.book(14), actor=None)
        refunds.issue_credit_note(invoice=draft, amount_cents=100, reason="No", actor=None)
    assert CreditNote.objects.filter(organization=clinic.organization).count() == 2


# --- every movement balanced, refunds never above what was paid ---------------------------

MOVES = st.lists(
    st.tuples(
        st.sampled_from(["pay_cash", "pay_card", "refund", "credit", "note", "spend"]),
        st.integers(min_value=1, max_value=50000),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=MOVES)
@pytest.mark.django_db
def test_random_payments_refunds_and_credit_notes_keep_the_books_balanced(
    moves: list[tuple[str, int]],
) -> None:
    clinic = build_clinic("Prop")
    client = clinic.client
    invoices = [issued(clinic, 9, client), issued(clinic, 12, client)]
    for step, (move, amount) in enumerate(moves):
        invoice = invoices[step % 2]
        invoice.refresh_from_db()
        try:
            if move in ("pay_cash", "pay_card", "spend"):
                kind = {"pay_cash": "cash", "pay_card": "card_external"}.get(move, "account_credit")
                services.record_payment(
                    invoice=invoice,
                    tenders=[TenderIn(kind, amount)],
                    idempotency_key=key(),
                    actor=None,
                )
            elif move == "refund":
                payment = invoice.payments.exclude(kind="credit_note").first()
                refunds.refund_invoice(
                    invoice=invoice,
                    payment_id=payment.pk if payment else None,
                    amount_cents=amount,
                    method="original",
                    reason="r",
                    idempotency_key=key(),
                    actor=None,
                )
            elif move == "credit":
                refunds.refund_invoice(
                    invoice=invoice,
                    amount_cents=amount,
                    method="account_credit",
                    reason="c",
                    idempotency_key=key(),
                    actor=None,
                )
            else:
                refunds.issue_credit_note(
                    invoice=invoice,
                    amount_cents=amount,
                    reason="n",
                    method="account_credit",
                    actor=None,
                )
        except (Invalid, Conflict):
            pass  # refused moves change nothing; the invariants below still hold
        for each in invoices:
            each.refresh_from_db()
            assert refunds.refunded(each) <= refunds.money_paid(each)
            for payment in Payment.objects.filter(invoice=each):
                assert refunds.payment_refundable(payment) >= 0
            assert each.paid_cents <= each.total_cents
    balances = books(clinic)
    assert balances["client_credit"] == refunds.credit_balance(client) >= 0
    owed = sum(i.balance_cents for i in invoices)
    assert balances["accounts_receivable"] == owed
