"""The push path's look-ups by index (issue 13, finding 5): ``Event.vend_id`` and
``Event.lane`` copied from the payload at insert, with partial indexes, and what ``LaneStock``
needs to be kept up to date from the new events only (fleet.lanes). Existing rows are filled
in here: the two columns from the payloads, every lane recomputed from its events."""

import itertools
from typing import Any

from django.db import migrations, models

from fleet import lanes

_CHUNK = 2000

# PostgreSQL: one UPDATE. A key that is not a JSON integer in range stays NULL, as at insert
# (fleet.lanes.vend_of / lane_of); nested CASEs keep the casts behind the pattern checks.
_FILL_POSTGRESQL = r"""
UPDATE fleet_event SET
  vend_id = CASE WHEN jsonb_typeof(payload->'vend_id') = 'number'
                  AND (payload->>'vend_id') ~ '^-?[0-9]{1,18}$'
                 THEN (payload->>'vend_id')::bigint END,
  lane = CASE WHEN jsonb_typeof(payload->'lane') = 'number'
               AND (payload->>'lane') ~ '^[0-9]{1,5}$'
              THEN CASE WHEN (payload->>'lane')::int BETWEEN 1 AND 32767
                        THEN (payload->>'lane')::int END END
WHERE payload ? 'vend_id' OR payload ? 'lane'
"""


def fill_event_keys(apps: Any, schema_editor: Any) -> None:
    Event = apps.get_model("fleet", "Event")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_FILL_POSTGRESQL)
        return
    pending = []
    for event in Event.objects.only("pk", "payload").iterator(chunk_size=_CHUNK):
        payload = event.payload if isinstance(event.payload, dict) else {}
        event.vend_id = lanes.vend_of(payload)
        event.lane = lanes.lane_of(payload)
        if event.vend_id is not None or event.lane is not None:
            pending.append(event)
        if len(pending) >= _CHUNK:
            Event.objects.bulk_update(pending, ["vend_id", "lane"])
            pending = []
    Event.objects.bulk_update(pending, ["vend_id", "lane"])


def rebuild_lane_stock(apps: Any, schema_editor: Any) -> None:
    """Every lane recomputed from its events, streamed in seq order (fleet.lanes.apply over
    chunks in order is the full rule)."""
    Event = apps.get_model("fleet", "Event")
    LaneStock = apps.get_model("fleet", "LaneStock")
    LaneStock.objects.all().delete()
    rows = []
    ordered = (
        Event.objects.filter(lane__isnull=False)
        .order_by("machine_id", "lane", "seq")
        .values_list("machine_id", "lane", "seq", "type", "payload")
        .iterator(chunk_size=_CHUNK)
    )
    for (machine_id, lane), group in itertools.groupby(ordered, key=lambda row: row[:2]):
        facts = lanes.LaneFacts()
        events = (row[2:] for row in group)
        while chunk := list(itertools.islice(events, _CHUNK)):
            facts = lanes.apply(facts, chunk, lambda seq: 0)
        fields = {name: getattr(facts, name) for name in lanes.FIELDS}
        rows.append(LaneStock(machine_id=machine_id, lane=lane, **fields))
        if len(rows) >= _CHUNK:
            LaneStock.objects.bulk_create(rows)
            rows = []
    LaneStock.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0004_security"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="lane",
            field=models.PositiveSmallIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="event",
            name="vend_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="lanestock",
            name="base_stock",
            field=models.IntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="lanestock",
            name="dropped",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="lanestock",
            name="state_seq",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="lanestock",
            name="stock_seq",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(fill_event_keys, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                condition=models.Q(("vend_id__isnull", False)),
                fields=["machine", "vend_id"],
                name="event_machine_vend",
            ),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                condition=models.Q(("lane__isnull", False)),
                fields=["machine", "lane", "seq"],
                name="event_machine_lane",
            ),
        ),
        migrations.RunPython(rebuild_lane_stock, migrations.RunPython.noop, elidable=True),
    ]
