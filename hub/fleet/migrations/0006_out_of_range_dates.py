"""Move rows with dates no Python datetime can hold out of the admin's way (fleet.repair)."""

from django.db import migrations


def repair(apps, schema_editor):
    from fleet.repair import move_out_of_range_dates

    move_out_of_range_dates(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0005_ingest_indexes"),
    ]

    operations = [migrations.RunPython(repair, migrations.RunPython.noop)]
