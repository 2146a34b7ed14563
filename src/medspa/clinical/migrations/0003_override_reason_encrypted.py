"""Gate override reasons are clinical free text: encrypt the ones already written."""

from typing import Any

from django.db import migrations

import medspa.core.fields
from medspa.core.crypto import encrypt_text


def encrypt_existing(apps: Any, schema_editor: Any) -> None:
    # Raw SQL: the historical model would hand the plaintext to the field as if a token.
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, reason FROM clinical_gateoverride")
        rows = cursor.fetchall()
        for pk, reason in rows:
            cursor.execute(
                "UPDATE clinical_gateoverride SET reason = %s WHERE id = %s",
                [encrypt_text(reason) if reason else reason, pk],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("clinical", "0002_visit_records"),
    ]

    operations = [
        migrations.AlterField(
            model_name="gateoverride",
            name="reason",
            field=medspa.core.fields.EncryptedTextField(),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
    ]
