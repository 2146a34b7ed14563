"""The ledger in accounting products' import layouts: pure functions over plain rows, no Django.

Amounts go from integer minor units to decimal text by integer arithmetic (divmod), so no
float ever touches them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

FORMATS = ("beancount", "xero-csv", "quickbooks-csv")

# ISO 4217 currencies whose minor unit is not the cent; every other one has two digits.
_EXPONENTS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}

BEANCOUNT_ROOTS = {
    "asset": "Assets",
    "liability": "Liabilities",
    "equity": "Equity",
    "revenue": "Income",
    "expense": "Expenses",
}

XERO_COLUMNS = (
    "*Narration",
    "*Date",
    "Description",
    "*AccountCode",
    "*TaxRate",
    "*Amount",
    "TrackingName1",
    "TrackingOption1",
)
QUICKBOOKS_COLUMNS = (
    "Journal No.",
    "Journal Date",
    "Account Name",
    "Debits",
    "Credits",
    "Description",
    "Name",
)


@dataclass(frozen=True)
class ExportLine:
    account_number: str
    account_name: str
    account_type: str  # asset, liability, equity, revenue, expense
    debit_cents: int
    credit_cents: int
    memo: str = ""


@dataclass(frozen=True)
class ExportEntry:
    number: int
    date: date  # the clinic's local date
    memo: str
    source: str
    location: str
    lines: tuple[ExportLine, ...]


def minor_units(currency: str) -> int:
    """How many decimal digits the currency's minor unit has (2 for USD, 0 for JPY)."""
    return _EXPONENTS.get(currency.upper(), 2)


def decimal_text(cents: int, currency: str) -> str:
    """Minor units as decimal text ("-1234" USD -> "-12.34"), by integer arithmetic only."""
    digits = minor_units(currency)
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 10**digits)
    return f"{sign}{whole}.{part:0{digits}d}" if digits else f"{sign}{whole}"


def beancount_account(line: ExportLine) -> str:
    """`Assets:CashOnHand-1000`: the type's root, the name in capitalised words, the number."""
    words = re.findall(r"[A-Za-z0-9]+", line.account_name)
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Account"
    if not name[0].isalpha():
        name = "A" + name
    number = re.sub(r"[^A-Za-z0-9]", "", line.account_number)
    return (
        f"{BEANCOUNT_ROOTS[line.account_type]}:{name}-{number}"
        if number
        else (f"{BEANCOUNT_ROOTS[line.account_type]}:{name}")
    )


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def beancount(entries: Iterable[ExportEntry], *, currency: str, title: str = "") -> str:
    """A beancount file: the accounts opened before their first use, one transaction per entry."""
    entries = list(entries)
    currency = currency.upper()
    first_use: dict[str, date] = {}
    for entry in entries:
        for line in entry.lines:
            name = beancount_account(line)
            if name not in first_use or entry.date < first_use[name]:
                first_use[name] = entry.date
    out: list[str] = []
    if title:
        out.append(f"option {_quoted('title')} {_quoted(title)}")
    out.append(f"option {_quoted('operating_currency')} {_quoted(currency)}")
    out.append("")
    for name, opened in sorted(first_use.items()):
        out.append(f"{opened.isoformat()} open {name} {currency}")
    for entry in entries:
        out.append("")
        out.append(f"{entry.date.isoformat()} * {_quoted(entry.memo)}")
        out.append(f"  entry: {_quoted(str(entry.number))}")
        out.append(f"  source: {_quoted(entry.source)}")
        if entry.location:
            out.append(f"  location: {_quoted(entry.location)}")
        for line in entry.lines:
            amount = decimal_text(line.debit_cents - line.credit_cents, currency)
            out.append(f"  {beancount_account(line)}  {amount} {currency}")
    return "\n".join(out) + "\n"


def _csv(header: tuple[str, ...], rows: Iterable[Iterable[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def xero_csv(entries: Iterable[ExportEntry], *, currency: str, tax_rate: str = "Tax Exempt") -> str:
    """Xero's manual journal import: a row per line, debits positive, credits negative.

    Xero groups rows into one journal by narration and date, so the narration starts with the
    entry's number. Dates are dd/mm/yyyy; the location becomes a tracking option; TaxRate is
    the name of a rate in the clinic's Xero (the US default is "Tax Exempt"). Xero takes at
    most 300 lines per file: split a long export by date range.
    """
    rows = []
    for entry in entries:
        narration = f"#{entry.number} {entry.memo}"
        for line in entry.lines:
            rows.append(
                (
                    narration,
                    entry.date.strftime("%d/%m/%Y"),
                    line.memo or entry.memo,
                    line.account_number,
                    tax_rate,
                    decimal_text(line.debit_cents - line.credit_cents, currency),
                    "Location" if entry.location else "",
                    entry.location,
                )
            )
    return _csv(XERO_COLUMNS, rows)


def quickbooks_csv(entries: Iterable[ExportEntry], *, currency: str) -> str:
    """QuickBooks Online's journal entry import: a row per line, debit or credit column.

    Rows sharing a Journal No. form one entry; dates are MM/DD/YYYY; accounts are matched by
    name (QuickBooks wants account numbers turned off during the import). Name is left empty:
    the ledger knows accounts, not clients.
    """
    rows = []
    for entry in entries:
        for line in entry.lines:
            rows.append(
                (
                    str(entry.number),
                    entry.date.strftime("%m/%d/%Y"),
                    line.account_name,
                    decimal_text(line.debit_cents, currency) if line.debit_cents else "",
                    decimal_text(line.credit_cents, currency) if line.credit_cents else "",
                    line.memo or entry.memo,
                    "",
                )
            )
    return _csv(QUICKBOOKS_COLUMNS, rows)


def render(fmt: str, entries: Iterable[ExportEntry], *, currency: str, title: str = "") -> str:
    """The entries in one of FORMATS."""
    if fmt == "beancount":
        return beancount(entries, currency=currency, title=title)
    if fmt == "xero-csv":
        return xero_csv(entries, currency=currency)
    if fmt == "quickbooks-csv":
        return quickbooks_csv(entries, currency=currency)
    raise ValueError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")
