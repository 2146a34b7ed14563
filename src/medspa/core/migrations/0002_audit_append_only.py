"""The audit log refuses changes at the database level, not only in the ORM."""

from django.db import migrations

SQLITE = [
    "CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS core_auditevent_no_update;"]

POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION core_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit events are append-only';
    END
    $$;
    """,
    "CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE OR DELETE ON core_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION core_audit_append_only();",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent;",
    "DROP FUNCTION IF EXISTS core_audit_append_only();",
]


def forwards(apps, schema_editor):
    statements = {"sqlite": SQLITE, "postgresql": POSTGRES}.get(schema_editor.connection.vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}.get(vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
