"""Are the books complete? The database against its anchors (DESIGN invariant 7).

Two witnesses outside the database: the anchor file (the audit chain's head after the last
recorded dispense) and the controller's own log of its recent vends (VEND_LOG, protocol
1.1). A chain behind its anchor, or a vend the controller executed that the store does not
know, means records are missing: the kiosk stops dispensing until staff acknowledge it.
Threat model: docs/ANCHORS.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from hardware.ports import ControllerError, ControllerUnsupported, DispenserController, VendRecord
from kiosk.domain.text import clean_text
from kiosk.store.anchor import AnchorError, compare, read_anchor
from kiosk.store.repository import Store
from kiosk.store.timefmt import to_text

log = logging.getLogger("kiosk.books")

RECORDS_MISSING_FLAG = "records_missing"


@dataclass(frozen=True)
class BooksReport:
    problems: tuple[str, ...] = ()
    controller_checked: bool = False
    unknown_vends: tuple[VendRecord, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def check_anchor(store: Store) -> list[str]:
    if store.anchor is None:
        return []
    try:
        problem = compare(store.conn, read_anchor(store.anchor))
    except AnchorError as exc:
        return [str(exc)]
    return [problem] if problem else []


def unknown_controller_vends(
    store: Store, controller: DispenserController
) -> list[VendRecord] | None:
    """Vends in the controller's log that the store has no intent for and staff have not
    acknowledged yet; None when the controller keeps no log (firmware 1.0)."""
    try:
        records = controller.vend_log_all()
    except ControllerUnsupported:
        return None  # firmware 1.0 keeps no log we can read; the anchor file still counts
    unknown: list[VendRecord] = []
    for record in records:
        known = store.conn.execute(
            "SELECT 1 FROM dispense_intents WHERE vend_id = ?"
            " UNION ALL SELECT 1 FROM controller_vends"
            " WHERE vend_id = ? AND acknowledged_at IS NOT NULL",
            (record.vend_id, record.vend_id),
        ).fetchone()
        if known is None:
            unknown.append(record)
    return unknown


def keep_evidence(store: Store, records: list[VendRecord], at: datetime) -> None:
    """Write down what the controller says it did (audited), once per vend."""
    for record in records:
        seen = store.conn.execute(
            "SELECT 1 FROM controller_vends WHERE vend_id = ?", (record.vend_id,)
        ).fetchone()
        if seen:
            continue
        details = {
            "vend_id": record.vend_id,
            "lane": record.lane,
            "units": record.units,
            "dropped": record.dropped,
        }
        subject = f"vend:{record.vend_id}"
        with store.change(at, "controller", "books.unrecorded_vend", subject, details) as conn:
            conn.execute(
                "INSERT INTO controller_vends (vend_id, lane, units, dropped, outcome, found_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.vend_id,
                    record.lane,
                    record.units,
                    record.dropped,
                    int(record.outcome),
                    to_text(at),
                ),
            )


def describe(record: VendRecord) -> str:
    asked = "?" if record.units is None else str(record.units)
    return (
        f"records missing: the controller ran vend {record.vend_id} "
        f"(lane {record.lane or '?'}, {asked} asked, {record.dropped} dropped) "
        "and this database has no record of it"
    )


def check_books(store: Store, controller: DispenserController | None) -> BooksReport:
    problems = check_anchor(store)
    checked = False
    unknown_vends: tuple[VendRecord, ...] = ()
    if controller is not None:
        try:
            unknown = unknown_controller_vends(store, controller)
        except ControllerError as exc:
            log.warning("the controller's vend log could not be read: %s", exc.message)
        else:
            checked = unknown is not None
            unknown_vends = tuple(unknown or ())
            problems += [describe(record) for record in unknown_vends]
    return BooksReport(tuple(problems), checked, unknown_vends)


def acknowledge_loss(store: Store, at: datetime, reason: str) -> str:
    """Accept the books as they are (audited with the anchor that was lost and the
    controller vends left unrecorded), clear the latch, anchor the current head."""
    before = None
    if store.anchor is not None:
        try:
            before = read_anchor(store.anchor)
        except AnchorError:
            before = None
    pending = store.conn.execute(
        "SELECT vend_id FROM controller_vends WHERE acknowledged_at IS NULL ORDER BY vend_id"
    ).fetchall()
    vends = [int(row[0]) for row in pending]
    details = {
        "reason": clean_text(reason),
        "anchor_before": before.as_json() if before else None,
        "controller_vends": vends,
    }
    actor = "technician:cli"
    with store.change(at, actor, "books.loss_acknowledged", "machine", details) as conn:
        conn.execute(
            "UPDATE controller_vends SET acknowledged_at = ?, acknowledged_by = ?"
            " WHERE acknowledged_at IS NULL",
            (to_text(at), actor),
        )
        conn.execute("DELETE FROM machine_flags WHERE name = ?", (RECORDS_MISSING_FLAG,))
    store.write_anchor()
    log.warning("missing records acknowledged (%d controller vends)", len(vends))
    return (
        f"loss acknowledged: {len(vends)} controller vend(s) kept as unrecorded, "
        "anchor moved to the current audit head"
    )
