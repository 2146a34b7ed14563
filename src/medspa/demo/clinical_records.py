"""The demo clinic's clinical side: forms, consents, aftercare, and what its visits left behind.

Runs after the schedule is written, from its own random stream, so the same seed still
gives the same appointments. Past visits have submitted intake, signed consent, a signed
chart (injectables with lots and sites, laser settings, some photos) and aftercare sent;
upcoming visits have intake requests, some answered, some flagged for a provider's review.
Rows are bulk-written like the rest of the demo; the templates go through the services.
"""

from __future__ import annotations

import base64
import io
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.utils.text import slugify
from PIL import Image, ImageDraw

from medspa.catalog.models import Service, ServiceCategory
from medspa.clients.models import MedicalHistory
from medspa.clinical import face_sites, intake_rules
from medspa.clinical import services as intake_services
from medspa.clinical.charting import clean_photo, fill_placeholders
from medspa.clinical.consent import consent_text_sha256
from medspa.clinical.models import (
    AftercareSent,
    AftercareTemplate,
    Chart,
    ChartPhoto,
    ChartPhotoContent,
    ChartStatus,
    ConsentSignature,
    ConsentTemplate,
    ConsentTemplateVersion,
    DeviceSetting,
    DoseUnit,
    InjectableEntry,
    InjectableKind,
    IntakeRequest,
    IntakeRequestStatus,
    IntakeTemplate,
    IntakeTemplateVersion,
    PhotoKind,
    ReviewStatus,
    ReviewTask,
)
from medspa.core.models import Organization, Role, User
from medspa.demo import clinical_content as content
from medspa.scheduling.models import (
    Appointment,
    AppointmentService,
    AppointmentStatus,
    Reservation,
    Resource,
    ResourceKind,
)

# Lots on the shelf: (product, kind, unit, lot number, days until expiry from "now").
LOTS = {
    "neurotoxin": [
        ("Botox Cosmetic", "C6712AC4", 210),
        ("Botox Cosmetic", "C7020AC2", 330),
        ("Dysport", "P21844", 160),
        ("Xeomin", "A2L1090", 400),
    ],
    "lips": [("Restylane Kysse", "19477-2", 500), ("Juvederm Volbella XC", "V24A0913", 420)],
    "cheeks": [("Juvederm Voluma XC", "VB24C118", 460)],
    "tear_trough": [("Restylane-L", "19322-1", 380)],
    "jaw": [("RHA 4", "RH4-2407", 300), ("Juvederm Volux XC", "VX24B021", 520)],
    "sculptra": [("Sculptra", "SC240811", 600)],
}

# What each injectable service does: (lot pool, kind, unit, [(site, amount)] options).
TOX = InjectableKind.NEUROTOXIN
FILLER = InjectableKind.FILLER
PLANS: dict[str, tuple[str, str, str, list[list[tuple[str, str]]]]] = {
    "Neurotoxin \N{EN DASH} one area": (
        "neurotoxin",
        TOX,
        DoseUnit.UNITS,
        [
            [("glabella", "20")],
            [("forehead", "6"), ("forehead_left", "2"), ("forehead_right", "2")],
        ],
    ),
    "Neurotoxin \N{EN DASH} three areas": (
        "neurotoxin",
        TOX,
        DoseUnit.UNITS,
        [
            [
                ("glabella", "20"),
                ("forehead", "6"),
                ("forehead_left", "2"),
                ("forehead_right", "2"),
                ("crows_feet_left", "12"),
                ("crows_feet_right", "12"),
            ],
            [("glabella", "24"), ("crows_feet_left", "10"), ("crows_feet_right", "10")],
        ],
    ),
    "Lip flip": ("neurotoxin", TOX, DoseUnit.UNITS, [[("upper_lip", "4")], [("upper_lip", "6")]]),
    "Neurotoxin touch-up": (
        "neurotoxin",
        TOX,
        DoseUnit.UNITS,
        [[("glabella", "4")], [("crows_feet_left", "2"), ("crows_feet_right", "2")]],
    ),
    "Lip filler": ("lips", FILLER, DoseUnit.ML, [[("upper_lip", "0.5"), ("lower_lip", "0.5")]]),
    "Cheek filler (2 syringes)": (
        "cheeks",
        FILLER,
        DoseUnit.ML,
        [[("cheek_left", "1"), ("cheek_right", "1")]],
    ),
    "Under-eye filler": (
        "tear_trough",
        FILLER,
        DoseUnit.ML,
        [[("tear_trough_left", "0.5"), ("tear_trough_right", "0.5")]],
    ),
    "Chin and jawline filler": (
        "jaw",
        FILLER,
        DoseUnit.ML,
        [[("chin", "1"), ("jawline_left", "0.5"), ("jawline_right", "0.5")]],
    ),
    "Sculptra biostimulator": (
        "sculptra",
        InjectableKind.BIOSTIMULATOR,
        DoseUnit.ML,
        [[("cheek_left", "4"), ("cheek_right", "4")]],
    ),
}

NOTES: dict[str, tuple[str, ...]] = {
    ServiceCategory.INJECTABLE: (
        "Goals reviewed; photos taken. Skin cleansed with chlorhexidine. Injected per "
        "diagram with a 30G needle; minimal bleeding, no bruising. Tolerated well. "
        "Aftercare reviewed verbally and sent by e-mail. Follow-up in 2 weeks.",
        "Moderate dynamic lines at rest and on animation. Reconstituted 100 U with 2.5 mL "
        "preservative-free saline. Injected per diagram. Ice applied. Client happy with the "
        "plan; review at 14 days.",
        "Discussed expectations and the risk of vascular occlusion; hyaluronidase on hand. "
        "Topical anaesthetic 20 min. Cannula and needle technique per diagram; aspirated "
        "before each bolus. Mild swelling, expected.",
    ),
    ServiceCategory.LASER: (
        "Area shaved and cleansed; eye protection on. Test pulses with no adverse reaction "
        "after 5 minutes. Treated with the settings charted; perifollicular oedema as "
        "expected. Cooling applied. SPF and sun avoidance reviewed.",
        "Fitzpatrick type confirmed; no recent tan. Settings per chart, two passes with "
        "10% overlap. Mild erythema, resolved with cooling before discharge.",
    ),
    ServiceCategory.SKIN: (
        "Skin prepped with alcohol; layers applied per protocol with neutralisation. Mild "
        "frosting in the T-zone only. Aftercare reviewed.",
        "Topical numbing 30 min. Needle depth 0.5 to 1.5 mm by area; even pinpoint "
        "bleeding. Hyaluronic serum applied. No adverse events.",
    ),
}
NOTES_DEFAULT = (
    "Treatment performed as planned; tolerated well. Aftercare reviewed.",
    "Skin assessed; products per protocol. No adverse reaction.",
)
REVIEW_NOTES = (
    "Discussed with the client; safe to proceed as planned.",
    "Spoke with the client: stopped fish oil a week ago. OK to treat; warned about bruising.",
    "Reviewed: not pregnant, answer corrected at check-in. Cleared.",
    "Tan faded; test spot done last visit with no reaction. Cleared at lower fluence.",
)
TABLET = "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile"
PAST_STATUSES = {AppointmentStatus.COMPLETED}
TODAY_READY = {AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_TREATMENT}


@dataclass
class _Visit:
    appointment: Appointment
    lines: list[AppointmentService]
    device_id: int | None


def _signature_png(rng: random.Random) -> str:
    """A small drawn-looking signature as a PNG data URL, like signature_pad makes."""
    image = Image.new("L", (300, 90), 255)
    draw = ImageDraw.Draw(image)
    x, y = 14.0, 55.0
    points = [(x, y)]
    for _ in range(rng.randint(14, 22)):
        x += rng.uniform(6, 16)
        y = min(80.0, max(12.0, y + rng.uniform(-22, 22)))
        points.append((x, y))
    draw.line(points, fill=20, width=3, joint="curve")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _photo_jpeg(rng: random.Random, label: str) -> bytes:
    """A plain stand-in photo: a soft skin-tone field with the word Before or After."""
    tone = (rng.randint(200, 235), rng.randint(160, 190), rng.randint(140, 170))
    image = Image.new("RGB", (480, 360), tone)
    draw = ImageDraw.Draw(image)
    draw.ellipse((140, 40, 340, 320), fill=tuple(min(255, c + 12) for c in tone))
    draw.text((16, 330), label, fill=(90, 70, 60))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


class ClinicalRecords:
    """Writes the clinical demo for one organization; see the module docstring."""

    def __init__(self, *, organization: Organization, now: datetime, seed: int) -> None:
        self.org = organization
        self.now = now
        self.rng = random.Random(f"clinical|{seed}")
        self.services = {s.name: s for s in Service.objects.filter(organization=organization)}
        self.desk = User.objects.get(
            organization=organization, role=Role.FRONT_DESK, is_active=True
        )
        self.counts: dict[str, int] = defaultdict(int)

    # -- templates -------------------------------------------------------------------------

    def _service_ids(self, names: tuple[str, ...]) -> list[int]:
        return [self.services[name].pk for name in names if name in self.services]

    def make_intake_forms(self) -> None:
        for form in content.INTAKE_FORMS:
            template = intake_services.create_template(
                organization=self.org,
                actor=None,
                name=form.name,
                description=form.description,
                service_ids=self._service_ids(form.services),
            )
            draft = IntakeTemplateVersion.objects.get(template=template, number=1)
            for q in form.questions:
                intake_services.add_question(
                    organization=self.org,
                    actor=None,
                    version=draft,
                    key=q.key,
                    label=q.label,
                    kind=q.kind,
                    required=q.required,
                    help_text=q.help_text,
                    choices=list(q.choices),
                    review_when=q.review_when,
                    review_reason=q.review_reason,
                )
            intake_services.publish_version(
                organization=self.org,
                actor=None,
                version=draft,
                notes="First version.",
                now=self.now - timedelta(days=400),
            )

    def make_consents(self) -> None:
        for form in content.CONSENT_FORMS:
            template = ConsentTemplate.objects.create(
                organization=self.org,
                name=form.name,
                valid_days=form.valid_days,
                created_at=self.now - timedelta(days=420),
            )
            template.services.set(self._service_ids(form.services))
            ConsentTemplateVersion.objects.create(
                organization=self.org,
                template=template,
                number=1,
                title=form.title,
                body=form.body,
                requires_resignature=True,
                published_at=self.now - timedelta(days=400),
                created_at=self.now - timedelta(days=420),
            )
            if form.revision:
                # A wording fix a month ago: earlier signatures still count.
                ConsentTemplateVersion.objects.create(
                    organization=self.org,
                    template=template,
                    number=2,
                    title=form.title,
                    body=form.body + "\n\n" + form.revision,
                    requires_resignature=False,
                    published_at=self.now - timedelta(days=30),
                    created_at=self.now - timedelta(days=32),
                )

    def make_aftercare(self) -> None:
        for form in content.AFTERCARE:
            template = AftercareTemplate.objects.create(
                organization=self.org, name=form.name, subject=form.subject, body=form.body
            )
            template.services.set(self._service_ids(form.services))

    def make_provider_logins(self) -> dict[int, User]:
        """Every provider signs their own charts, so each has a login (password `demo`)."""
        signers: dict[int, User] = {}
        password = make_password("demo")
        for resource in Resource.objects.filter(
            organization=self.org, kind=ResourceKind.PROVIDER
        ).select_related("user"):
            if resource.user is None:
                local = slugify(resource.name.removeprefix("Dr. ")).replace("-", ".")
                user = User.objects.create(
                    email=f"{local}@demo.medspa.example",
                    full_name=resource.name,
                    organization=self.org,
                    role=Role.PROVIDER,
                    password=password,
                    date_joined=self.now - timedelta(days=700),
                )
                resource.user = user
                resource.save(update_fields=["user"])
            assert resource.user is not None
            signers[resource.pk] = resource.user
        return signers

    # -- visits ----------------------------------------------------------------------------

    def _visits(self) -> list[_Visit]:
        appointments = list(
            Appointment.objects.filter(organization=self.org)
            .select_related("client", "location")
            .order_by("start", "pk")
        )
        lines: dict[int, list[AppointmentService]] = defaultdict(list)
        for line in AppointmentService.objects.filter(
            appointment__organization=self.org
        ).select_related("service", "provider"):
            lines[line.appointment_id].append(line)
        devices = dict(
            Reservation.objects.filter(organization=self.org, role=ResourceKind.DEVICE).values_list(
                "appointment_id", "resource_id"
            )
        )
        return [
            _Visit(a, sorted(lines[a.pk], key=lambda line: line.position), devices.get(a.pk))
            for a in appointments
        ]

    def _answers(
        self, template: IntakeTemplate, questions: list[Any], history: MedicalHistory | None
    ) -> dict[str, Any]:
        flags = set(history.medical_flags) if history else set()
        rng = self.rng
        answers: dict[str, Any] = {}
        for q in questions:
            if q.key == "pregnant":
                answers[q.key] = "pregnant_or_nursing" in flags
            elif q.key == "blood_thinners":
                answers[q.key] = "blood_thinners" in flags
            elif q.key == "isotretinoin":
                answers[q.key] = "isotretinoin_recent" in flags
            elif q.key == "recent_tan":
                answers[q.key] = "recent_tan" in flags
            elif q.key == "conditions":
                picked = [
                    label
                    for flag, label in (
                        ("cold_sores", "Cold sores"),
                        ("keloids", "Keloid scarring"),
                        ("autoimmune", "Autoimmune condition"),
                    )
                    if flag in flags
                ]
                if picked:
                    answers[q.key] = picked
            elif q.key == "allergies" and history and history.allergies:
                answers[q.key] = ", ".join(history.allergies)
            elif q.key == "medications" and history and history.medications:
                answers[q.key] = ", ".join(history.medications)
            elif q.key == "signature":
                answers[q.key] = _signature_png(rng)
            elif q.kind == intake_rules.YES_NO and q.required:
                answers[q.key] = rng.random() < 0.04
            elif q.key == "skin_type":
                answers[q.key] = rng.choice(q.choices[:5])
            elif q.key == "last_toxin" and rng.random() < 0.6:
                answers[q.key] = (
                    self.now.date() - timedelta(days=rng.randint(90, 200))
                ).isoformat()
        return answers

    def make_visit_records(self) -> None:
        rng = self.rng
        signers = self.make_provider_logins()
        templates = {
            t.pk: t
            for t in IntakeTemplate.objects.filter(organization=self.org).prefetch_related(
                "services"
            )
        }
        intake_by_service: dict[int, list[int]] = defaultdict(list)
        for t in templates.values():
            for s in t.services.all():
                intake_by_service[s.pk].append(t.pk)
        versions = {
            v.template_id: v
            for v in IntakeTemplateVersion.objects.filter(
                organization=self.org, published_at__isnull=False
            ).prefetch_related("questions")
        }
        consent_templates = list(
            ConsentTemplate.objects.filter(organization=self.org).prefetch_related(
                "services", "versions"
            )
        )
        consent_by_service: dict[int, list[ConsentTemplate]] = defaultdict(list)
        for ct in consent_templates:
            for s in ct.services.all():
                consent_by_service[s.pk].append(ct)
        aftercare_by_service: dict[int, AftercareTemplate] = {}
        for at in AftercareTemplate.objects.filter(organization=self.org).prefetch_related(
            "services"
        ):
            for s in at.services.all():
                aftercare_by_service[s.pk] = at
        histories = {
            h.client_id: h
            for h in MedicalHistory.objects.filter(organization=self.org).order_by("recorded_at")
        }
        # The last signing per (client, consent template): counts until valid_days run out.
        signed: dict[tuple[int, int], datetime] = {}

        requests: list[IntakeRequest] = []
        review_for: list[tuple[int, _Visit, bool, datetime]] = []
        signatures: list[ConsentSignature] = []
        charts: list[tuple[Chart, _Visit]] = []
        for visit in self._visits():
            a = visit.appointment
            status = a.status
            local_today = self.now.astimezone(a.location.zone).date()
            day = a.start.astimezone(a.location.zone).date()
            past = status in PAST_STATUSES or (status in TODAY_READY and day <= local_today)
            service_ids = [line.service_id for line in visit.lines]
            wanted = list(dict.fromkeys(t for s in service_ids for t in intake_by_service[s]))
            history = histories.get(a.client_id)
            for template_id in wanted:
                version = versions.get(template_id)
                if version is None:
                    continue
                request = IntakeRequest(
                    organization=self.org,
                    client=a.client,
                    appointment=a,
                    template_id=template_id,
                    version=version,
                    created_at=a.created_at,
                    sent_at=a.created_at if a.client.email else None,
                    sent_to=a.client.email,
                )
                answered = past or (
                    status in {AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED}
                    and day - local_today <= timedelta(days=3)
                    and rng.random() < 0.65
                )
                if status in {AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW}:
                    request.status = IntakeRequestStatus.CANCELLED
                elif answered:
                    questions = list(version.questions.all())
                    answers = self._answers(templates[template_id], questions, history)
                    errors, flags = intake_rules.check_answers(
                        [q.as_rule() for q in questions], answers
                    )
                    assert not errors, errors
                    labels = {q.key: q.label for q in questions}
                    submitted = min(a.start - timedelta(hours=rng.randint(2, 60)), self.now)
                    submitted = max(submitted, a.created_at)
                    request.status = IntakeRequestStatus.SUBMITTED
                    request.answers = answers
                    request.flags = [
                        {"key": key, "reason": reason, "label": labels[key]}
                        for key, reason in flags
                    ]
                    request.submitted_at = submitted
                    request.submitted_ip = (
                        f"73.{rng.randint(1, 250)}.{rng.randint(1, 250)}.{rng.randint(1, 250)}"
                    )
                    if flags:
                        review_for.append((len(requests), visit, past, submitted))
                requests.append(request)
            if past or status in {AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED}:
                signatures.extend(self._signatures(visit, past, consent_by_service, signed))
            if status in PAST_STATUSES or status == AppointmentStatus.IN_TREATMENT:
                provider = next((line.provider for line in visit.lines if line.provider), None)
                if provider is not None:
                    done = status in PAST_STATUSES
                    charts.append(
                        (
                            Chart(
                                organization=self.org,
                                appointment=a,
                                client=a.client,
                                provider=provider,
                                notes=self._notes(visit),
                                status=ChartStatus.SIGNED if done else ChartStatus.DRAFT,
                                created_by=signers.get(provider.pk),
                                created_at=a.start,
                                updated_at=a.end if done else self.now,
                                signed_by=signers.get(provider.pk) if done else None,
                                signed_at=a.end + timedelta(minutes=rng.randint(5, 40))
                                if done
                                else None,
                            ),
                            visit,
                        )
                    )

        IntakeRequest.objects.bulk_create(requests, batch_size=500)
        self.counts["intake_requests"] = len(requests)
        tasks = []
        for index, visit, past, submitted in review_for:
            request = requests[index]
            provider = next((line.provider for line in visit.lines if line.provider), None)
            decided = past or rng.random() < 0.3
            signer = signers.get(provider.pk) if provider else None
            tasks.append(
                ReviewTask(
                    organization=self.org,
                    client_id=request.client_id,
                    appointment=visit.appointment,
                    intake_request=request,
                    assigned_to=provider,
                    status=ReviewStatus.CLEARED if decided and signer else ReviewStatus.OPEN,
                    decision_note=rng.choice(REVIEW_NOTES) if decided and signer else "",
                    decided_by=signer if decided else None,
                    decided_at=min(submitted + timedelta(hours=rng.randint(1, 20)), self.now)
                    if decided and signer
                    else None,
                    created_at=submitted,
                )
            )
        ReviewTask.objects.bulk_create(tasks, batch_size=500)
        self.counts["review_tasks"] = len(tasks)
        ConsentSignature.objects.bulk_create(signatures, batch_size=500)
        self.counts["consent_signatures"] = len(signatures)
        self._write_charts(charts, aftercare_by_service, signers)

    def _signatures(
        self,
        visit: _Visit,
        past: bool,
        consent_by_service: dict[int, list[ConsentTemplate]],
        signed: dict[tuple[int, int], datetime],
    ) -> list[ConsentSignature]:
        a = visit.appointment
        rng = self.rng
        out = []
        needed = {ct.pk: ct for line in visit.lines for ct in consent_by_service[line.service_id]}
        for ct in needed.values():
            last = signed.get((a.client_id, ct.pk))
            at = a.start - timedelta(minutes=rng.randint(3, 15))
            if not past:
                # Upcoming: some clients sign ahead from the link on their phone.
                if rng.random() > 0.35:
                    continue
                at = min(a.created_at + timedelta(hours=rng.randint(1, 48)), self.now)
            still_counts = last is not None and (
                ct.valid_days is None or last + timedelta(days=ct.valid_days) >= at
            )
            if still_counts:
                continue
            version = max(
                (v for v in ct.versions.all() if v.published_at and v.published_at <= at),
                key=lambda v: v.number,
                default=None,
            )
            if version is None:
                continue
            signed[(a.client_id, ct.pk)] = at
            in_clinic = past
            out.append(
                ConsentSignature(
                    organization=self.org,
                    client=a.client,
                    version=version,
                    appointment=a,
                    typed_name=a.client.full_name,
                    signature_image=_signature_png(rng),
                    text_sha256=consent_text_sha256(version),
                    signed_at=at,
                    ip_address="10.20.0.31" if in_clinic else f"73.{rng.randint(1, 250)}.4.9",
                    user_agent=TABLET if in_clinic else PHONE,
                    witnessed_by=self.desk if in_clinic else None,
                )
            )
        return out

    def _notes(self, visit: _Visit) -> str:
        category = visit.lines[0].service.category if visit.lines else ""
        return self.rng.choice(NOTES.get(category, NOTES_DEFAULT))

    def _write_charts(
        self,
        charts: list[tuple[Chart, _Visit]],
        aftercare_by_service: dict[int, AftercareTemplate],
        signers: dict[int, User],
    ) -> None:
        rng = self.rng
        written = Chart.objects.bulk_create([c for c, _ in charts], batch_size=500)
        self.counts["charts"] = len(written)
        entries: list[InjectableEntry] = []
        settings: list[DeviceSetting] = []
        sent: list[AftercareSent] = []
        photos: list[tuple[ChartPhoto, bytes, bytes]] = []
        for chart, (_, visit) in zip(written, charts, strict=True):
            a = visit.appointment
            day: date = a.start.astimezone(a.location.zone).date()
            for line in visit.lines:
                plan = PLANS.get(line.service.name)
                if plan is not None:
                    pool, kind, unit, layouts = plan
                    product, lot, days = rng.choice(LOTS[pool])
                    layout = rng.choice(layouts)
                    sites = face_sites.check_sites([{"site": s, "quantity": q} for s, q in layout])
                    total = sum((Decimal(q) for _, q in layout), Decimal(0))
                    entries.append(
                        InjectableEntry(
                            organization=self.org,
                            chart=chart,
                            kind=kind,
                            product=product,
                            quantity=total,
                            unit=unit,
                            lot_number=lot,
                            expiry=max(day, self.now.date()) + timedelta(days=days),
                            sites=sites,
                            created_at=a.start,
                        )
                    )
                if line.service.category == ServiceCategory.LASER and visit.device_id:
                    hair = "hair" in line.service.name.lower()
                    settings.append(
                        DeviceSetting(
                            organization=self.org,
                            chart=chart,
                            device_id=visit.device_id,
                            area=rng.choice(("Underarms", "Bikini line", "Lower legs", "Upper lip"))
                            if hair
                            else "Full face",
                            fluence=Decimal(rng.choice(("12", "14", "16", "18"))),
                            pulse_width_ms=Decimal(
                                rng.choice(("10", "15", "20")) if hair else "12"
                            ),
                            spot_size_mm=Decimal(rng.choice(("12", "15", "18"))),
                            passes=rng.choice((1, 2)),
                            created_at=a.start,
                        )
                    )
            first = visit.lines[0] if visit.lines else None
            is_injectable = (
                first is not None and first.service.category == ServiceCategory.INJECTABLE
            )
            if chart.status == ChartStatus.SIGNED and is_injectable and rng.random() < 0.3:
                for kind in (PhotoKind.BEFORE, PhotoKind.AFTER):
                    clean = clean_photo(_photo_jpeg(rng, kind.label))
                    photos.append(
                        (
                            ChartPhoto(
                                organization=self.org,
                                chart=chart,
                                client_id=chart.client_id,
                                kind=kind,
                                area="Full face",
                                content_type=clean.content_type,
                                size=len(clean.image),
                                sha256=clean.sha256,
                                taken_at=a.start if kind == PhotoKind.BEFORE else a.end,
                                uploaded_by=signers.get(chart.provider_id or 0),
                            ),
                            clean.image,
                            clean.thumbnail,
                        )
                    )
            template = next(
                (
                    aftercare_by_service[line.service_id]
                    for line in visit.lines
                    if line.service_id in aftercare_by_service
                ),
                None,
            )
            if chart.status == ChartStatus.SIGNED and template and a.client.email and first:
                values = {
                    "first_name": a.client.preferred_name or a.client.first_name,
                    "service": first.service.name,
                    "provider": first.provider.name if first.provider else "",
                    "clinic": self.org.name,
                }
                sent.append(
                    AftercareSent(
                        organization=self.org,
                        chart=chart,
                        template=template,
                        subject=template.subject,
                        body=fill_placeholders(template.body, values),
                        sent_to=a.client.email,
                        sent_at=chart.signed_at or a.end,
                        sent_by=signers.get(chart.provider_id or 0),
                    )
                )
        InjectableEntry.objects.bulk_create(entries, batch_size=500)
        DeviceSetting.objects.bulk_create(settings, batch_size=500)
        AftercareSent.objects.bulk_create(sent, batch_size=500)
        created = ChartPhoto.objects.bulk_create([p for p, _, _ in photos], batch_size=200)
        ChartPhotoContent.objects.bulk_create(
            [
                ChartPhotoContent(photo=photo, image=image, thumbnail=thumb)
                for photo, (_, image, thumb) in zip(created, photos, strict=True)
            ],
            batch_size=100,
        )
        self.counts["injectables"] = len(entries)
        self.counts["device_settings"] = len(settings)
        self.counts["aftercare_sent"] = len(sent)
        self.counts["photos"] = len(created)


def add_clinical_records(*, organization: Organization, now: datetime, seed: int) -> dict[str, int]:
    """Forms, consents, aftercare and the visits' clinical records; counts of what was written."""
    records = ClinicalRecords(organization=organization, now=now, seed=seed)
    records.make_intake_forms()
    records.make_consents()
    records.make_aftercare()
    records.make_visit_records()
    return dict(records.counts)
