"""What the demo clinic asks, has clients sign and sends after treatment: plain data.

Kept apart from the builder so the texts read as a clinic's own documents. The wording
is realistic but illustrative; a real clinic's medical director writes its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TOX_SERVICES = (
    "Neurotoxin \N{EN DASH} one area",
    "Neurotoxin \N{EN DASH} three areas",
    "Lip flip",
    "Neurotoxin touch-up",
)
FILLER_SERVICES = (
    "Lip filler",
    "Cheek filler (2 syringes)",
    "Under-eye filler",
    "Chin and jawline filler",
    "Sculptra biostimulator",
    "Filler follow-up",
)
LASER_SERVICES = (
    "Laser hair removal \N{EN DASH} small area",
    "Laser hair removal \N{EN DASH} medium area",
    "Laser hair removal \N{EN DASH} large area",
    "IPL photofacial",
    "Laser consultation and patch test",
)
SKIN_PROCEDURES = (
    "Chemical peel",
    "Microneedling",
    "Microneedling with PRP",
    "RF microneedling (Morpheus8)",
    "PRP hair restoration",
)
FACIALS = (
    "HydraFacial Signature",
    "HydraFacial Deluxe",
    "Dermaplaning",
    "Signature facial",
)


@dataclass(frozen=True)
class DemoQuestion:
    key: str
    label: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] = ()
    review_when: dict[str, Any] | None = None
    review_reason: str = ""
    help_text: str = ""


@dataclass(frozen=True)
class DemoIntake:
    name: str
    description: str
    services: tuple[str, ...]
    questions: tuple[DemoQuestion, ...] = field(default_factory=tuple)


YES = {"equals": True}

INTAKE_FORMS: tuple[DemoIntake, ...] = (
    DemoIntake(
        name="Health history",
        description="Asked before every treatment, so the provider knows what changed.",
        services=TOX_SERVICES + FILLER_SERVICES + LASER_SERVICES + SKIN_PROCEDURES + FACIALS,
        questions=(
            DemoQuestion(
                "pregnant",
                "Are you pregnant, trying to conceive or breastfeeding?",
                "yes_no",
                review_when=YES,
                review_reason="Pregnant or nursing: most aesthetic treatments are deferred.",
            ),
            DemoQuestion(
                "blood_thinners",
                "Do you take blood thinners (warfarin, apixaban, daily aspirin, fish oil)?",
                "yes_no",
                review_when=YES,
                review_reason="Blood thinners: higher risk of bruising and bleeding.",
            ),
            DemoQuestion(
                "isotretinoin",
                "Have you taken isotretinoin (Accutane) in the last 6 months?",
                "yes_no",
                review_when=YES,
                review_reason="Recent isotretinoin: no laser, peels or microneedling.",
            ),
            DemoQuestion(
                "conditions",
                "Do any of these apply to you?",
                "multiple_choice",
                required=False,
                choices=(
                    "Cold sores",
                    "Keloid scarring",
                    "Autoimmune condition",
                    "Diabetes",
                    "Recent illness or fever",
                ),
                review_when={"any_of": ["Keloid scarring", "Autoimmune condition"]},
                review_reason="Keloids or autoimmune disease: the provider decides.",
            ),
            DemoQuestion(
                "allergies",
                "Allergies (medicines, latex, lidocaine, foods)",
                "text",
                required=False,
                help_text="Leave empty if none.",
            ),
            DemoQuestion(
                "medications",
                "Medications and supplements you take now",
                "text",
                required=False,
            ),
            DemoQuestion(
                "signature",
                "Sign to confirm your answers are complete and true",
                "signature",
            ),
        ),
    ),
    DemoIntake(
        name="Neurotoxin screening",
        description="Before Botox, Dysport, Xeomin and similar.",
        services=TOX_SERVICES,
        questions=(
            DemoQuestion(
                "neuromuscular",
                "Have you been diagnosed with a neuromuscular disorder "
                "(myasthenia gravis, ALS, Lambert-Eaton)?",
                "yes_no",
                review_when=YES,
                review_reason="Neuromuscular disorder: neurotoxin is contraindicated.",
            ),
            DemoQuestion(
                "last_toxin",
                "When was your last neurotoxin treatment?",
                "date",
                required=False,
                help_text="An estimate is fine; leave empty if never.",
            ),
            DemoQuestion(
                "event_soon",
                "Do you have a big event in the next two weeks?",
                "yes_no",
                required=False,
                help_text="Results take up to 14 days to settle.",
            ),
        ),
    ),
    DemoIntake(
        name="Laser and light screening",
        description="Before laser hair removal and IPL.",
        services=LASER_SERVICES,
        questions=(
            DemoQuestion(
                "recent_tan",
                "Have you had sun exposure, a tan or self-tanner in the last 4 weeks?",
                "yes_no",
                review_when=YES,
                review_reason="Recent tan: risk of burns and pigment change.",
            ),
            DemoQuestion(
                "photosensitizing",
                "Do you take medicines that make skin sensitive to light "
                "(doxycycline, St John's wort, retinoids)?",
                "yes_no",
                review_when=YES,
                review_reason="Photosensitizing medication: adjust or defer.",
            ),
            DemoQuestion(
                "skin_type",
                "Which best describes how your skin reacts to the sun?",
                "single_choice",
                choices=(
                    "Type I: always burns, never tans",
                    "Type II: usually burns, tans a little",
                    "Type III: sometimes burns, tans slowly",
                    "Type IV: rarely burns, tans well",
                    "Type V: very rarely burns, tans easily",
                    "Type VI: never burns",
                ),
                review_when={
                    "any_of": ["Type V: very rarely burns, tans easily", "Type VI: never burns"]
                },
                review_reason="Fitzpatrick V to VI: check settings and the test spot.",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class DemoConsent:
    name: str
    services: tuple[str, ...]
    valid_days: int | None
    title: str
    body: str
    # A later wording fix that does not need anyone to sign again.
    revision: str | None = None


_RISKS_INTRO = (
    "I understand that results vary, that more than one treatment may be needed, and that "
    "no guarantee has been made to me about the outcome."
)
_CLOSING = (
    "I have had the chance to ask questions, and they were answered to my satisfaction. "
    "I have told the provider about my medical history, medicines and allergies, and I "
    "will tell the clinic about any change. I consent to the treatment described above, "
    "and to clinical photographs for my record, which will not be shared without my "
    "separate written permission."
)

CONSENT_FORMS: tuple[DemoConsent, ...] = (
    DemoConsent(
        name="Neurotoxin treatment consent",
        services=TOX_SERVICES,
        valid_days=365,
        title="Consent to treatment with botulinum toxin",
        body="\n\n".join(
            (
                "I consent to injections of botulinum toxin type A (such as Botox Cosmetic, "
                "Dysport, Xeomin, Daxxify or Jeuveau) to temporarily relax the muscles that "
                "cause lines of the face.",
                "The effect begins within 3 to 14 days and usually lasts 3 to 4 months. "
                + _RISKS_INTRO,
                "Possible side effects include pain, swelling, redness or bruising at the "
                "injection sites; headache; and, rarely, a drooping eyelid or brow, "
                "asymmetry, or difficulty swallowing or breathing, which need urgent care.",
                "I am not pregnant or breastfeeding and have no neuromuscular disorder.",
                _CLOSING,
            )
        ),
        revision="Clarified that urgent symptoms should be reported to the clinic's 24-hour line.",
    ),
    DemoConsent(
        name="Dermal filler consent",
        services=FILLER_SERVICES,
        valid_days=365,
        title="Consent to treatment with dermal fillers",
        body="\n\n".join(
            (
                "I consent to injections of hyaluronic acid or biostimulatory fillers to "
                "restore volume or contour.",
                "Results are visible at once and settle over two weeks. " + _RISKS_INTRO,
                "Possible side effects include swelling, tenderness, bruising, lumps, "
                "infection, and, rarely, blockage of a blood vessel that can damage skin or "
                "sight and needs immediate treatment. Hyaluronic acid fillers can be "
                "dissolved with hyaluronidase.",
                _CLOSING,
            )
        ),
    ),
    DemoConsent(
        name="Laser and light consent",
        services=LASER_SERVICES,
        valid_days=365,
        title="Consent to laser and intense pulsed light treatment",
        body="\n\n".join(
            (
                "I consent to treatment with laser or intense pulsed light to reduce hair "
                "or treat pigment and redness.",
                "A series of treatments is needed. " + _RISKS_INTRO,
                "Possible side effects include redness, swelling, blistering, burns, "
                "lightening or darkening of the skin, and, rarely, scarring. I will avoid "
                "sun exposure and self-tanner for four weeks before and after treatment.",
                "I will wear the eye protection the clinic gives me throughout.",
                _CLOSING,
            )
        ),
    ),
    DemoConsent(
        name="Skin procedures consent",
        services=SKIN_PROCEDURES,
        valid_days=None,
        title="Consent to chemical peels and microneedling",
        body="\n\n".join(
            (
                "I consent to a chemical peel, microneedling, radiofrequency microneedling "
                "or platelet-rich plasma treatment, as discussed with my provider.",
                _RISKS_INTRO,
                "Possible side effects include redness, peeling, swelling, pinpoint "
                "bleeding, infection, cold-sore outbreaks, pigment change and, rarely, "
                "scarring. Platelet-rich plasma is drawn from my own blood.",
                _CLOSING,
            )
        ),
    ),
)


@dataclass(frozen=True)
class DemoAftercare:
    name: str
    services: tuple[str, ...]
    subject: str
    body: str


AFTERCARE: tuple[DemoAftercare, ...] = (
    DemoAftercare(
        name="Neurotoxin aftercare",
        services=TOX_SERVICES,
        subject="Your neurotoxin aftercare",
        body=(
            "Hi {first_name},\n\nThank you for visiting {clinic} today for your {service}.\n\n"
            "- Stay upright for 4 hours and do not rub or massage the treated areas.\n"
            "- Skip hard exercise, saunas and hot yoga until tomorrow.\n"
            "- Results appear in 3 to 14 days; we will see you for a check at two weeks.\n"
            "- Call us at once if you have trouble swallowing, speaking or breathing.\n\n"
            "{provider}"
        ),
    ),
    DemoAftercare(
        name="Filler aftercare",
        services=FILLER_SERVICES,
        subject="Your filler aftercare",
        body=(
            "Hi {first_name},\n\nThank you for visiting {clinic} today for your {service}.\n\n"
            "- Swelling and tenderness peak on day 2 and settle within two weeks.\n"
            "- Use a cold pack for 10 minutes at a time; avoid alcohol and hard exercise "
            "for 24 hours.\n"
            "- Call us at once if you see white, grey or dusky skin, severe pain, or any "
            "change in your vision.\n\n{provider}"
        ),
    ),
    DemoAftercare(
        name="Laser and light aftercare",
        services=LASER_SERVICES,
        subject="Caring for your skin after laser",
        body=(
            "Hi {first_name},\n\nYour skin may look red and feel warm for a few hours "
            "after your {service}.\n\n"
            "- Apply SPF 30 or higher every day and avoid the sun for four weeks.\n"
            "- No hot baths, saunas or exfoliating products for 48 hours.\n"
            "- Call {clinic} if you see blisters or crusting.\n\n{provider}"
        ),
    ),
    DemoAftercare(
        name="Peel and microneedling aftercare",
        services=SKIN_PROCEDURES,
        subject="Your skin after today's treatment",
        body=(
            "Hi {first_name},\n\nAfter your {service}, your skin will be red like a "
            "sunburn for a day or two and may peel.\n\n"
            "- Use only a gentle cleanser, moisturiser and SPF for five days.\n"
            "- No makeup for 24 hours; no retinoids or acids for a week.\n"
            "- Do not pick peeling skin.\n\n{provider} at {clinic}"
        ),
    ),
)
