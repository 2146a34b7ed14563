"""The cost of encryption at rest per chart read (issue 5).

A realistic chart: a ~3 KB note plus ten short encrypted fields (five texts, five JSON
values: allergies, medications, intake answers, …). Measures, per chart read:
- decrypting its eleven stored tokens (the cost encryption adds; the target);
- reading one chart through the ORM, with the encrypted fields and with plain ones.
Prints p50/p95 in ms. Target: decryption p95 <= 2 ms per chart read.
"""

from __future__ import annotations

import argparse
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


if __name__ == "__main__":
    main()
