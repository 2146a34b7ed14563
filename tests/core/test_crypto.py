"""Clinical data at rest: tokens in the database, a key ring, and `medspa rotate_keys`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, models
from django.test.utils import isolate_apps

from medspa.core.audit import verify_chain
from medspa.core.crypto import (
    EncryptionKeyMissing,
    decrypt_bytes,
    decrypt_text,
    development_key,
    encrypt_bytes,
    encrypt_text,
)
from medspa.core.fields import EncryptedJSONField, EncryptedTextField
from medspa.core.models import AuditEvent

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
NOTE = "Botox 20 units glabella; patient reports mild bruising after last visit. Émilie"
ALLERGIES = ["latex", "lidocaine"]


@pytest.fixture(scope="module")
def chart_model(django_db_setup: None, django_db_blocker: Any) -> Iterator[Any]:
    """A throwaway model with both fields, its table made for this module and dropped after."""

    class CryptoChart(models.Model):
        title = models.CharField(max_length=50, default="")
        note = EncryptedTextField(blank=True, default="")
        allergies = EncryptedJSONField(null=True, blank=True)

        class Meta:
            app_label = "core"
            db_table = "test_crypto_chart"

        def __str__(self) -> str:
            return self.title

    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        editor.create_model(CryptoChart)
    yield CryptoChart
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        editor.delete_model(CryptoChart)
    del apps.all_models["core"]["cryptochart"]
    apps.clear_cache()


def raw_rows() -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, title, note, allergies FROM test_crypto_chart ORDER BY id")
        return list(cursor.fetchall())


def test_text_bytes_and_json_round_trip(db: None, chart_model: Any) -> None:
    assert decrypt_text(encrypt_text(NOTE)) == NOTE
    assert decrypt_bytes(encrypt_bytes(b"\x89PNG\x00")) == b"\x89PNG\x00"

    chart = chart_model.objects.create(note=NOTE, allergies=ALLERGIES)

    chart.refresh_from_db()
    assert (chart.note, chart.allergies) == (NOTE, ALLERGIES)
    answers = {"pregnant": False, "medications": ["isotretinoin"], "score": 3}
    chart_model.objects.filter(pk=chart.pk).update(allergies=answers)
    assert chart_model.objects.get(pk=chart.pk).allergies == answers


def test_a_raw_database_read_finds_no_plaintext(db: None, chart_model: Any) -> None:
    chart_model.objects.create(title="visit", note=NOTE, allergies=ALLERGIES)

    [(_, title, note, allergies)] = raw_rows()

    assert title == "visit"
    for stored in (note, allergies):
        assert stored.startswith("gAAAAA")  # a Fernet token, version byte 0x80
        for secret in ("Botox", "glabella", "bruising", "latex", "lidocaine"):
            assert secret not in stored
            assert secret.lower() not in stored.lower()


def test_blank_text_stays_blank_and_none_stays_null(db: None, chart_model: Any) -> None:
    chart = chart_model.objects.create(note="", allergies=None)

    assert raw_rows()[0][2:] == ("", None)
    assert chart_model.objects.filter(note="").get() == chart
    assert chart_model.objects.filter(allergies__isnull=True).get() == chart
    assert chart_model.objects.filter(allergies=None).get() == chart


@pytest.mark.parametrize(
    "lookup",
    [{"note": "Botox"}, {"note__icontains": "botox"}, {"note__in": ["x"]}, {"allergies": []}],
)
def test_searching_ciphertext_is_refused_clearly(
    db: None, chart_model: Any, lookup: dict[str, Any]
) -> None:
    with pytest.raises(FieldError, match="encrypted at rest and cannot be searched"):
        chart_model.objects.filter(**lookup).exists()


def test_a_value_under_a_key_not_in_the_ring_raises_a_clear_error(
    db: None, chart_model: Any, settings: Any
) -> None:
    settings.MEDSPA_ENCRYPTION_KEYS = [KEY_A]
    chart = chart_model.objects.create(note=NOTE)

    settings.MEDSPA_ENCRYPTION_KEYS = [KEY_B]
    with pytest.raises(EncryptionKeyMissing, match="MEDSPA_ENCRYPTION_KEYS"):
        chart_model.objects.get(pk=chart.pk)
    with pytest.raises(EncryptionKeyMissing):
        decrypt_text("not a token")


def test_a_malformed_key_is_refused_without_echoing_it(settings: Any) -> None:
    settings.MEDSPA_ENCRYPTION_KEYS = [KEY_A, "too-short-to-be-a-key"]

    with pytest.raises(ImproperlyConfigured, match="key #2 is not a Fernet key") as refusal:
        encrypt_text(NOTE)
    assert "too-short" not in str(refusal.value)


def test_without_keys_one_development_key_comes_from_secret_key(settings: Any) -> None:
    settings.MEDSPA_ENCRYPTION_KEYS = []
    token = encrypt_text(NOTE)

    assert development_key(settings.SECRET_KEY) == development_key(settings.SECRET_KEY)
    assert Fernet(development_key(settings.SECRET_KEY)).decrypt(token).decode() == NOTE


def test_production_without_keys_refuses_to_start() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MEDSPA_ENCRYPTION_KEYS"}
    env["MEDSPA_SECRET_KEY"] = "a-production-secret"

    done = subprocess.run(
        [sys.executable, "-c", "import medspa.settings"], env=env, capture_output=True, text=True
    )

    assert done.returncode != 0
    assert "MEDSPA_ENCRYPTION_KEYS is required" in done.stderr


def test_rotation_moves_every_value_to_the_newest_key_and_is_idempotent(
    db: None, chart_model: Any, settings: Any
) -> None:
    settings.MEDSPA_ENCRYPTION_KEYS = [KEY_A]
    charts = [chart_model.objects.create(note=f"{NOTE} #{i}", allergies=[i]) for i in range(5)]
    chart_model.objects.create(note="", allergies=None)  # blank values are skipped
    before = raw_rows()

    settings.MEDSPA_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    out = StringIO()
    call_command("rotate_keys", batch_size=2, stdout=out)

    assert "core.CryptoChart.note: 5 rotated, 0 already current" in out.getvalue()
    assert "core.CryptoChart.allergies: 5 rotated, 0 already current" in out.getvalue()
    settings.MEDSPA_ENCRYPTION_KEYS = [KEY_B]  # the old key can go
    for i, chart in enumerate(charts):
        chart.refresh_from_db()
        assert (chart.note, chart.allergies) == (f"{NOTE} #{i}", [i])
    after = raw_rows()
    assert all(b[2] != a[2] for b, a in zip(before[:5], after[:5], strict=True))

    settings.MEDSPA_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    again = StringIO()
    call_command("rotate_keys", stdout=again)  # a re-run (after a crash) changes nothing
    assert "core.CryptoChart.note: 0 rotated, 5 already current" in again.getvalue()
    assert raw_rows() == after
    events = AuditEvent.objects.filter(action="encryption.keys_rotated").order_by("id")
    assert [e.data["rotated"]["core.CryptoChart.note"] for e in events] == [5, 0]
    assert events[0].organization_id is None and verify_chain(None) is None
    assert KEY_A not in str(events[0].data) and KEY_B not in str(events[0].data)


def test_a_dry_run_counts_and_changes_nothing(db: None, chart_model: Any, settings: Any) -> None:
    settings.MEDSPA_ENCRYPTION_KEYS = [KEY_A]
    chart_model.objects.create(note=NOTE, allergies=ALLERGIES)
    before = raw_rows()

    settings.MEDSPA_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    out = StringIO()
    call_command("rotate_keys", "--dry-run", stdout=out)

    assert "core.CryptoChart.note: 1 to rotate" in out.getvalue()
    assert raw_rows() == before
    assert not AuditEvent.objects.filter(action="encryption.keys_rotated").exists()


def test_fields_deconstruct_for_migrations() -> None:
    _, path, args, kwargs = EncryptedTextField(blank=True, default="").deconstruct()
    assert path == "medspa.core.fields.EncryptedTextField"
    assert EncryptedTextField(*args, **kwargs).blank
    _, path, _, kwargs = EncryptedJSONField(null=True).deconstruct()
    assert (path, kwargs) == ("medspa.core.fields.EncryptedJSONField", {"null": True})


@isolate_apps("medspa.core")
def test_an_indexed_or_unique_encrypted_field_fails_the_system_check() -> None:
    class Bad(models.Model):
        note = EncryptedTextField(unique=True)

        class Meta:
            app_label = "core"

        def __str__(self) -> str:
            return "bad"

    assert "medspa.E001" in [error.id for error in Bad.check()]
