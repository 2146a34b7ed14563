from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_organization_security"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="legal_name",
            field=models.CharField(
                blank=True, help_text="As registered, if not the trading name.", max_length=200
            ),
        ),
        migrations.AddField(
            model_name="organization",
            name="tax_number_label",
            field=models.CharField(
                blank=True,
                default="Tax ID",
                help_text="e.g. EIN, VAT no., GST/HST no.",
                max_length=40,
            ),
        ),
        migrations.AddField(
            model_name="organization",
            name="tax_number",
            field=models.CharField(blank=True, max_length=60),
        ),
        migrations.AddField(
            model_name="location",
            name="tax_number_label",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="location",
            name="tax_number",
            field=models.CharField(blank=True, max_length=60),
        ),
    ]
