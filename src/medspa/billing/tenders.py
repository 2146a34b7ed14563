"""Kinds of tender and where each lands in the books: an open registry, not a fixed enum.

Gift cards and packages register their own kinds later (their account, their gateway, and
a check that the card or package covers the amount), without a migration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from medspa.billing.models import Invoice


@dataclass(frozen=True)
class Tender:
    kind: str
    label: str
    account: str  # the ledger account debited when it is taken
    gateway: str = "manual"
    # Refuses (raises a DomainError) when this tender cannot cover the amount for the invoice.
    check: Callable[[Invoice, int], None] | None = None
    # Charged to a card the tender names (`TenderIn.card`): a card on file or one presented.
    takes_card: bool = False


_TENDERS: dict[str, Tender] = {}


def register_tender(tender: Tender) -> None:
    _TENDERS[tender.kind] = tender


def tender_kinds() -> list[str]:
    return sorted(_TENDERS)


def tender_named(kind: str) -> Tender | None:
    return _TENDERS.get(kind)


register_tender(Tender("cash", "Cash", account="cash"))
# A cheque is banked with the cash: it sits in the drawer until the deposit.
register_tender(Tender("cheque", "Cheque", account="cash"))
# The clinic's own card terminal, not connected to us: settles into card clearing.
register_tender(Tender("card_external", "Card (terminal)", account="card_clearing"))
