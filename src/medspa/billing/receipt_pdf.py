"""An invoice or receipt as a PDF: the clinic's legal identity and tax numbers, every line with
its quantity, price, discount and tax, tax per rate, tips, payments by tender, refunds and
credit notes, and the balance.

Drawn with reportlab like the consent PDFs (docs/decisions/0005 and 0011): no system
libraries, deterministic output. A draft is watermarked DRAFT and is never called a receipt;
an invoice becomes a receipt once nothing is owed on it. Layout sizes are whole points or
millimetres: billing holds no float literal (tests/ledger/test_no_float.py).

Text in any script: the page font is DejaVu Sans when the machine has it (Latin, Greek,
Cyrillic, Hebrew, Arabic letters and more, embedded as a subset), else Helvetica; Chinese,
Japanese and Korean runs switch to reportlab's built-in CID fonts, which PDF readers supply.
A character neither font can draw prints as "?" rather than as an empty box.
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.db import transaction
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from medspa.billing.models import (
    CHARGE_KINDS,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Payment,
    Refund,
    TaxRate,
)
from medspa.billing.refunds import CREDIT_NOTE_KIND, credit_notes_of, refunds_of
from medspa.billing.selectors import invoice_detail
from medspa.billing.tenders import tender_named
from medspa.core.audit import record_event
from medspa.core.models import Organization, User
from medspa.ledger.exports import decimal_text

log = logging.getLogger(__name__)

# Where DejaVu Sans lives on Debian, Ubuntu, Fedora and Alpine; MEDSPA_PDF_FONT_DIR first.
FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu-sans-fonts",
    "/usr/share/fonts/TTF",
    "/usr/share/fonts/dejavu",
)
GREY = colors.HexColor("#5b6470")
RULE = colors.HexColor("#c9ced6")
WATERMARK = colors.HexColor("#e3e6ea")


# --- fonts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    # Whether the page font draws more than Latin-1 (a TrueType font with many scripts).
    unicode: bool


@cache
def fonts() -> Fonts:
    """DejaVu Sans (registered once per process) if found, else the built-in Helvetica."""
    wanted = getattr(settings, "MEDSPA_PDF_FONT_DIR", "") or ""
    for folder in (wanted, *FONT_DIRS):
        if not folder:
            continue
        regular, bold = Path(folder, "DejaVuSans.ttf"), Path(folder, "DejaVuSans-Bold.ttf")
        if regular.is_file() and bold.is_file():
            try:
                pdfmetrics.registerFont(TTFont("MedspaSans", str(regular)))
                pdfmetrics.registerFont(TTFont("MedspaSans-Bold", str(bold)))
            except Exception as error:  # a damaged font file: fall back, never fail a receipt
                log.warning("PDF font %s not usable: %s", regular, error)
                continue
            pdfmetrics.registerFontFamily(
                "MedspaSans",
                normal="MedspaSans",
                bold="MedspaSans-Bold",
                italic="MedspaSans",
                boldItalic="MedspaSans-Bold",
            )
            return Fonts("MedspaSans", "MedspaSans-Bold", unicode=True)
    return Fonts("Helvetica", "Helvetica-Bold", unicode=False)


# Reportlab's CID fonts: the reader draws them, so nothing is embedded.
CJK_FONTS = {"zh": "STSong-Light", "ja": "HeiseiMin-W3", "ko": "HYSMyeongJo-Medium"}


@cache
def _cid_font(language: str) -> str:
    name = CJK_FONTS[language]
    pdfmetrics.registerFont(UnicodeCIDFont(name))
    return name


def _cjk(char: str) -> str | None:
    """The CJK language whose font draws the character, or None."""
    code = ord(char)
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return "ja"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "ko"
    if (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x3000 <= code <= 0x303F
        or 0xFF00 <= code <= 0xFF65
    ):
        return "zh"
    return None


def _drawable(char: str, page: Fonts) -> str:
    if page.unicode:
        return char
    try:
        char.encode("cp1252")  # what Helvetica can draw
    except UnicodeEncodeError:
        return "?"
    return char


def markup(text: str) -> str:
    """Text as Paragraph markup: escaped, with CJK runs in a font that draws them."""
    page = fonts()
    out: list[str] = []
    run: list[str] = []
    language: str | None = None

    def flush() -> None:
        if not run:
            return
        chunk = escape("".join(run))
        out.append(f'<font name="{_cid_font(language)}">{chunk}</font>' if language else chunk)
        run.clear()

    for char in text:
        wanted = _cjk(char)
        if wanted != language:
            flush()
            language = wanted
        run.append(char if wanted else _drawable(char, page))
    flush()
    return "".join(out)


# --- what the document says ---------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """An invoice with everything printed on it, read in a fixed few queries."""

    invoice: Invoice
    organization: Organization
    lines: list[InvoiceLine]
    payments: list[Payment]
    refunds: list[Refund]
    credit_notes: list[CreditNote]
    tax_names: dict[str, str]

    @property
    def kind(self) -> str:
        """ "receipt" once nothing is owed; else "invoice" (a draft is never a receipt)."""
        status = self.invoice.status
        if status in (InvoiceStatus.PAID, InvoiceStatus.REFUNDED):
            return "receipt"
        return "invoice"

    @property
    def title(self) -> str:
        status = self.invoice.status
        if status == InvoiceStatus.DRAFT:
            return "Draft invoice"
        if status == InvoiceStatus.VOID:
            return "Invoice (void)"
        return "Receipt" if self.kind == "receipt" else "Invoice"


def document_of(organization: Organization, invoice_id: object) -> Document:
    """The invoice of the organization with its lines, payments, refunds and credit notes."""
    invoice = invoice_detail(organization, invoice_id)
    return Document(
        invoice=invoice,
        organization=organization,
        lines=list(invoice.lines.all()),
        payments=list(invoice.payments.all()),
        refunds=list(refunds_of(invoice)),
        credit_notes=list(credit_notes_of(invoice)),
        tax_names=dict(
            TaxRate.objects.filter(
                organization=organization, location_id=invoice.location_id
            ).values_list("category", "name")
        ),
    )


def filename(document: Document) -> str:
    """receipt-000042.pdf, invoice-000042.pdf or draft-invoice-17.pdf."""
    invoice = document.invoice
    if invoice.number is None:
        return f"draft-invoice-{invoice.pk}.pdf"
    return f"{document.kind}-{invoice.number:06d}.pdf"


# --- drawing ------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    f = fonts()
    body = ParagraphStyle("Body", fontName=f.regular, fontSize=9, leading=12)
    return {
        "body": body,
        "small": ParagraphStyle("Small", parent=body, fontSize=8, leading=10, textColor=GREY),
        "num": ParagraphStyle("Num", parent=body, alignment=TA_RIGHT),
        "bold": ParagraphStyle("Bold", parent=body, fontName=f.bold),
        "boldnum": ParagraphStyle("BoldNum", parent=body, fontName=f.bold, alignment=TA_RIGHT),
        "clinic": ParagraphStyle("Clinic", parent=body, fontName=f.bold, fontSize=16, leading=20),
        "title": ParagraphStyle(
            "Title", parent=body, fontName=f.bold, fontSize=14, leading=18, alignment=TA_RIGHT
        ),
        "heading": ParagraphStyle(
            "Heading", parent=body, fontName=f.bold, fontSize=10, leading=14, spaceBefore=8
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(markup(text), style)


def _local(moment: datetime | None, document: Document) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(document.invoice.location.zone)
    return f"{local:%d %b %Y, %H:%M}"


def _percent(bp: int) -> str:
    whole, part = divmod(bp, 100)
    return f"{whole}.{part:02d}".rstrip("0").rstrip(".") + "%"


def _quantity(line: InvoiceLine) -> str:
    text = f"{line.quantity:f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return f"{text} {line.unit}".strip()


def _table(
    rows: list[list[Any]], widths: list[Any], *, header: bool = True, rule_above_last: bool = False
) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT", repeatRows=1 if header else 0)
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style.append(("LINEBELOW", (0, 0), (-1, 0), 1, RULE))
    if rule_above_last:
        style.append(("LINEABOVE", (0, -1), (-1, -1), 1, RULE))
    table.setStyle(style)
    return table


def _header(document: Document, s: dict[str, ParagraphStyle]) -> list[Any]:
    invoice, org = document.invoice, document.organization
    location = invoice.location
    who: list[Any] = [_p(org.name, s["clinic"])]
    if org.legal_name and org.legal_name != org.name:
        who.append(_p(org.legal_name, s["body"]))
    who.append(_p(location.name, s["body"]))
    for text in (location.address, location.phone):
        if text:
            who.append(_p(text, s["body"]))
    if org.tax_number:
        who.append(_p(f"{org.tax_number_label or 'Tax ID'}: {org.tax_number}", s["body"]))
    if location.tax_number:
        label = location.tax_number_label or "Tax registration"
        who.append(_p(f"{label}: {location.tax_number}", s["body"]))

    facts = [
        ("Invoice", invoice.display_number),
        ("Issued", _local(invoice.issued_at, document) or "not yet issued"),
        ("Client", invoice.client.full_name),
    ]
    if invoice.client.email:
        facts.append(("E-mail", invoice.client.email))
    if document.kind == "receipt" and document.payments:
        facts.append(("Paid", _local(document.payments[-1].received_at, document)))
    facts.append(("Currency", invoice.currency))
    what: list[Any] = [_p(document.title, s["title"])]
    what.append(
        _table(
            [[_p(k, s["small"]), _p(v, s["num"])] for k, v in facts],
            [24 * mm, 56 * mm],
            header=False,
        )
    )
    top = Table([[who, what]], colWidths=[94 * mm, 82 * mm], hAlign="LEFT")
    top.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    return [top, Spacer(1, 6 * mm)]


def _lines(document: Document, s: dict[str, ParagraphStyle]) -> list[Any]:
    cur = document.invoice.currency
    rows: list[list[Any]] = [
        [
            _p("Item", s["bold"]),
            _p("Qty", s["boldnum"]),
            _p("Unit price", s["boldnum"]),
            _p("Discount", s["boldnum"]),
            _p("Tax", s["boldnum"]),
            _p("Amount", s["boldnum"]),
        ]
    ]
    for line in document.lines:
        if line.kind not in CHARGE_KINDS and line.kind != LineKind.FEE:
            continue
        detail = line.get_kind_display()
        if line.provider_id and line.provider is not None:
            detail += f" · {line.provider.name}"
        tax = (
            f"{decimal_text(line.tax_cents, cur)} ({_percent(line.tax_rate_bp)})"
            if line.tax_rate_bp
            else "—"
        )
        rows.append(
            [
                [_p(line.description, s["body"]), _p(detail, s["small"])],
                _p(_quantity(line), s["num"]),
                _p(decimal_text(line.unit_price_cents, cur), s["num"]),
                _p(
                    f"-{decimal_text(line.discount_cents, cur)}" if line.discount_cents else "—",
                    s["num"],
                ),
                _p(tax, s["num"]),
                _p(decimal_text(line.amount_cents, cur), s["num"]),
            ]
        )
    if len(rows) == 1:
        rows.append([_p("Nothing on this invoice.", s["small"]), "", "", "", "", ""])
    widths = [66 * mm, 18 * mm, 22 * mm, 22 * mm, 26 * mm, 22 * mm]
    return [_table(rows, widths), Spacer(1, 4 * mm)]


def _tax_by_rate(document: Document) -> list[tuple[str, int, int]]:
    """(label, taxable, tax) per category and rate, in the order first charged."""
    taxable: dict[tuple[str, int], int] = defaultdict(int)
    tax: dict[tuple[str, int], int] = defaultdict(int)
    for line in document.lines:
        if line.kind in CHARGE_KINDS and line.tax_rate_bp:
            key = (line.tax_category, line.tax_rate_bp)
            taxable[key] += line.amount_cents - line.discount_cents
            tax[key] += line.tax_cents
    out = []
    for (category, bp), base in taxable.items():
        name = document.tax_names.get(category) or f"Tax on {category}"
        out.append((f"{name} {_percent(bp)}", base, tax[(category, bp)]))
    return out


def _totals(document: Document, s: dict[str, ParagraphStyle]) -> list[Any]:
    invoice, cur = document.invoice, document.invoice.currency
    rows: list[tuple[str, str]] = [("Subtotal", decimal_text(invoice.subtotal_cents, cur))]
    for line in document.lines:
        if line.kind == LineKind.DISCOUNT:
            how = f" {_percent(line.discount_percent_bp)}" if line.discount_percent_bp else ""
            why = f" ({line.reason})" if line.reason else ""
            rows.append((f"Discount{how}{why}", decimal_text(line.amount_cents, cur)))
    for label, base, amount in _tax_by_rate(document):
        rows.append((f"{label} on {decimal_text(base, cur)}", decimal_text(amount, cur)))
    if not invoice.tax_cents:
        rows.append(("Tax", decimal_text(0, cur)))
    for line in document.lines:
        if line.kind == LineKind.TIP:
            rows.append((line.description, decimal_text(line.amount_cents, cur)))
    table_rows = [[_p(k, s["body"]), _p(v, s["num"])] for k, v in rows]
    total = f"{decimal_text(invoice.total_cents, cur)} {cur}"
    table_rows.append([_p("Total", s["bold"]), _p(total, s["boldnum"])])
    table = _table(table_rows, [120 * mm, 56 * mm], header=False, rule_above_last=True)
    return [table, Spacer(1, 4 * mm)]


def _tender(kind: str) -> str:
    if kind == CREDIT_NOTE_KIND:
        return "Credit note"
    tender = tender_named(kind)
    return tender.label if tender is not None else kind.replace("_", " ").capitalize()


def _money_moves(document: Document, s: dict[str, ParagraphStyle]) -> list[Any]:
    """Payments by tender, refunds and credit notes, then the balance."""
    invoice, cur = document.invoice, document.invoice.currency
    story: list[Any] = []
    if document.payments:
        rows: list[list[Any]] = [[_p("Payments", s["bold"]), "", ""]]
        for p in document.payments:
            ref = f" · ref {p.reference}" if p.reference and p.gateway != "manual" else ""
            if p.kind in ("card_external", "cheque") and p.reference:
                ref = f" · ref {p.reference}"
            if p.kind == CREDIT_NOTE_KIND:
                ref = f" {p.reference}"
            rows.append(
                [
                    _p(f"{_tender(p.kind)}{ref}", s["body"]),
                    _p(_local(p.received_at, document), s["small"]),
                    _p(decimal_text(p.amount_cents, cur), s["num"]),
                ]
            )
        story += [_table(rows, [92 * mm, 40 * mm, 44 * mm]), Spacer(1, 3 * mm)]
    if document.credit_notes:
        rows = [[_p("Credit notes", s["bold"]), "", ""]]
        for note in document.credit_notes:
            rows.append(
                [
                    _p(f"{note.display_number}: {note.reason}", s["body"]),
                    _p(_local(note.issued_at, document), s["small"]),
                    _p(f"-{decimal_text(note.amount_cents, cur)}", s["num"]),
                ]
            )
        story += [_table(rows, [92 * mm, 40 * mm, 44 * mm]), Spacer(1, 3 * mm)]
    if document.refunds:
        rows = [[_p("Refunds", s["bold"]), "", ""]]
        for r in document.refunds:
            to = "account credit" if r.tender == "account_credit" else _tender(r.tender).lower()
            cn = f" ({r.credit_note.display_number})" if r.credit_note is not None else ""
            rows.append(
                [
                    _p(f"To {to}{cn}: {r.reason}", s["body"]),
                    _p(_local(r.refunded_at, document), s["small"]),
                    _p(f"-{decimal_text(r.amount_cents, cur)}", s["num"]),
                ]
            )
        story += [_table(rows, [92 * mm, 40 * mm, 44 * mm]), Spacer(1, 3 * mm)]
    if invoice.status != InvoiceStatus.VOID and not invoice.is_draft:
        balance = _table(
            [
                [
                    _p("Balance due", s["bold"]),
                    _p(f"{decimal_text(invoice.balance_cents, cur)} {cur}", s["boldnum"]),
                ]
            ],
            [120 * mm, 56 * mm],
            header=False,
            rule_above_last=True,
        )
        story.append(balance)
    if invoice.status == InvoiceStatus.VOID:
        story.append(_p(f"Void: {invoice.void_reason}", s["bold"]))
    return story


def _decorate(document: Document) -> Callable[[Any, Any], None]:
    marks: dict[str, str] = {InvoiceStatus.DRAFT: "DRAFT", InvoiceStatus.VOID: "VOID"}
    mark = marks.get(document.invoice.status)
    footer = f"{document.title} {document.invoice.display_number} · {document.organization.name}"
    f = fonts()

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        if mark:
            # Drawn first, under the page's content: big, pale, across the page.
            canvas.setFillColor(WATERMARK)
            canvas.setFont(f.bold, 110)
            canvas.translate(A4[0] // 2, A4[1] // 2)
            canvas.rotate(40)
            canvas.drawCentredString(0, -40, mark)
            canvas.rotate(-40)
            canvas.translate(-(A4[0] // 2), -(A4[1] // 2))
        canvas.setFillColor(GREY)
        canvas.setFont(f.regular, 8)
        canvas.drawString(18 * mm, 10 * mm, markup_plain(footer))
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"Page {doc.page}")
        canvas.restoreState()

    return on_page


def markup_plain(text: str) -> str:
    """Text for a direct canvas string (no markup): characters the page font cannot draw as ?."""
    page = fonts()
    return "".join("?" if _cjk(c) else _drawable(c, page) for c in text)


def render_pdf(document: Document, *, compress: bool = True) -> bytes:
    """The invoice or receipt as PDF bytes."""
    s = _styles()
    invoice = document.invoice
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=17 * mm,
        rightMargin=17 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"{document.title} {invoice.display_number}",
        author=document.organization.name,
        subject=f"{document.title} for {invoice.client.full_name}",
        creator="medspa",
        invariant=1,
        pageCompression=1 if compress else 0,
    )
    story: list[Any] = [*_header(document, s), *_lines(document, s), *_totals(document, s)]
    story.append(KeepTogether(_money_moves(document, s)))
    if document.kind == "receipt":
        story += [Spacer(1, 6 * mm), _p("Thank you.", s["body"])]
    decorate = _decorate(document)
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def audited_pdf(
    organization: Organization, invoice_id: object, *, actor: User | None, purpose: str
) -> tuple[Document, bytes]:
    """An invoice of the organization (or 404) and its PDF; the generation is audited."""
    document = document_of(organization, invoice_id)
    pdf = render_pdf(document)
    with transaction.atomic():
        record_event(
            organization=organization,
            actor=actor,
            action="billing.pdf_generated",
            object_type="invoice",
            object_id=document.invoice.pk,
            data={
                "document": document.kind,
                "status": document.invoice.status,
                "purpose": purpose,
                "bytes": len(pdf),
            },
        )
    return document, pdf
