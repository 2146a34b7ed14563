"""Build the demo clinic "Lumen Aesthetics" deterministically from a seed.

Everything random comes from one `random.Random(seed)`, consumed in a fixed order, so the
same seed and the same `now` give the same clinic. Appointments are placed with the
availability engine against in-memory calendars (working hours, blocks and what is already
placed), one location-day at a time, and written with bulk inserts at the end: every
appointment is one the booking service would have accepted, at a fraction of the cost.
"""

from __future__ import annotations

import random
import time as clock
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from medspa.catalog.models import Service, ServiceCategory, ServiceSegment
from medspa.clients.models import Client, ClientTag, CommunicationConsent, MedicalHistory
from medspa.core.audit import record_event
from medspa.core.models import Location, Organization, Role, User
from medspa.demo import (
    DEFAULT_WEEKS_PAST,
    DEMO_ORGANIZATION_NAME,
    DEMO_PASSWORD,
    DEMO_SLUG,
    DEMO_STAFF,
    DemoError,
    DemoSummary,
)
from medspa.demo.books import check_out_past_visits
from medspa.demo.clinical_records import add_clinical_records
from medspa.demo.deposits import set_up_deposits
from medspa.scheduling import engine
from medspa.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentService,
    AppointmentStatus,
    BlockReason,
    Reservation,
    Resource,
    ResourceBlock,
    ResourceKind,
    WorkingHours,
)
from medspa.scheduling.plans import PROVIDER, line_index, line_spans, plan_for, role_kind

BOSTON, DENVER = "boston", "denver"
MON, TUE, WED, THU, FRI, SAT = range(6)


def _words(text: str) -> tuple[str, ...]:
    """Whitespace-separated words; "_" joins the parts of one ("Van_der_Berg")."""
    return tuple(word.replace("_", " ") for word in text.split())


def _t(value: str) -> time:
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


def _days(
    site: str, weekdays: Iterable[int], start: str, end: str
) -> tuple[tuple[str, int, time, time], ...]:
    return tuple((site, day, _t(start), _t(end)) for day in weekdays)


# --- the clinic on paper --------------------------------------------------------------------


@dataclass(frozen=True)
class _Site:
    key: str
    name: str
    time_zone: str
    address: str
    phone: str
    granularity: int
    opening: tuple[tuple[str, int, time, time], ...]
    # Appointments a full open day aims for (before busyness and the thinning future).
    daily: tuple[int, int]
    area_codes: tuple[str, ...]


SITES: tuple[_Site, ...] = (
    _Site(
        key=BOSTON,
        name="Lumen Boston — Back Bay",
        time_zone="America/New_York",
        address="233 Newbury Street, Boston, MA 02116",
        phone="+16175550100",
        granularity=15,
        opening=_days(BOSTON, (MON, TUE, WED, THU, FRI), "08:30", "19:30")
        + _days(BOSTON, (SAT,), "09:00", "17:00"),
        daily=(33, 44),
        area_codes=("617", "857", "781"),
    ),
    _Site(
        key=DENVER,
        name="Lumen Denver — Cherry Creek",
        time_zone="America/Denver",
        address="2800 East 2nd Avenue, Denver, CO 80206",
        phone="+17205550100",
        granularity=10,
        opening=_days(DENVER, (TUE, WED, THU, FRI), "09:00", "19:00")
        + _days(DENVER, (SAT,), "09:00", "16:00"),
        daily=(10, 15),
        area_codes=("303", "720"),
    ),
)
SITE_BY_KEY = {site.key: site for site in SITES}


@dataclass(frozen=True)
class _Provider:
    name: str
    title: str
    color: str
    home: str
    capabilities: tuple[str, ...]
    hours: tuple[tuple[str, int, time, time], ...]


PROVIDERS: tuple[_Provider, ...] = (
    _Provider(
        "Dr. Elena Vasquez",
        "MD, medical director",
        "#8e44ad",
        BOSTON,
        (
            "consultation",
            "neurotoxin",
            "dermal_filler",
            "prp",
            "microneedling",
            "rf_microneedling",
            "chemical_peel",
        ),
        _days(BOSTON, (MON, WED), "09:00", "17:00")
        + _days(BOSTON, (THU,), "11:00", "19:00")
        + _days(DENVER, (TUE,), "09:00", "17:00"),
    ),
    _Provider(
        "Jenna Park",
        "NP, nurse practitioner",
        "#2e86c1",
        BOSTON,
        ("consultation", "neurotoxin", "dermal_filler", "prp", "microneedling"),
        _days(BOSTON, (MON, TUE, THU, FRI), "09:00", "18:00")
        + _days(BOSTON, (WED,), "10:00", "19:00"),
    ),
    _Provider(
        "Marcus Okafor",
        "RN, aesthetic injector",
        "#17a589",
        BOSTON,
        ("consultation", "neurotoxin", "dermal_filler", "laser_hair_removal", "ipl"),
        _days(BOSTON, (TUE, WED, THU, FRI), "10:00", "19:00")
        + _days(BOSTON, (SAT,), "09:00", "17:00"),
    ),
    _Provider(
        "Olivia Bennett",
        "Licensed aesthetician",
        "#d35400",
        BOSTON,
        ("hydrafacial", "facial", "dermaplaning", "chemical_peel", "microneedling"),
        _days(BOSTON, (MON, TUE, WED, THU), "09:00", "17:30")
        + _days(BOSTON, (SAT,), "09:00", "15:00"),
    ),
    _Provider(
        "Grace O'Neill",
        "Licensed aesthetician (part-time)",
        "#c0392b",
        BOSTON,
        ("hydrafacial", "facial", "dermaplaning", "chemical_peel"),
        _days(BOSTON, (TUE, THU), "11:30", "19:30") + _days(BOSTON, (FRI,), "09:00", "17:00"),
    ),
    _Provider(
        "Sam Delgado",
        "Laser technician",
        "#b7950b",
        BOSTON,
        ("laser_hair_removal", "ipl"),
        _days(BOSTON, (MON, WED, THU, FRI), "10:30", "19:30")
        + _days(BOSTON, (SAT,), "09:00", "17:00"),
    ),
    _Provider(
        "Lauren Chen",
        "PA-C, physician assistant",
        "#1f618d",
        DENVER,
        (
            "consultation",
            "neurotoxin",
            "dermal_filler",
            "prp",
            "microneedling",
            "rf_microneedling",
        ),
        _days(DENVER, (TUE, WED, THU, FRI), "09:00", "18:00")
        + _days(DENVER, (SAT,), "09:00", "16:00"),
    ),
    _Provider(
        "Natalie Brooks",
        "RN, aesthetic injector",
        "#148f77",
        DENVER,
        ("consultation", "neurotoxin", "dermal_filler", "rf_microneedling"),
        _days(DENVER, (WED, THU), "10:00", "19:00")
        + _days(DENVER, (SAT,), "09:00", "16:00")
        + _days(BOSTON, (MON,), "10:00", "19:00"),
    ),
    _Provider(
        "Aisha Thompson",
        "Licensed aesthetician (part-time)",
        "#ca6f1e",
        DENVER,
        ("hydrafacial", "facial", "dermaplaning", "chemical_peel", "microneedling"),
        _days(DENVER, (THU, FRI), "09:00", "18:00") + _days(DENVER, (SAT,), "09:00", "16:00"),
    ),
)
# The provider sign-in (DEMO_STAFF) is this provider.
PROVIDER_LOGIN = "Jenna Park"

# (site, name, capabilities, colour); rooms are open when their location is.
ROOMS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (BOSTON, "Laser Suite 1", ("laser_suite",), "#aab7b8"),
    (BOSTON, "Laser Suite 2", ("laser_suite",), "#aab7b8"),
    (BOSTON, "Treatment Room 1", ("treatment_room",), "#a9cce3"),
    (BOSTON, "Treatment Room 2", ("treatment_room",), "#a9cce3"),
    (BOSTON, "Consult Room", ("consult_room",), "#d7bde2"),
    (DENVER, "Cherry Creek Suite", ("treatment_room", "consult_room"), "#a3e4d7"),
)
# (site, name, make and model, capabilities, colour)
DEVICES: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    (
        BOSTON,
        "GentleMax Pro",
        "Candela GentleMax Pro laser",
        ("laser_alexandrite_ndyag",),
        "#7f8c8d",
    ),
    (BOSTON, "Lumecca IPL", "InMode Lumecca IPL", ("ipl",), "#7f8c8d"),
    (DENVER, "Morpheus8", "InMode Morpheus8 RF microneedling", ("rf_microneedling",), "#7f8c8d"),
)

P, R, D = "P", "R", "D"


@dataclass(frozen=True, kw_only=True)
class _Service:
    name: str
    category: str
    price_cents: int
    # The capability slugs a provider, room and device must have ("": not needed).
    provider: str
    room: str
    device: str = ""
    # (name, minutes, what it holds: "P" provider, "R" room, "D" device)
    segments: tuple[tuple[str, int, str], ...]
    # Minutes of leading prep and trailing cleanup, outside the client's time.
    before: int = 0
    after: int = 0
    # Offered at one site only (where its device is); None: everywhere.
    only_at: str | None = None
    # Weights of the service booked alone at Boston and at Denver (0: not booked alone there).
    weights: tuple[int, int]
    description: str
    color: str


_NUMB = ("Topical numbing", 20, R)
_PREP = ("Room and laser prep", 10, R)
_TURN = ("Room turnover", 10, R)
TOX_ONE = "Neurotoxin \N{EN DASH} one area"
TOX_THREE = "Neurotoxin \N{EN DASH} three areas"
LHR_SMALL = "Laser hair removal \N{EN DASH} small area"
LHR_MEDIUM = "Laser hair removal \N{EN DASH} medium area"
LHR_LARGE = "Laser hair removal \N{EN DASH} large area"
# Segments that hold only the room before the client arrives or after they leave: the
# service's buffer_before and buffer_after are their lengths.
PREP_SEGMENTS = frozenset({_PREP[0]})
CLEANUP_SEGMENTS = frozenset({_TURN[0], "Room and device cleanup"})

SERVICES: tuple[_Service, ...] = (
    _Service(
        name="Aesthetic consultation",
        category=ServiceCategory.CONSULTATION,
        price_cents=7_500,
        provider="consultation",
        room="consult_room",
        segments=(("Consultation", 30, P + R),),
        weights=(7, 9),
        description=(
            "Goals, medical history and a treatment plan; the fee is credited to the first "
            "treatment."
        ),
        color="#9b59b6",
    ),
    _Service(
        name=TOX_ONE,
        category=ServiceCategory.INJECTABLE,
        price_cents=5_000,
        provider="neurotoxin",
        room="treatment_room",
        segments=(("Assessment and injection", 30, P + R),),
        weights=(15, 20),
        description=(
            "Botox, Dysport or Xeomin for one area (frown lines, forehead or crow's feet): "
            "the injection fee; each unit used is charged from the chart."
        ),
        color="#3498db",
    ),
    _Service(
        name=TOX_THREE,
        category=ServiceCategory.INJECTABLE,
        price_cents=7_500,
        provider="neurotoxin",
        room="treatment_room",
        segments=(("Assessment and injection", 45, P + R),),
        weights=(8, 10),
        description=(
            "Frown lines, forehead and crow's feet in one visit: the injection fee; "
            "each unit used is charged from the chart."
        ),
        color="#2e86c1",
    ),
    _Service(
        name="Lip flip",
        category=ServiceCategory.INJECTABLE,
        price_cents=5_000,
        provider="neurotoxin",
        room="treatment_room",
        segments=(("Injection", 15, P + R),),
        weights=(3, 3),
        description="A few units of neurotoxin above the upper lip (units charged as used).",
        color="#5dade2",
    ),
    _Service(
        name="Neurotoxin touch-up",
        category=ServiceCategory.INJECTABLE,
        price_cents=0,
        provider="neurotoxin",
        room="treatment_room",
        segments=(("Touch-up", 15, P + R),),
        weights=(4, 5),
        description="Complimentary check and touch-up two weeks after neurotoxin.",
        color="#85c1e9",
    ),
    _Service(
        name="Lip filler",
        category=ServiceCategory.INJECTABLE,
        price_cents=10_000,
        provider="dermal_filler",
        room="treatment_room",
        segments=(_NUMB, ("Injection", 40, P + R)),
        weights=(6, 7),
        description=(
            "Hyaluronic acid filler, charged per syringe used; numbing cream first "
            "(processing time)."
        ),
        color="#e74c3c",
    ),
    _Service(
        name="Cheek filler (2 syringes)",
        category=ServiceCategory.INJECTABLE,
        price_cents=10_000,
        provider="dermal_filler",
        room="treatment_room",
        segments=(_NUMB, ("Injection", 45, P + R)),
        weights=(3, 3),
        description="Mid-face volume, usually two syringes (charged per syringe used).",
        color="#cb4335",
    ),
    _Service(
        name="Under-eye filler",
        category=ServiceCategory.INJECTABLE,
        price_cents=10_000,
        provider="dermal_filler",
        room="treatment_room",
        segments=(_NUMB, ("Injection", 40, P + R)),
        weights=(2, 2),
        description="Tear-trough filler by cannula (charged per syringe used).",
        color="#ec7063",
    ),
    _Service(
        name="Chin and jawline filler",
        category=ServiceCategory.INJECTABLE,
        price_cents=10_000,
        provider="dermal_filler",
        room="treatment_room",
        segments=(_NUMB, ("Injection", 50, P + R)),
        weights=(1, 1),
        description="Usually two syringes to define chin and jaw (charged per syringe used).",
        color="#b03a2e",
    ),
    _Service(
        name="Sculptra biostimulator",
        category=ServiceCategory.INJECTABLE,
        price_cents=10_000,
        provider="dermal_filler",
        room="treatment_room",
        segments=(("Cleanse and map", 10, P + R), ("Injection and massage", 35, P + R)),
        weights=(1, 1),
        description=(
            "Poly-L-lactic acid to rebuild collagen, charged per vial used; a series of two "
            "to three sessions."
        ),
        color="#943126",
    ),
    _Service(
        name="Filler follow-up",
        category=ServiceCategory.INJECTABLE,
        price_cents=0,
        provider="dermal_filler",
        room="treatment_room",
        segments=(("Follow-up", 15, P + R),),
        weights=(2, 2),
        description="Complimentary check two weeks after filler.",
        color="#f1948a",
    ),
    _Service(
        name=LHR_SMALL,
        category=ServiceCategory.LASER,
        price_cents=15_000,
        provider="laser_hair_removal",
        room="laser_suite",
        device="laser_alexandrite_ndyag",
        segments=(_PREP, ("Treatment", 15, P + R + D), _TURN),
        before=10,
        after=10,
        only_at=BOSTON,
        weights=(7, 0),
        description="Upper lip, chin or underarms.",
        color="#f39c12",
    ),
    _Service(
        name=LHR_MEDIUM,
        category=ServiceCategory.LASER,
        price_cents=27_500,
        provider="laser_hair_removal",
        room="laser_suite",
        device="laser_alexandrite_ndyag",
        segments=(_PREP, ("Treatment", 30, P + R + D), _TURN),
        before=10,
        after=10,
        only_at=BOSTON,
        weights=(5, 0),
        description="Bikini, lower legs or arms.",
        color="#e67e22",
    ),
    _Service(
        name=LHR_LARGE,
        category=ServiceCategory.LASER,
        price_cents=45_000,
        provider="laser_hair_removal",
        room="laser_suite",
        device="laser_alexandrite_ndyag",
        segments=(_PREP, ("Numbing cream", 20, R), ("Treatment", 45, P + R + D), _TURN),
        before=10,
        after=10,
        only_at=BOSTON,
        weights=(3, 0),
        description="Full legs, back or chest; numbing cream first.",
        color="#d35400",
    ),
    _Service(
        name="Laser consultation and patch test",
        category=ServiceCategory.CONSULTATION,
        price_cents=0,
        provider="laser_hair_removal",
        room="laser_suite",
        device="laser_alexandrite_ndyag",
        segments=(("Consultation and patch test", 20, P + R + D),),
        only_at=BOSTON,
        weights=(2, 0),
        description="Skin typing and a test spot before a laser series.",
        color="#f8c471",
    ),
    _Service(
        name="IPL photofacial",
        category=ServiceCategory.LASER,
        price_cents=40_000,
        provider="ipl",
        room="laser_suite",
        device="ipl",
        segments=(
            _PREP,
            ("Cleanse and eye protection", 5, P + R),
            ("IPL treatment", 25, P + R + D),
            ("Cooling and SPF", 10, P + R),
            _TURN,
        ),
        before=10,
        after=10,
        only_at=BOSTON,
        weights=(4, 0),
        description="Intense pulsed light for sun damage, redness and pigment.",
        color="#f5b041",
    ),
    _Service(
        name="HydraFacial Signature",
        category=ServiceCategory.SKIN,
        price_cents=19_900,
        provider="hydrafacial",
        room="treatment_room",
        segments=(("Cleanse, peel, extract and hydrate", 45, P + R),),
        weights=(8, 5),
        description="The three-step HydraFacial.",
        color="#1abc9c",
    ),
    _Service(
        name="HydraFacial Deluxe",
        category=ServiceCategory.SKIN,
        price_cents=27_500,
        provider="hydrafacial",
        room="treatment_room",
        segments=(("Cleanse, peel and extract", 35, P + R), ("Booster and hydrate", 25, P + R)),
        weights=(4, 2),
        description="Signature plus a booster serum and lymphatic drainage.",
        color="#16a085",
    ),
    _Service(
        name="Chemical peel",
        category=ServiceCategory.SKIN,
        price_cents=27_500,
        provider="chemical_peel",
        room="treatment_room",
        segments=(
            ("Prep and application", 20, P + R),
            ("Processing", 15, R),
            ("Neutralize and SPF", 10, P + R),
        ),
        weights=(4, 3),
        description="Medium-depth peel; the client rests while it processes.",
        color="#48c9b0",
    ),
    _Service(
        name="Dermaplaning",
        category=ServiceCategory.SKIN,
        price_cents=9_500,
        provider="dermaplaning",
        room="treatment_room",
        segments=(("Dermaplaning", 30, P + R),),
        weights=(3, 3),
        description="Exfoliation and peach-fuzz removal with a surgical blade.",
        color="#76d7c4",
    ),
    _Service(
        name="Signature facial",
        category=ServiceCategory.SKIN,
        price_cents=15_000,
        provider="facial",
        room="treatment_room",
        segments=(("Facial", 60, P + R),),
        weights=(4, 3),
        description="Customised facial with extractions and mask.",
        color="#a2d9ce",
    ),
    _Service(
        name="LED light therapy add-on",
        category=ServiceCategory.WELLNESS,
        price_cents=5_000,
        provider="",
        room="treatment_room",
        segments=(("LED session", 20, R),),
        weights=(0, 0),
        description="Red and blue light while the client rests; no provider needed.",
        color="#d0ece7",
    ),
    _Service(
        name="Microneedling",
        category=ServiceCategory.SKIN,
        price_cents=35_000,
        provider="microneedling",
        room="treatment_room",
        segments=(("Topical numbing", 30, R), ("Microneedling", 45, P + R)),
        weights=(3, 3),
        description="Collagen induction for texture and scars; numbing cream first.",
        color="#27ae60",
    ),
    _Service(
        name="Microneedling with PRP",
        category=ServiceCategory.SKIN,
        price_cents=75_000,
        provider="prp",
        room="treatment_room",
        segments=(
            ("Blood draw", 15, P + R),
            ("Numbing and centrifuge", 30, R),
            ("Microneedling with PRP", 45, P + R),
        ),
        weights=(2, 2),
        description="The client's own platelet-rich plasma applied during microneedling.",
        color="#229954",
    ),
    _Service(
        name="PRP hair restoration",
        category=ServiceCategory.WELLNESS,
        price_cents=80_000,
        provider="prp",
        room="treatment_room",
        segments=(
            ("Blood draw", 15, P + R),
            ("Centrifuge", 15, R),
            ("Scalp injections", 30, P + R),
        ),
        weights=(1, 1),
        description="Platelet-rich plasma injected into the scalp; a series of three.",
        color="#1e8449",
    ),
    _Service(
        name="RF microneedling (Morpheus8)",
        category=ServiceCategory.SKIN,
        price_cents=110_000,
        provider="rf_microneedling",
        room="treatment_room",
        device="rf_microneedling",
        segments=(
            ("Topical numbing", 30, R),
            ("Morpheus8 treatment", 45, P + R + D),
            ("Room and device cleanup", 10, R),
        ),
        after=10,
        only_at=DENVER,
        weights=(0, 5),
        description="Radio-frequency microneedling for tightening; numbing cream first.",
        color="#117a65",
    ),
)

# Several services back to back for one client: (services, Boston weight, Denver weight).
# The facial comes before the neurotoxin: no facial massage within a day after neurotoxin.
# No laser pairs: each laser service carries its own room prep and turnover.
COMBOS: tuple[tuple[tuple[str, ...], int, int], ...] = (
    (("HydraFacial Signature", TOX_ONE), 3, 2),
    (("Aesthetic consultation", TOX_ONE), 2, 2),
    (("Dermaplaning", "Chemical peel"), 2, 1),
    (("HydraFacial Deluxe", "LED light therapy add-on"), 2, 1),
    (("Signature facial", "LED light therapy add-on"), 1, 1),
    ((TOX_ONE, "Lip flip"), 2, 1),
    ((TOX_THREE, "Lip filler"), 1, 1),
)

FEMALE_NAMES = _words(
    "Emily Sarah Jessica Ashley Amanda Jennifer Megan Lauren Rachel Stephanie Nicole Samantha "
    "Elizabeth Hannah Olivia Sophia Madison Chloe Grace Natalie Victoria Alexis Kayla Brittany "
    "Danielle Rebecca Katherine Allison Caroline Morgan Taylor Brianna Jasmine Maya Priya "
    "Anjali Mei Yuki Hana Ji-woo Linh Thao Mariana Gabriela Valentina Camila Isabella Lucía "
    "Carmen Ana Rosa Fatima Aaliyah Imani Keisha Tiana Zoe Nadia Leila Yasmin Sofia Elena Irina "
    "Katarzyna Ingrid Siobhan Aoife Colleen Maureen Patricia Linda Susan Karen Donna Deborah "
    "Cynthia Sharon Diane Julie Heather Kristen Erin Courtney Lindsey Molly Abigail Ava Harper "
    "Nora Leah Claire Audrey Esther Miriam Renée Zoë"
)
MALE_NAMES = _words(
    "Michael David James Daniel Matthew Christopher Andrew Ryan Kevin Brian Jason Justin Eric "
    "Jonathan Carlos Luis Diego Andre Malik Wei Hiroshi Raj Arjun Omar Tomasz Liam Noah Ethan "
    "Patrick José"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Cooper Peterson Bailey Reed Kelly "
    "Howard Ramos Kim Cox Ward Richardson Watson Chavez Wood Gray Mendoza Ruiz Hughes Price "
    "Alvarez Castillo Sanders Patel Myers Ross Foster Jimenez O'Brien O'Connor McCarthy "
    "Sullivan Fitzgerald Kowalski Nowak Schmidt Muñoz Peña Chen Wang Li Zhang Liu Huang "
    "Tanaka Sato Yamamoto Choi Tran Le Pham Shah Singh Gupta Iyer Khan Ali Haddad Nasser "
    "Cohen Levy Goldberg Rossi Russo Romano Costa Silva Santos Oliveira Dubois Laurent "
    "Andersson Larsen Johansson Adeyemi Mensah Okoye Washington Hawthorne Delacroix-Hale "
    "Van_der_Berg"
)

CANCEL_REASONS = (
    "Client rescheduled by phone",
    "Client rescheduled by phone",
    "Client unwell",
    "Work conflict; will call back to rebook",
    "Cancelled by text reply",
    "Childcare issue",
    "Travel; will rebook next month",
)
NOTES = (
    "First visit; referred by a friend.",
    "Prefers afternoon appointments.",
    "Called ahead: running 10 minutes late.",
    "Has a gift card to redeem.",
    "Asked about the laser hair removal package.",
    "Please validate parking.",
    "Prefers text reminders.",
    "Would like to bring a friend for a consultation next time.",
)

# Relative busyness by weekday (Mon..Sun).
WEEKDAY_FACTOR = (0.9, 0.95, 1.0, 1.05, 1.0, 0.9, 0.0)


# --- helpers --------------------------------------------------------------------------------


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _local(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone)


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[int, int]:
    return _ts(_local(day, time.min, zone)), _ts(_local(day + timedelta(days=1), time.min, zone))


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def us_holidays(year: int) -> list[tuple[date, str]]:
    """The US holidays a medical spa typically closes for."""
    return [
        (date(year, 1, 1), "New Year's Day"),
        (_last_weekday(year, 5, MON), "Memorial Day"),
        (date(year, 7, 4), "Independence Day"),
        (_nth_weekday(year, 9, MON, 1), "Labor Day"),
        (_nth_weekday(year, 11, THU, 4), "Thanksgiving Day"),
        (date(year, 12, 25), "Christmas Day"),
    ]


@dataclass
class _Placed:
    """One appointment chosen in memory, written later in bulk."""

    location: Location
    client: Client
    services: tuple[Service, ...]
    plans: tuple[engine.Plan, ...]
    slot: engine.Slot
    status: str
    cancel_reason: str
    notes: str
    created_by: User | None
    created_at: datetime
    updated_at: datetime


@dataclass
class _Block:
    resource: Resource | None
    location: Location | None
    start: int
    end: int
    reason: str
    note: str


# --- the build ------------------------------------------------------------------------------


def demo_exists() -> bool:
    return Organization.objects.filter(slug=DEMO_SLUG).exists()


def _flush_demo_database() -> None:
    """Empty the database when it holds nothing but the demo clinic, or refuse."""
    others = list(Organization.objects.exclude(slug=DEMO_SLUG).values_list("name", flat=True)[:3])
    if others:
        raise DemoError(
            "--reset empties the whole database, and this one holds other organizations too ("
            + ", ".join(others)
            + "). Point DATABASE_URL at a fresh database for the demo instead."
        )
    strangers = list(
        User.objects.exclude(organization__slug=DEMO_SLUG).values_list("email", flat=True)[:3]
    )
    if strangers:
        raise DemoError(
            "--reset empties the whole database, and this one holds users outside the demo "
            f"clinic ({', '.join(strangers)}). Point DATABASE_URL at a fresh database instead."
        )
    # flush TRUNCATEs on PostgreSQL, which the audit log's row trigger does not see; on
    # SQLite only UPDATE of audit rows is refused. Both run inside our transaction.
    postgres = connection.vendor == "postgresql"
    if postgres:
        # TRUNCATE refuses tables with deferred foreign-key checks still pending in this
        # transaction (rows written earlier in it): run those checks now.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def build(
    *,
    seed: int = 1,
    reset: bool = False,
    now: datetime | None = None,
    weeks_past: int = DEFAULT_WEEKS_PAST,
    weeks_future: int = 3,
    busyness: float = 1.0,
) -> DemoSummary:
    """Build the demo clinic; see medspa.demo.build_demo."""
    began = clock.perf_counter()
    if now is None:
        now = timezone.now().replace(minute=0, second=0, microsecond=0)
    if timezone.is_naive(now):
        raise DemoError("`now` must be an aware datetime.")
    now = now.astimezone(UTC)
    if weeks_past < 0 or weeks_future < 0 or busyness < 0:
        raise DemoError("weeks_past, weeks_future and busyness must not be negative.")
    rng = random.Random(seed)
    with transaction.atomic():
        if demo_exists():
            if not reset:
                raise DemoError(
                    f"The demo clinic ({DEMO_ORGANIZATION_NAME}, slug {DEMO_SLUG}) is already "
                    "loaded."
                )
            _flush_demo_database()
        emails = [email for _, _, email, _ in DEMO_STAFF]
        if User.objects.filter(email__in=emails).exists():
            raise DemoError(
                "The demo's staff e-mails (" + ", ".join(emails) + ") are already in use by "
                "users outside the demo clinic."
            )
        builder = _Builder(rng=rng, now=now, weeks_past=weeks_past, weeks_future=weeks_future)
        summary = builder.run(seed=seed, busyness=busyness, began=began)
    return summary


# Where demo clients live, per site: (city, region, postal codes) and street names.
HOMES = {
    BOSTON: (
        ("Boston", "MA", ("02116", "02115", "02118", "02215")),
        ("Cambridge", "MA", ("02138", "02139")),
        ("Brookline", "MA", ("02445", "02446")),
    ),
    DENVER: (
        ("Denver", "CO", ("80206", "80209", "80218", "80220")),
        ("Glendale", "CO", ("80246",)),
    ),
}
STREETS = ("Beacon St", "Marlborough St", "Elm Ave", "Maple Dr", "Park Ave", "Oak St", "High St")
DEMO_TAGS = (("vip", 0.08), ("membership", 0.15), ("bridal", 0.03), ("referral", 0.1))
DEMO_NOTES = (
    "Prefers early appointments.",
    "Parks in the garage; validate the ticket.",
    "Ask for the corner room; dislikes the bright one.",
    "Pays with an HSA card.",
)

# What clients report at a first visit; the flags follow clients.models.MEDICAL_FLAGS.
DEMO_ALLERGIES = ["Penicillin", "Latex", "Sulfa drugs", "Lidocaine", "Aspirin", "Shellfish"]
DEMO_MEDICATIONS = [
    "Oral contraceptive",
    "Levothyroxine 50 mcg",
    "Sertraline 50 mg",
    "Daily low-dose aspirin",
    "Spironolactone 50 mg",
    "Tretinoin 0.05% cream",
]
DEMO_MEDICAL_FLAGS = [
    ("blood_thinners", 0.06),
    ("cold_sores", 0.12),
    ("keloids", 0.03),
    ("autoimmune", 0.04),
    ("isotretinoin_recent", 0.02),
    ("recent_tan", 0.08),
]
DEMO_MEDICAL_NOTES = [
    "",
    "",
    "Bruises easily.",
    "Prefers topical numbing for every treatment.",
    "Fainted once during a blood draw: treat lying down.",
]


class _Builder:
    org: Organization

    def __init__(self, *, rng: random.Random, now: datetime, weeks_past: int, weeks_future: int):
        self.rng = rng
        self.now = now
        self.now_ts = _ts(now)
        self.weeks_past = weeks_past
        self.weeks_future = weeks_future
        self.locations: dict[str, Location] = {}
        self.users: dict[str, User] = {}
        self.providers: dict[str, Resource] = {}
        self.rooms: list[Resource] = []
        self.devices: list[Resource] = []
        # Weekly hours per (resource id, site).
        self.hours: dict[tuple[int, str], list[engine.WeeklyHours]] = defaultdict(list)
        self.services: dict[str, Service] = {}
        self.clients: dict[str, list[Client]] = {}
        self.blocks: list[_Block] = []
        self.placed: list[_Placed] = []
        # Open days up to today per site, for the summary's appointments a day.
        self.open_days: Counter[str] = Counter()
        # What is already placed, per resource id, across both locations.
        self.busy: dict[int, list[engine.Interval]] = {}
        self.plans: dict[str, engine.Plan] = {}
        self.client_weights: dict[str, list[float]] = {}
        # Clients with a visit on a (local) day, so nobody is booked twice the same day.
        self.booked_on: dict[date, set[int]] = defaultdict(set)

    # -- window ------------------------------------------------------------------------------

    def today(self, site: _Site) -> date:
        return self.now.astimezone(ZoneInfo(site.time_zone)).date()

    def days(self, site: _Site) -> list[date]:
        today = self.today(site)
        return [
            today + timedelta(days=offset)
            for offset in range(-7 * self.weeks_past, 7 * self.weeks_future + 1)
        ]

    def is_open(self, site: _Site, day: date) -> bool:
        return any(weekday == day.weekday() for _, weekday, _, _ in site.opening)

    # -- the run -----------------------------------------------------------------------------

    def run(self, *, seed: int, busyness: float, began: float) -> DemoSummary:
        org = Organization.objects.create(
            name=DEMO_ORGANIZATION_NAME,
            slug=DEMO_SLUG,
            currency="USD",
            created_at=self.now - timedelta(days=1000),
        )
        self.org = org
        self.make_locations()
        self.make_staff()
        self.make_resources()
        self.make_services()
        self.make_clients()
        self.make_blocks()
        for site in SITES:
            self.schedule(site, busyness)
        counts = self.write_schedule()
        clinical = add_clinical_records(organization=org, now=self.now, seed=seed)
        clinical |= check_out_past_visits(organization=org, now=self.now, seed=seed)
        clinical |= set_up_deposits(organization=org, now=self.now, seed=seed)
        summary = replace(
            self.summary(seed=seed, counts=counts, began=began), records=dict(clinical)
        )
        record_event(
            organization=org,
            actor=None,
            action="demo.loaded",
            object_type="organization",
            object_id=org.pk,
            data={
                "seed": seed,
                "now": self.now.isoformat(),
                "weeks_past": self.weeks_past,
                "weeks_future": self.weeks_future,
                "busyness": busyness,
                "clients": summary.clients,
                "appointments": summary.appointments,
                "reservations": summary.reservations,
                **clinical,
            },
        )
        return summary

    def make_locations(self) -> None:
        for site in SITES:
            self.locations[site.key] = Location.objects.create(
                organization=self.org,
                name=site.name,
                time_zone=site.time_zone,
                address=site.address,
                phone=site.phone,
                slot_granularity_minutes=site.granularity,
                booking_lead_minutes=0,
                booking_horizon_days=180,
            )

    def make_staff(self) -> None:
        # One hash for all demo sign-ins: hashing is deliberately slow, the password public.
        password = make_password(DEMO_PASSWORD)
        users = [
            User(
                email=email,
                full_name=full_name,
                organization=self.org,
                role=Role(role),
                password=password,
                is_staff=role == Role.OWNER,
                is_superuser=role == Role.OWNER,
                date_joined=self.now - timedelta(days=900 - 60 * i),
            )
            for i, (role, _, email, full_name) in enumerate(DEMO_STAFF)
        ]
        for user in User.objects.bulk_create(users):
            self.users[user.role] = user

    def make_resources(self) -> None:
        provider_user = self.users[Role.PROVIDER]
        providers = [
            Resource(
                organization=self.org,
                kind=ResourceKind.PROVIDER,
                name=spec.name,
                location=self.locations[spec.home],
                user=provider_user if spec.name == PROVIDER_LOGIN else None,
                capabilities=list(spec.capabilities),
                title=spec.title,
                color=spec.color,
            )
            for spec in PROVIDERS
        ]
        rooms = [
            Resource(
                organization=self.org,
                kind=ResourceKind.ROOM,
                name=name,
                location=self.locations[site],
                capabilities=list(caps),
                title="Room",
                color=color,
            )
            for site, name, caps, color in ROOMS
        ]
        devices = [
            Resource(
                organization=self.org,
                kind=ResourceKind.DEVICE,
                name=name,
                location=self.locations[site],
                capabilities=list(caps),
                title=model,
                color=color,
            )
            for site, name, model, caps, color in DEVICES
        ]
        created = Resource.objects.bulk_create([*providers, *rooms, *devices])
        self.providers = {r.name: r for r in created[: len(providers)]}
        self.rooms = created[len(providers) : len(providers) + len(rooms)]
        self.devices = created[len(providers) + len(rooms) :]

        rows: list[WorkingHours] = []

        def add(resource: Resource, hours: Iterable[tuple[str, int, time, time]]) -> None:
            for site, weekday, start, end in hours:
                self.hours[(resource.pk, site)].append(engine.WeeklyHours(weekday, start, end))
                rows.append(
                    WorkingHours(
                        organization=self.org,
                        resource=resource,
                        location=self.locations[site],
                        weekday=weekday,
                        start_time=start,
                        end_time=end,
                    )
                )

        for spec in PROVIDERS:
            add(self.providers[spec.name], spec.hours)
        for room, (site, *_) in zip(self.rooms, ROOMS, strict=True):
            add(room, SITE_BY_KEY[site].opening)
        for device, (site, *_) in zip(self.devices, DEVICES, strict=True):
            add(device, SITE_BY_KEY[site].opening)
        WorkingHours.objects.bulk_create(rows)

    def make_services(self) -> None:
        services = Service.objects.bulk_create(
            [
                Service(
                    organization=self.org,
                    name=spec.name,
                    category=spec.category,
                    description=spec.description,
                    price_cents=spec.price_cents,
                    provider_capability=spec.provider,
                    room_type=spec.room,
                    device_type=spec.device,
                    buffer_before_minutes=spec.before,
                    buffer_after_minutes=spec.after,
                    color=spec.color,
                )
                for spec in SERVICES
            ]
        )
        segments: list[ServiceSegment] = []
        for service, spec in zip(services, SERVICES, strict=True):
            lead = sum(m for _, m, _ in spec.segments[: self._leading(spec)])
            trail = sum(m for _, m, _ in spec.segments[len(spec.segments) - self._trailing(spec) :])
            if (lead, trail) != (spec.before, spec.after):
                raise AssertionError(f"{spec.name}: buffers must equal prep and cleanup segments")
            segments.extend(
                ServiceSegment(
                    service=service,
                    position=i,
                    name=name,
                    duration_minutes=minutes,
                    holds_provider=P in holds,
                    holds_room=R in holds,
                    holds_device=D in holds,
                )
                for i, (name, minutes, holds) in enumerate(spec.segments)
            )
            if spec.only_at is not None:
                service.locations.add(self.locations[spec.only_at])
        ServiceSegment.objects.bulk_create(segments)
        fresh = Service.objects.filter(organization=self.org).prefetch_related("segments")
        self.services = {s.name: s for s in fresh}
        self.plans = {name: plan_for(service) for name, service in self.services.items()}

    @staticmethod
    def _leading(spec: _Service) -> int:
        """How many leading segments are prep before the client arrives (buffer_before)."""
        count = 0
        for name, _, _ in spec.segments:
            if name not in PREP_SEGMENTS:
                break
            count += 1
        return count

    @staticmethod
    def _trailing(spec: _Service) -> int:
        count = 0
        for name, _, _ in reversed(spec.segments):
            if name not in CLEANUP_SEGMENTS:
                break
            count += 1
        return count

    def make_clients(self) -> None:
        rng = self.rng
        phones = {
            site.key: rng.sample(
                [f"+1{code}55501{n:02d}" for code in site.area_codes for n in range(100)],
                k=100 * len(site.area_codes),
            )
            for site in SITES
        }
        share = {BOSTON: 185, DENVER: 115}
        seen_names: set[str] = set()
        seen_emails: set[str] = set()
        rows: list[tuple[str, Client]] = []
        for site in SITES:
            for n in range(share[site.key]):
                while True:
                    female = rng.random() < 0.86
                    first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
                    last = rng.choice(LAST_NAMES)
                    if f"{first} {last}" not in seen_names:
                        seen_names.add(f"{first} {last}")
                        break
                email = ""
                if rng.random() < 0.95:
                    style = rng.randrange(4)
                    local = {
                        0: f"{_ascii(first)}.{_ascii(last)}",
                        1: f"{_ascii(first)[0]}{_ascii(last)}",
                        2: f"{_ascii(first)}{_ascii(last)}{rng.randint(70, 99)}",
                        3: f"{_ascii(first)}_{_ascii(last)}",
                    }[style]
                    domain = rng.choice(("example.com", "example.com", "example.org"))
                    email = f"{local}@{domain}"
                    suffix = 2
                    while email in seen_emails:
                        email = f"{local}{suffix}@{domain}"
                        suffix += 1
                    seen_emails.add(email)
                year = int(rng.triangular(1955, 2004.999, 1988))
                birth = date(year, 1, 1) + timedelta(days=rng.randrange(365))
                joined = self.now - timedelta(
                    days=7 * self.weeks_past + rng.randint(10, 900), minutes=rng.randrange(1440)
                )
                rows.append(
                    (
                        site.key,
                        Client(
                            organization=self.org,
                            first_name=first,
                            last_name=last,
                            phone=phones[site.key][n],
                            email=email,
                            birth_date=birth,
                            created_at=joined,
                        ),
                    )
                )
        tags = [self._fill_details(site_key, client) for site_key, client in rows]
        created = Client.objects.bulk_create([client for _, client in rows], batch_size=500)
        self._write_tags_and_consents(created, tags)
        self._write_medical_histories(created)
        self.clients = {site.key: [] for site in SITES}
        for (site_key, _), client in zip(rows, created, strict=True):
            self.clients[site_key].append(client)
        # Regulars come often, others once or twice: a skewed weight per client.
        self.client_weights = {
            key: list(self._cumulative([rng.paretovariate(1.6) for _ in pool]))
            for key, pool in self.clients.items()
        }

    def _fill_details(self, site_key: str, client: Client) -> list[str]:
        """Address, preferences and notes of one client; its tags. Drawn from its own stream.

        The stream is seeded by the client's name and phone (themselves drawn from the seed),
        so the details are as deterministic as the rest and leave the main stream untouched.
        """
        rng = random.Random(f"{client.first_name}|{client.last_name}|{client.phone}")
        city, region, codes = rng.choice(HOMES[site_key])
        if rng.random() < 0.8:
            client.address_line1 = f"{rng.randint(1, 420)} {rng.choice(STREETS)}"
            client.address_line2 = f"Apt {rng.randint(1, 12)}" if rng.random() < 0.3 else ""
            client.city, client.region, client.postal_code = city, region, rng.choice(codes)
        if rng.random() < 0.05:
            client.preferred_name = client.first_name[:3]
        if rng.random() < 0.2:
            client.pronouns = "he/him" if client.first_name in MALE_NAMES else "she/her"
        channels = ["sms", "sms", "email", "phone", "none"]
        client.preferred_channel = rng.choice(channels if client.email else ["sms", "none"])
        if rng.random() < 0.3:
            home = [spec.name for spec in PROVIDERS if spec.home == site_key]
            client.preferred_provider = self.providers[rng.choice(home)]
        if rng.random() < 0.1:
            client.staff_notes = rng.choice(DEMO_NOTES)
        return [tag for tag, share in DEMO_TAGS if rng.random() < share]

    def _write_tags_and_consents(self, clients: list[Client], tags: list[list[str]]) -> None:
        """Tags, and the marketing opt-ins imported with the clients (about two in five)."""
        ClientTag.objects.bulk_create(
            ClientTag(organization=self.org, client=client, slug=slug)
            for client, slugs in zip(clients, tags, strict=True)
            for slug in slugs
        )
        consents = []
        for client in clients:
            rng = random.Random(f"consent|{client.phone}")
            for channel, given in (("email", bool(client.email)), ("sms", True)):
                if given and rng.random() < 0.4:
                    consents.append(
                        CommunicationConsent(
                            organization=self.org,
                            client=client,
                            channel=channel,
                            purpose="marketing",
                            granted=True,
                            source="import",
                            recorded_at=client.created_at,
                        )
                    )
        CommunicationConsent.objects.bulk_create(consents, batch_size=500)

    def _write_medical_histories(self, clients: list[Client]) -> None:
        """Allergies, medications and flags taken at a first visit: about two in five clients.

        Drawn from each client's own stream, like the details, so appointments do not move.
        """
        histories = []
        for client in clients:
            rng = random.Random(f"medical|{client.phone}")
            if rng.random() >= 0.4:
                continue
            histories.append(
                MedicalHistory(
                    organization=self.org,
                    client=client,
                    allergies=rng.sample(DEMO_ALLERGIES, rng.choice([0, 1, 1, 2])),
                    medications=rng.sample(DEMO_MEDICATIONS, rng.choice([0, 0, 1, 2])),
                    medical_flags=[
                        flag for flag, share in DEMO_MEDICAL_FLAGS if rng.random() < share
                    ],
                    notes=rng.choice(DEMO_MEDICAL_NOTES),
                    recorded_at=client.created_at,
                )
            )
        MedicalHistory.objects.bulk_create(histories, batch_size=500)

    @staticmethod
    def _cumulative(weights: Sequence[float]) -> Iterable[float]:
        total = 0.0
        for weight in weights:
            total += weight
            yield total

    # -- blocks ------------------------------------------------------------------------------

    def _works(self, resource: Resource, site: _Site, day: date) -> bool:
        return any(h.weekday == day.weekday() for h in self.hours[(resource.pk, site.key)])

    def _whole_days(self, site: _Site, first: date, count: int) -> tuple[int, int]:
        zone = ZoneInfo(site.time_zone)
        return _day_bounds(first, zone)[0], _day_bounds(first + timedelta(days=count - 1), zone)[1]

    def _between(self, site: _Site, day: date, start: str, end: str) -> tuple[int, int]:
        zone = ZoneInfo(site.time_zone)
        return _ts(_local(day, _t(start), zone)), _ts(_local(day, _t(end), zone))

    def make_blocks(self) -> None:
        boston, denver = SITE_BY_KEY[BOSTON], SITE_BY_KEY[DENVER]
        holidays: dict[str, set[date]] = {site.key: set() for site in SITES}
        for site in SITES:
            days = self.days(site)
            years = sorted({d.year for d in days})
            for day, name in [h for year in years for h in us_holidays(year)]:
                if days[0] <= day <= days[-1] and self.is_open(site, day):
                    holidays[site.key].add(day)
                    start, end = self._whole_days(site, day, 1)
                    self.blocks.append(
                        _Block(
                            None,
                            self.locations[site.key],
                            start,
                            end,
                            BlockReason.HOLIDAY,
                            f"{name}: clinic closed",
                        )
                    )

        def days_where(resource: Resource, site: _Site, *, future: bool | None) -> list[date]:
            """Working days of the resource: after tomorrow, before today, or any (None)."""
            today = self.today(site)

            def when(d: date) -> bool:
                if future is None:
                    return True
                return d > today + timedelta(days=1) if future else d < today

            return [
                d
                for d in self.days(site)
                if self._works(resource, site, d) and d not in holidays[site.key] and when(d)
            ]

        p = self.providers
        # (resource, site, in the future?, local "HH:MM" span or whole days, reason, note)
        planned: list[tuple[Resource, _Site, bool | None, tuple[str, str] | int, str, str]] = [
            (
                self.devices[0],
                boston,
                True,
                ("08:30", "12:30"),
                BlockReason.MAINTENANCE,
                "Scheduled service visit (Candela field engineer)",
            ),
            (p["Jenna Park"], boston, True, 1, BlockReason.TIME_OFF, "Vacation day"),
            (p["Sam Delgado"], boston, False, 2, BlockReason.TIME_OFF, "PTO"),
            (p["Olivia Bennett"], boston, False, 1, BlockReason.TIME_OFF, "Sick day"),
            (
                p["Marcus Okafor"],
                boston,
                True,
                ("10:00", "13:00"),
                BlockReason.TRAINING,
                "Advanced filler techniques course",
            ),
            (
                p["Lauren Chen"],
                denver,
                None,
                ("13:00", "18:00"),
                BlockReason.TIME_OFF,
                "Dentist appointment",
            ),
        ]
        for resource, site, future, span, reason, note in planned:
            candidates = days_where(resource, site, future=future) or days_where(
                resource, site, future=None
            )
            if not candidates:
                continue
            picked = self.rng.choice(candidates)
            start, end = (
                self._whole_days(site, picked, span)
                if isinstance(span, int)
                else self._between(site, picked, *span)
            )
            self.blocks.append(_Block(resource, None, start, end, reason, note))
        ResourceBlock.objects.bulk_create(
            [
                ResourceBlock(
                    organization=self.org,
                    resource=b.resource,
                    location=b.location,
                    start=_dt(b.start),
                    end=_dt(b.end),
                    reason=b.reason,
                    note=b.note,
                )
                for b in self.blocks
            ]
        )

    # -- the schedule ------------------------------------------------------------------------

    def _local_resources(self, site: _Site) -> list[Resource]:
        location = self.locations[site.key]
        local = [r for r in [*self.rooms, *self.devices] if r.location_id == location.pk]
        local.extend(r for r in self.providers.values() if self.hours.get((r.pk, site.key)))
        order = {ResourceKind.PROVIDER: 0, ResourceKind.ROOM: 1, ResourceKind.DEVICE: 2}
        return sorted(local, key=lambda r: (order[ResourceKind(r.kind)], r.name))

    def _menu(self, site: _Site) -> tuple[list[tuple[str, ...]], list[float]]:
        """What clients book at this site, as service-name tuples with cumulative weights."""
        index = 0 if site.key == BOSTON else 1
        choices: list[tuple[str, ...]] = []
        weights: list[int] = []
        for spec in SERVICES:
            if spec.weights[index] and spec.only_at in (None, site.key):
                choices.append((spec.name,))
                weights.append(spec.weights[index])
        for names, *by_site in COMBOS:
            if by_site[index]:
                choices.append(names)
                weights.append(by_site[index])
        return choices, list(self._cumulative(weights))

    def _target(self, site: _Site, day: date, offset: int, busyness: float) -> int:
        low, high = site.daily
        base = self.rng.randint(low, high) * WEEKDAY_FACTOR[day.weekday()] * busyness
        if offset > 0:
            # Near days are nearly full; three weeks out, about a quarter is booked.
            base *= max(0.25, 0.95 - 0.035 * offset)
        return round(base)

    def schedule(self, site: _Site, busyness: float) -> None:
        rng = self.rng
        location = self.locations[site.key]
        zone = ZoneInfo(site.time_zone)
        resources = self._local_resources(site)
        menu, menu_weights = self._menu(site)
        today = self.today(site)
        blocks_here = [b for b in self.blocks if b.location is None or b.location.pk == location.pk]
        busy = self.busy
        other = DENVER if site.key == BOSTON else BOSTON
        for day in self.days(site):
            offset = (day - today).days
            start, end = _day_bounds(day, zone)
            working = {
                r.pk: tuple(
                    engine.expand_weekly(self.hours[(r.pk, site.key)], site.time_zone, day, day)
                )
                for r in resources
            }
            blocked = {
                r.pk: tuple(
                    engine.Block(b.start, b.end, b.reason)
                    for b in blocks_here
                    if (b.resource is None or b.resource.pk == r.pk)
                    and b.start < end
                    and b.end > start
                )
                for r in resources
            }
            free_rooms = [
                engine.subtract(
                    list(working[r.pk]), engine.normalize((b.start, b.end) for b in blocked[r.pk])
                )
                for r in resources
                if r.kind == ResourceKind.ROOM
            ]
            if not any(free_rooms):
                continue
            if offset <= 0:
                self.open_days[site.key] += 1
            day_resources = [r for r in resources if working[r.pk]]
            opening = [
                (_ts(_local(day, a, zone)), _ts(_local(day, b, zone)))
                for _, weekday, a, b in site.opening
                if weekday == day.weekday()
            ]
            open_ts, close_ts = opening[0]
            target = self._target(site, day, offset, busyness)
            placed = attempts = 0
            while placed < target and attempts < 4 * target:
                attempts += 1
                names = rng.choices(menu, cum_weights=menu_weights)[0]
                services = tuple(self.services[n] for n in names)
                plans = tuple(self.plans[n] for n in names)
                plan = engine.combine(plans)
                pins: dict[str, frozenset[int]] = {}
                capability = services[0].provider_capability
                if "0:provider" in {n.role for n in plan.needs} and rng.random() < 0.35:
                    asked = [
                        r.pk
                        for r in day_resources
                        if r.kind == ResourceKind.PROVIDER
                        and (not capability or capability in r.capabilities)
                    ]
                    if asked:
                        pins["0:provider"] = frozenset({rng.choice(asked)})
                calendars = [
                    engine.ResourceCalendar(
                        id=r.pk,
                        kind=r.kind,
                        capabilities=frozenset(r.capabilities),
                        working=working[r.pk],
                        blocked=blocked[r.pk],
                        busy=tuple(
                            iv for iv in busy.get(r.pk, ()) if iv[0] < end and iv[1] > start
                        ),
                    )
                    for r in day_resources
                ]
                rules = engine.Rules(
                    window_start=start,
                    window_end=end,
                    tz=site.time_zone,
                    granularity=site.granularity * 60,
                    pins=pins,
                )
                slots = engine.find_slots(plan, calendars, rules)
                desired = rng.uniform(open_ts, close_ts)
                if not slots:
                    continue
                slot = min(slots, key=lambda s: (abs(s.start - desired), s.start))
                pool_key = other if rng.random() < 0.03 else site.key
                client = self._client(pool_key, self.booked_on[day])
                if client is None:
                    continue
                status, reason = self._status(slot, day == today)
                if status in ACTIVE_STATUSES:
                    placed += 1
                    for hold in slot.holds:
                        busy.setdefault(hold.resource, []).append((hold.start, hold.end))
                self.booked_on[day].add(client.pk)
                self.placed.append(
                    self._appointment(location, client, services, plans, slot, status, reason)
                )

    def _client(self, pool_key: str, taken: set[int]) -> Client | None:
        """A client of the site's pool, regulars more often; one visit a day at most."""
        pool = self.clients[pool_key]
        weights = self.client_weights[pool_key]
        for _ in range(8):
            client = self.rng.choices(pool, cum_weights=weights)[0]
            if client.pk not in taken:
                return client
        return None

    def _status(self, slot: engine.Slot, is_today: bool) -> tuple[str, str]:
        rng = self.rng
        now = self.now_ts
        roll = rng.random()
        if slot.end <= now:
            if roll < 0.06:
                return AppointmentStatus.CANCELLED, rng.choice(CANCEL_REASONS)
            if roll < 0.09:
                return AppointmentStatus.NO_SHOW, ""
            return AppointmentStatus.COMPLETED, ""
        if slot.start <= now:
            started = now - slot.start
            return (
                AppointmentStatus.IN_TREATMENT if started >= 600 else AppointmentStatus.CHECKED_IN
            ), ""
        if roll < 0.04:
            return AppointmentStatus.CANCELLED, rng.choice(CANCEL_REASONS)
        if is_today:
            if slot.start - now <= 1200 and roll < 0.6:
                return AppointmentStatus.CHECKED_IN, ""
            return (AppointmentStatus.CONFIRMED if roll < 0.75 else AppointmentStatus.BOOKED), ""
        if slot.start - now <= 2 * 86_400:
            return (AppointmentStatus.CONFIRMED if roll < 0.7 else AppointmentStatus.BOOKED), ""
        return (AppointmentStatus.CONFIRMED if roll < 0.25 else AppointmentStatus.BOOKED), ""

    def _appointment(
        self,
        location: Location,
        client: Client,
        services: tuple[Service, ...],
        plans: tuple[engine.Plan, ...],
        slot: engine.Slot,
        status: str,
        reason: str,
    ) -> _Placed:
        rng = self.rng
        now = self.now_ts
        lead_days = rng.choice((0, 1, 2, 3, 5, 7, 7, 10, 14, 14, 21, 28, 35, 42))
        created = slot.start - lead_days * 86_400 - rng.randrange(1, 10) * 3600
        created = min(created, now - rng.randrange(5, 600) * 60)
        latest = min(now, slot.start)
        if status == AppointmentStatus.COMPLETED:
            updated = slot.end + rng.randrange(0, 15) * 60
        elif status == AppointmentStatus.NO_SHOW:
            updated = slot.start + 15 * 60
        elif status == AppointmentStatus.CANCELLED:
            updated = created + int((latest - created) * rng.random())
        elif status == AppointmentStatus.CHECKED_IN:
            updated = max(created, min(now, slot.start) - rng.randrange(1, 10) * 60)
        elif status == AppointmentStatus.IN_TREATMENT:
            updated = slot.start + 5 * 60
        elif status == AppointmentStatus.CONFIRMED:
            updated = created + int((latest - created) * rng.random())
        else:
            updated = created
        updated = max(created, min(updated, now))
        actor = rng.choice(
            (
                self.users[Role.FRONT_DESK],
                self.users[Role.FRONT_DESK],
                self.users[Role.FRONT_DESK],
                self.users[Role.MANAGER],
                None,
            )
        )
        notes = rng.choice(NOTES) if rng.random() < 0.08 else ""
        return _Placed(
            location=location,
            client=client,
            services=services,
            plans=plans,
            slot=slot,
            status=status,
            cancel_reason=reason,
            notes=notes,
            created_by=actor,
            created_at=_dt(created),
            updated_at=_dt(updated),
        )

    def write_schedule(self) -> dict[str, int]:
        site_order = {self.locations[s.key].pk: i for i, s in enumerate(SITES)}
        placed = sorted(
            self.placed, key=lambda p: (p.slot.start, site_order[p.location.pk], p.client.pk)
        )
        appointments = Appointment.objects.bulk_create(
            [
                Appointment(
                    organization=self.org,
                    location=p.location,
                    client=p.client,
                    status=p.status,
                    start=_dt(p.slot.start),
                    end=_dt(p.slot.end),
                    notes=p.notes,
                    cancel_reason=p.cancel_reason,
                    created_by=p.created_by,
                    created_at=p.created_at,
                    updated_at=p.updated_at,
                )
                for p in placed
            ],
            batch_size=500,
        )
        lines: list[AppointmentService] = []
        for appointment, p in zip(appointments, placed, strict=True):
            assigned = dict(p.slot.assignment)
            spans = line_spans(p.plans, _dt(p.slot.start))
            lines.extend(
                AppointmentService(
                    appointment=appointment,
                    position=i,
                    service=service,
                    provider_id=assigned.get(f"{i}:{PROVIDER}"),
                    start=span[0],
                    end=span[1],
                    price_cents=service.price_cents,
                )
                for i, (service, span) in enumerate(zip(p.services, spans, strict=True))
            )
        created_lines = AppointmentService.objects.bulk_create(lines, batch_size=1000)
        by_appointment: dict[int, list[AppointmentService]] = defaultdict(list)
        for line in created_lines:
            by_appointment[line.appointment_id].append(line)
        reservations = [
            Reservation(
                organization=self.org,
                appointment=appointment,
                line=by_appointment[appointment.pk][line_index(hold.role)],
                resource_id=hold.resource,
                role=role_kind(hold.role),
                start=_dt(hold.start),
                end=_dt(hold.end),
                active=p.status in ACTIVE_STATUSES,
            )
            for appointment, p in zip(appointments, placed, strict=True)
            for hold in p.slot.holds
        ]
        Reservation.objects.bulk_create(reservations, batch_size=1000)
        return {
            "appointments": len(appointments),
            "lines": len(created_lines),
            "reservations": len(reservations),
        }

    def summary(self, *, seed: int, counts: dict[str, int], began: float) -> DemoSummary:
        by_location: Counter[str] = Counter()
        active_by_location: Counter[str] = Counter()
        by_status: Counter[str] = Counter()
        for p in self.placed:
            by_location[p.location.name] += 1
            by_status[p.status] += 1
            local_day = _dt(p.slot.start).astimezone(p.location.zone).date()
            if (
                p.status != AppointmentStatus.CANCELLED
                and local_day <= self.now.astimezone(p.location.zone).date()
            ):
                active_by_location[p.location.name] += 1
        per_open_day = {
            site.name: round(active_by_location[site.name] / self.open_days[site.key], 1)
            for site in SITES
            if self.open_days[site.key]
        }
        return DemoSummary(
            organization=self.org.name,
            seed=seed,
            now=self.now,
            locations=len(self.locations),
            staff=len(self.users),
            providers=len(self.providers),
            rooms=len(self.rooms),
            devices=len(self.devices),
            services=len(self.services),
            clients=sum(len(pool) for pool in self.clients.values()),
            blocks=len(self.blocks),
            appointments=counts["appointments"],
            appointment_lines=counts["lines"],
            reservations=counts["reservations"],
            by_location={site.name: by_location[site.name] for site in SITES},
            by_status={
                s.value: by_status[s.value] for s in AppointmentStatus if by_status[s.value]
            },
            per_open_day=per_open_day,
            seconds=round(clock.perf_counter() - began, 2),
        )
