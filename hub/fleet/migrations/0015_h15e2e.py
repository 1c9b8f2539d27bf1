# Issue 15 loose ends: delivery leases (claim, send outside the transaction, record); https webhooks.

from django.db import migrations, models

import fleet.models


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0014_help"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "to send"),
                    ("sending", "being sent"),
                    ("sent", "sent"),
                    ("failed", "failed"),
                    ("gave_up", "failed, no more tries"),
                    ("cancelled", "not sent: the alert was acknowledged or resolved"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="site",
            name="webhook_url",
            field=models.URLField(
                blank=True,
                db_default="",
                default="",
                help_text="alerts are POSTed here as signed JSON (an SMS gateway)",
                validators=[fleet.models.validate_webhook_url],
            ),
        ),
    ]
