"""On PostgreSQL, two active reservations of one resource can never overlap.

The booking service checks too, but this constraint holds whatever the code does. SQLite
has no exclusion constraints; there the booking transaction runs under BEGIN IMMEDIATE.
"""

from django.db import migrations

FORWARDS = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist;",
    """
    ALTER TABLE scheduling_reservation ADD CONSTRAINT reservation_no_overlap
    EXCLUDE USING gist (
        organization_id WITH =,
        resource_id WITH =,
        tstzrange("start", "end", '[)') WITH &&
    ) WHERE (active);
    """,
]
BACKWARDS = [
    "ALTER TABLE scheduling_reservation DROP CONSTRAINT IF EXISTS reservation_no_overlap;",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARDS:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in BACKWARDS:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
