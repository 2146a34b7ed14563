"""The cost of encryption at rest per chart read, and a long-standing client's record (issue 5).

A realistic chart: a ~3 KB note plus ten short encrypted fields (five texts, five JSON
values: allergies, medications, intake answers, …). Measures, per chart read:
- decrypting its eleven stored tokens (the cost encryption adds; the target);
- reading one chart through the ORM, with the encrypted fields and with plain ones.
Prints p50/p95 in ms. Target: decryption p95 <= 2 ms per chart read.

Then, in the demo clinic, a client with five years of history (60 visits, each with a
signed chart, intake and injectables; 200 photos; yearly consents; medical versions):
server time of their record page as a provider sees it, and of its "Charts and photos"
card, which the page loads right after. Target: each at most 200 ms p95.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile, setup_django, write_results

TARGET_MS = 2.0
RECORD_TARGET_MS = 200.0
PHRASES = (
    "patient reports mild erythema after the last session resolved within two days "
    "neurotoxin glabella forehead crow's feet units per site reconstituted with saline "
    "no bruising noted topical anesthetic applied for twenty minutes before treatment "
    "discussed expectations aftercare sun protection and follow-up in two weeks"
)
WORDS = PHRASES.split()


def chart_values(rng: random.Random) -> dict[str, Any]:
    note = ""
    while len(note) < 3000:
        note += " ".join(rng.choices(WORDS, k=12)).capitalize() + ". "
    return {
        "note": note,
        "chief_complaint": "Dynamic lines between the brows",
        "assessment": "Moderate glabellar lines, good candidate",
        "plan": "Neurotoxin 20 units; review in 14 days",
        "products": "Botox lot C1234 exp 2027-03",
        "remark": "Prefers afternoon appointments",
        "allergies": ["latex", "lidocaine"],
        "medications": ["isotretinoin (stopped 2024)", "sertraline 50 mg"],
        "intake": {"pregnant": False, "keloids": False, "recent_laser": True, "score": 3},
        "contraindications": [],
        "consents": {"photos": True, "marketing": False},
    }


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    for _ in range(min(50, repeats)):  # warm up
        fn()
    timings = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - t0) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--postgres", help="a database URL instead of a fresh SQLite file")
    parser.add_argument("--record-repeats", type=int, default=200)
    parser.add_argument("--visits", type=int, default=60)
    parser.add_argument("--photos", type=int, default=200)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="medspa-bench-"))
    setup_django(args.postgres or f"sqlite:///{workdir / 'bench.sqlite3'}")
    from django.db import connection, models

    from medspa.core.crypto import decrypt_text
    from medspa.core.fields import EncryptedJSONField, EncryptedTextField

    texts = ("note", "chief_complaint", "assessment", "plan", "products", "remark")
    jsons = ("allergies", "medications", "intake", "contraindications", "consents")

    def chart_model(name: str, text: type[models.Field[Any, Any]], js: Any) -> Any:
        attrs: dict[str, Any] = {f: text(blank=True, default="") for f in texts}
        attrs.update({f: js(null=True) for f in jsons})
        meta = type("Meta", (), {"app_label": "core", "db_table": f"bench_{name.lower()}"})
        return type(name, (models.Model,), {"__module__": __name__, "Meta": meta, **attrs})

    encrypted = chart_model("EncryptedChart", EncryptedTextField, EncryptedJSONField)
    plain = chart_model("PlainChart", models.TextField, models.JSONField)
    with connection.schema_editor() as editor:
        for model in (encrypted, plain):
            editor.create_model(model)
    try:
        rng = random.Random(1)
        values = chart_values(rng)
        enc = encrypted.objects.create(**values)
        pln = plain.objects.create(**values)
        loaded = encrypted.objects.get(pk=enc.pk)
        assert all(getattr(loaded, k) == v for k, v in values.items())
        columns = ", ".join(connection.ops.quote_name(f) for f in (*texts, *jsons))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM bench_encryptedchart WHERE id = %s", [enc.pk])
            tokens = [t for t in cursor.fetchone() if t]
        stored = sum(len(t) for t in tokens)
        print(
            f"chart: note {len(values['note'])} chars, {len(tokens)} encrypted values, "
            f"{stored} bytes stored ({connection.vendor})"
        )

        decrypt = timed(lambda: [decrypt_text(t) for t in tokens], args.repeats)
        read_enc = timed(lambda: encrypted.objects.get(pk=enc.pk), args.repeats)
        read_plain = timed(lambda: plain.objects.get(pk=pln.pk), args.repeats)
        save_enc = timed(lambda: enc.save(), max(200, args.repeats // 10))
    finally:
        with connection.schema_editor() as editor:
            for model in (encrypted, plain):
                editor.delete_model(model)

    rows = [
        ("decrypt one chart (11 tokens)", decrypt),
        ("ORM read, encrypted fields", read_enc),
        ("ORM read, plain fields", read_plain),
        ("ORM save, encrypted fields", save_enc),
    ]
    print(f"\n{'measure':<32} {'p50 ms':>8} {'p95 ms':>8}")
    for label, timings in rows:
        print(f"{label:<32} {statistics.median(timings):>8.3f} {percentile(timings, 95):>8.3f}")
    p95 = percentile(decrypt, 95)
    added = statistics.median(read_enc) - statistics.median(read_plain)
    verdict = "PASS" if p95 <= TARGET_MS else "FAIL"
    print(
        f"\nencryption per chart read: p95 {p95:.3f} ms (target <= {TARGET_MS:.0f} ms) "
        f"{verdict}; ORM read p50 +{added:.3f} ms against plain fields"
    )
    path = write_results(
        "clinical" if not args.postgres else "clinical-postgres",
        {
            "database": connection.vendor,
            "stored_bytes": stored,
            "rows": [
                {
                    "measure": label,
                    "p50_ms": statistics.median(timings),
                    "p95_ms": percentile(timings, 95),
                }
                for label, timings in rows
            ],
            "target_ms": TARGET_MS,
            "verdict": verdict,
        },
    )
    print(f"results: {path}")
    record_ok = client_record(args)
    sys.exit(0 if verdict == "PASS" and record_ok else 1)


def long_history_client(*, visits: int, photos: int) -> Any:
    """A demo client with `visits` monthly past visits, each fully charted, and `photos` photos."""
    from datetime import timedelta

    from django.utils import timezone

    from medspa.catalog.models import Service
    from medspa.clients.models import Client, MedicalHistory
    from medspa.clinical.charting import clean_photo
    from medspa.clinical.consent import consent_text_sha256
    from medspa.clinical.models import (
        Chart,
        ChartPhoto,
        ChartPhotoContent,
        ChartStatus,
        ConsentSignature,
        ConsentTemplate,
        InjectableEntry,
        IntakeRequest,
        IntakeRequestStatus,
        IntakeTemplate,
        PhotoKind,
    )
    from medspa.core.models import Organization
    from medspa.demo.clinical_records import _photo_jpeg, _signature_png
    from medspa.scheduling.models import (
        Appointment,
        AppointmentService,
        AppointmentStatus,
        Resource,
    )

    rng = random.Random(5)
    org = Organization.objects.get()
    provider = Resource.objects.get(user__email="provider@demo.medspa.example")
    location = provider.location
    service = Service.objects.get(organization=org, name="Neurotoxin \N{EN DASH} three areas")
    now = timezone.now()
    client = Client.objects.create(
        organization=org,
        first_name="Margaret",
        last_name="Longhistory",
        phone="+16175550999",
        email="margaret.longhistory@example.com",
        created_at=now - timedelta(days=5 * 365 + 30),
    )
    for year in range(5):
        MedicalHistory.objects.create(
            organization=org,
            client=client,
            allergies=["Latex"],
            medications=["Levothyroxine 50 mcg"],
            medical_flags=["cold_sores"],
            notes="Bruises easily.",
            recorded_at=now - timedelta(days=365 * year + 10),
        )
    template = IntakeTemplate.objects.get(organization=org, name="Health history")
    version = template.versions.filter(published_at__isnull=False).latest("number")
    consent = ConsentTemplate.objects.get(organization=org, name="Neurotoxin treatment consent")
    consent_version = consent.versions.filter(published_at__isnull=False).earliest("number")
    image = clean_photo(_photo_jpeg(rng, "Before"))
    per_visit = [photos // visits + (1 if i < photos % visits else 0) for i in range(visits)]
    for i in range(visits):
        start = (now - timedelta(days=30 * (i + 1))).replace(hour=15, minute=0, second=0)
        end = start + timedelta(minutes=45)
        appointment = Appointment.objects.create(
            organization=org,
            location=location,
            client=client,
            status=AppointmentStatus.COMPLETED,
            start=start,
            end=end,
            created_at=start - timedelta(days=14),
            updated_at=end,
        )
        AppointmentService.objects.create(
            appointment=appointment,
            position=0,
            service=service,
            provider=provider,
            start=start,
            end=end,
            price_cents=service.price_cents,
        )
        IntakeRequest.objects.create(
            organization=org,
            client=client,
            appointment=appointment,
            template=template,
            version=version,
            status=IntakeRequestStatus.SUBMITTED,
            answers={"pregnant": False, "blood_thinners": False, "isotretinoin": False},
            submitted_at=start - timedelta(days=1),
        )
        if i % 12 == 0:
            ConsentSignature.objects.create(
                organization=org,
                client=client,
                version=consent_version,
                appointment=appointment,
                typed_name=client.full_name,
                signature_image=_signature_png(rng),
                text_sha256=consent_text_sha256(consent_version),
                signed_at=start - timedelta(minutes=5),
            )
        chart = Chart.objects.create(
            organization=org,
            appointment=appointment,
            client=client,
            provider=provider,
            notes="Moderate dynamic lines. Injected per diagram; tolerated well. " * 8,
            status=ChartStatus.SIGNED,
            created_at=start,
            updated_at=end,
            signed_by=provider.user,
            signed_at=end,
        )
        InjectableEntry.objects.create(
            organization=org,
            chart=chart,
            kind="neurotoxin",
            product="Botox Cosmetic",
            quantity=44,
            unit="units",
            lot_number=f"C{7000 + i}AC",
            expiry=(start + timedelta(days=200)).date(),
            sites=[
                {"site": "glabella", "x": 0.5, "y": 0.3, "quantity": "20"},
                {"site": "crows_feet_left", "x": 0.8, "y": 0.4, "quantity": "12"},
                {"site": "crows_feet_right", "x": 0.2, "y": 0.4, "quantity": "12"},
            ],
        )
        for n in range(per_visit[i]):
            photo = ChartPhoto.objects.create(
                organization=org,
                chart=chart,
                client=client,
                kind=PhotoKind.BEFORE if n % 2 == 0 else PhotoKind.AFTER,
                area="Full face",
                content_type=image.content_type,
                size=len(image.image),
                sha256=image.sha256,
                taken_at=start if n % 2 == 0 else end,
            )
            ChartPhotoContent.objects.create(
                photo=photo, image=image.image, thumbnail=image.thumbnail
            )
    return client


def client_record(args: argparse.Namespace) -> bool:
    """Server time of a five-year client's record page and its charts card, as a provider."""
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from medspa.core.models import User
    from medspa.demo import build_demo

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    t0 = time.perf_counter()
    build_demo(seed=1, weeks_past=1, weeks_future=1, reset=True)
    client = long_history_client(visits=args.visits, photos=args.photos)
    print(
        f"\ndemo and a five-year client ({args.visits} visits, {args.photos} photos) built in "
        f"{time.perf_counter() - t0:.0f} s ({connection.vendor})"
    )
    browser = HttpClient()
    browser.force_login(User.objects.get(email="provider@demo.medspa.example"))
    # As in bench/pages.py: a served worker freezes what start-up loaded out of the garbage
    # collector (medspa/wsgi.py); without it, collections over the demo builder's leftovers
    # make the tail.
    gc.collect()
    gc.freeze()
    urls = {
        "record page": reverse("frontdesk:client", args=[client.pk]),
        "charts and photos card": reverse("frontdesk:client_charts", args=[client.pk]),
    }
    rows = []
    for label, url in urls.items():
        counts = []
        for _ in range(2):
            with CaptureQueriesContext(connection) as captured:
                response = browser.get(url)
            assert response.status_code == 200, (url, response.status_code)
            counts.append(len(captured.captured_queries))
        timings = timed(lambda url=url: browser.get(url), args.record_repeats)
        rows.append((label, timings, min(counts), len(response.content)))
    print(f"\n{'request':<24} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'KB':>6}")
    for label, timings, queries, size in rows:
        print(
            f"{label:<24} {statistics.median(timings):>8.1f} {percentile(timings, 95):>8.1f} "
            f"{queries:>8} {size / 1024:>6.0f}"
        )
    worst = max(percentile(t, 95) for _, t, _, _ in rows)
    verdict = "PASS" if worst <= RECORD_TARGET_MS else "FAIL"
    print(f"\nfive-year client record: worst p95 {worst:.1f} ms (target <= 200 ms) {verdict}")
    write_results(
        "client-record" if connection.vendor == "sqlite" else "client-record-postgres",
        {
            "database": connection.vendor,
            "visits": args.visits,
            "photos": args.photos,
            "rows": [
                {
                    "request": label,
                    "p50_ms": statistics.median(t),
                    "p95_ms": percentile(t, 95),
                    "queries": q,
                    "bytes": size,
                }
                for label, t, q, size in rows
            ],
            "target_ms": RECORD_TARGET_MS,
            "verdict": verdict,
        },
    )
    return verdict == "PASS"


if __name__ == "__main__":
    main()
