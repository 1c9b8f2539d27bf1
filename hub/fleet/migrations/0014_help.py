"""Issue 17: a site may forbid staff-assisted identification (synced as the kiosk's
``assisted_id`` setting). The help alert itself needs no schema: ``help_requested`` is a
kind already."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("fleet", "0013_manual_doses")]

    operations = [
        migrations.AddField(
            model_name="site",
            name="assisted_id",
            field=models.BooleanField(
                db_default=True,
                default=True,
                help_text="staff may identify a participant whose finger will not read",
            ),
        ),
    ]
