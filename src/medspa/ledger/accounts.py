"""The system chart of accounts every organization starts with (pure data, no Django)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SystemAccount:
    key: str
    number: str
    name: str
    type: str  # AccountType value: asset, liability, equity, revenue, expense


SYSTEM_ACCOUNTS: tuple[SystemAccount, ...] = (
    SystemAccount("cash", "1000", "Cash on hand", "asset"),
    SystemAccount("card_clearing", "1010", "Card clearing", "asset"),
    SystemAccount("accounts_receivable", "1100", "Accounts receivable", "asset"),
    SystemAccount("deposits_held", "2000", "Deposits held", "liability"),
    SystemAccount("client_credit", "2010", "Client account credit", "liability"),
    SystemAccount("gift_cards_outstanding", "2020", "Gift cards outstanding", "liability"),
    SystemAccount("packages_outstanding", "2030", "Prepaid packages outstanding", "liability"),
    SystemAccount("tips_payable", "2100", "Tips payable to providers", "liability"),
    SystemAccount("sales_tax_payable", "2200", "Sales tax payable", "liability"),
    SystemAccount("owner_equity", "3000", "Owner's equity", "equity"),
    SystemAccount("service_revenue", "4000", "Service revenue", "revenue"),
    SystemAccount("retail_revenue", "4010", "Retail revenue", "revenue"),
    # Late-cancellation and no-show fees, and forfeited deposits.
    SystemAccount("fees", "4100", "Cancellation and no-show fees", "revenue"),
    # Contra-revenue: debit-side balances that reduce revenue.
    SystemAccount("discounts", "4900", "Discounts given", "revenue"),
    SystemAccount("refunds", "4910", "Refunds given", "revenue"),
    SystemAccount("cash_over_short", "6000", "Cash over and short", "expense"),
    SystemAccount("processing_fees", "6100", "Card processing fees", "expense"),
    # Account credit granted to a client for referring another (docs/decisions/0010): a
    # marketing cost, not a discount on a sale; created for existing organizations on first
    # use, since posting to a missing system key runs ensure_chart_of_accounts.
    SystemAccount("referral_rewards", "6200", "Referral rewards", "expense"),
)

ACCOUNT_KEYS: frozenset[str] = frozenset(a.key for a in SYSTEM_ACCOUNTS)
BY_KEY: dict[str, SystemAccount] = {a.key: a for a in SYSTEM_ACCOUNTS}
