"""A signed consent as a PDF: the exact text, the drawn signature and the evidence of signing.

Rendered on demand from the immutable signature row, so it never goes stale; rendering is
deterministic (reportlab's invariant mode), so the same signature always gives the same bytes.
"""

from __future__ import annotations

import base64
import io
from datetime import UTC
from typing import Any
from xml.sax.saxutils import escape

from django.db import transaction
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from medspa.clinical.consent import PNG_DATA_URL_PREFIX, signature_for_pdf
from medspa.clinical.models import ConsentSignature
from medspa.core.audit import record_event
from medspa.core.models import Organization, User

SIGNATURE_WIDTH = 8 * cm
SIGNATURE_MAX_HEIGHT = 4 * cm
STATEMENT = (
    "Signed electronically. The client read the text above, typed their name and drew their "
    "signature on a screen. The SHA-256 fingerprint identifies the exact text signed: any "
    "change to the text, however small, gives a different fingerprint."
)


def _styles() -> dict[str, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    body = ParagraphStyle("ConsentBody", parent=sheet["BodyText"], fontSize=10.5, leading=14.5)
    small = ParagraphStyle("Small", parent=body, fontSize=9, leading=12, textColor=colors.black)
    return {
        "clinic": ParagraphStyle("Clinic", parent=sheet["Title"], fontSize=16, alignment=0),
        "title": ParagraphStyle("ConsentTitle", parent=sheet["Heading2"]),
        "heading": ParagraphStyle("Heading", parent=sheet["Heading3"]),
        "body": body,
        "small": small,
    }


def _paragraphs(text: str, style: ParagraphStyle) -> list[Any]:
    """The body as paragraphs: blank lines separate them, single newlines stay line breaks."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    flowables: list[Any] = []
    for block in normalised.split("\n\n"):
        if not block.strip():
            continue
        markup = "<br/>".join(escape(line) for line in block.split("\n"))
        flowables.append(Paragraph(markup, style))
    return flowables


def _signature_image(data_url: str) -> Image | None:
    if not data_url.startswith(PNG_DATA_URL_PREFIX):
        return None
    raw = base64.b64decode(data_url[len(PNG_DATA_URL_PREFIX) :])
    width, height = ImageReader(io.BytesIO(raw)).getSize()
    scale = min(SIGNATURE_WIDTH / width, SIGNATURE_MAX_HEIGHT / height)
    return Image(io.BytesIO(raw), width=width * scale, height=height * scale, hAlign="LEFT")


def _signed_at_text(signature: ConsentSignature) -> str:
    appointment = signature.appointment
    if appointment is not None:
        zone = appointment.location.zone
        local = signature.signed_at.astimezone(zone)
        return f"{local:%d %B %Y, %H:%M} ({zone.key})"
    return f"{signature.signed_at.astimezone(UTC):%d %B %Y, %H:%M} (UTC)"


def _facts_table(rows: list[tuple[str, str]], style: ParagraphStyle) -> Table:
    data = [[Paragraph(f"<b>{escape(k)}</b>", style), Paragraph(escape(v), style)] for k, v in rows]
    table = Table(data, colWidths=[4.2 * cm, None], hAlign="LEFT")
    table.setStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
    )
    return table


def _page_number(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 8.5)
    canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, f"Page {doc.page}")
    canvas.restoreState()


def render_signature_pdf(signature: ConsentSignature, *, compress: bool = True) -> bytes:
    """The signed consent as PDF bytes (load it with `consent.signature_for_pdf`)."""
    version = signature.version
    client = signature.client
    styles = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
        title=f"{version.title}: signed by {client.full_name}",
        author=signature.organization.name,
        subject="Signed consent",
        creator="medspa",
        invariant=1,
        pageCompression=1 if compress else 0,
    )
    birth = f"{client.birth_date:%d %B %Y}" if client.birth_date else "not recorded"
    story: list[Any] = [
        Paragraph(escape(signature.organization.name), styles["clinic"]),
        _facts_table(
            [("Client", client.full_name), ("Date of birth", birth)],
            styles["small"],
        ),
        Spacer(1, 0.3 * cm),
        Paragraph(escape(version.title), styles["title"]),
        Paragraph(f"Version {version.number} of {escape(version.template.name)}", styles["small"]),
        Spacer(1, 0.3 * cm),
        *_paragraphs(version.body, styles["body"]),
    ]
    evidence: list[Any] = [Spacer(1, 0.5 * cm), Paragraph("Signature", styles["heading"])]
    image = _signature_image(signature.signature_image)
    if image is not None:
        evidence.append(image)
    evidence += [
        Spacer(1, 0.2 * cm),
        _facts_table(
            [
                ("Typed name", signature.typed_name),
                ("Signed at", _signed_at_text(signature)),
                ("IP address", signature.ip_address or "not recorded"),
                ("Device", signature.user_agent or "not recorded"),
                ("Text SHA-256", signature.text_sha256),
            ],
            styles["small"],
        ),
        Spacer(1, 0.3 * cm),
        Paragraph(escape(STATEMENT), styles["small"]),
    ]
    # The signature and its evidence stay on one page, never split from each other.
    story.append(KeepTogether(evidence))
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return buffer.getvalue()


def pdf_filename(signature: ConsentSignature) -> str:
    """A calm, safe file name: consent-<id>-<yyyy-mm-dd>.pdf."""
    return f"consent-{signature.pk}-{signature.signed_at:%Y-%m-%d}.pdf"


@transaction.atomic
def view_signature_pdf(
    organization: Organization, signature_id: object, *, actor: User | None
) -> tuple[ConsentSignature, bytes]:
    """A signature of the organization and its PDF, or 404; the read is audited."""
    signature = signature_for_pdf(organization, signature_id)
    pdf = render_signature_pdf(signature)
    record_event(
        organization=organization,
        actor=actor,
        action="consent.pdf_viewed",
        object_type="consent_signature",
        object_id=signature.pk,
        data={"client": signature.client_id, "version": signature.version.number},
    )
    return signature, pdf
