"""The care app's fleet page (issue 14): the software version a kiosk reports
(``Machine.software_version``, from its X-Kiosk-Version header) and a partial index for the
day's dispense results per machine."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0008_doses_elsewhere"),
    ]

    operations = [
        migrations.AddField(
            model_name="machine",
            name="software_version",
            field=models.CharField(blank=True, default="", editable=False, max_length=32),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                condition=models.Q(("type", "dispense.result")),
                fields=["machine", "created_at"],
                name="event_dispense_result_at",
            ),
        ),
    ]
