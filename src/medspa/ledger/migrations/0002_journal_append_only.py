"""Journal rows refuse changes at the database level; PostgreSQL gets a covering index."""

from django.db import migrations

SQLITE = [
    f"CREATE TRIGGER ledger_{t}_no_update BEFORE UPDATE ON ledger_{t} "
    "BEGIN SELECT RAISE(ABORT, 'journal rows are append-only'); END;"
    for t in ("journalentry", "journalline")
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS ledger_{t}_no_update;" for t in ("journalentry", "journalline")
]

POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'journal rows are append-only';
    END
    $$;
    """,
    *(
        f"CREATE TRIGGER ledger_{t}_append_only BEFORE UPDATE OR DELETE ON ledger_{t} "
        "FOR EACH ROW EXECUTE FUNCTION ledger_append_only();"
        for t in ("journalentry", "journalline")
    ),
    # The trial balance reads only these columns: an index-only scan, no heap visits.
    "CREATE INDEX ledger_line_org_when_cover ON ledger_journalline "
    "(organization_id, occurred_at) INCLUDE (account_id, debit_cents, credit_cents);",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS ledger_line_org_when_cover;",
    *(
        f"DROP TRIGGER IF EXISTS ledger_{t}_append_only ON ledger_{t};"
        for t in ("journalentry", "journalline")
    ),
    "DROP FUNCTION IF EXISTS ledger_append_only();",
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
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
