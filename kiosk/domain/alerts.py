"""What staff are alerted about. The value is what the store keeps and the hub receives;
the staff panel words each kind (and its subject) in the reader's language."""

from __future__ import annotations

import enum


class AlertKind(enum.StrEnum):
    # The machine
    DOOR = "door"  # the service door opened outside a staff session (latched)
    TAMPER = "tamper"  # the tamper switch tripped (latched)
    CLOCK = "clock"  # the clock is behind the last record: dispensing stopped
    CANNOT_RECORD = "cannot_record"  # writes failed; dispensing stopped until they work
    RECORDS_MISSING = "records_missing"  # the books are behind their anchors (latched)
    SENSOR = "sensor"  # the fingerprint sensor does not answer (resolved when it does)
    CONTROLLER = "controller"  # the dispenser controller does not answer (likewise)
    # Lanes and dispensing (subject lane:<n>, vend:<id>, medication:<id>)
    LANE_JAMMED = "lane_jammed"
    LANE_EMPTY = "lane_empty"
    LANE_FAULT = "lane_fault"
    PARTIAL_DISPENSE = "partial_dispense"
    NO_LANE = "no_lane"
    DISCREPANCY = "discrepancy"  # a count differs from the record (subject lane:<n>)
    # Participants (subject prescription:<id>)
    MISSED_DOSES = "missed_doses"
    DOSE_NOT_GIVEN = "dose_not_given"  # shown to the participant, then refused at vend time
    # Staff identified them more than the site's limit in 7 days: time to re-enrol a finger
    # (subject participant:<id>)
    REENROL = "reenrol"
    # A participant pressed "I need help" (subject participant:<id>, or machine when the
    # kiosk does not know who): one open at a time per machine
    HELP = "help"
    # Staff PINs (subject: the PIN entry point, or "all")
    PIN_LOCKOUT = "pin_lockout"
    # Sync with the hub
    SYNC_CLOCK_SKEW = "sync_clock_skew"
    SYNC_CONFLICT = "sync_conflict"  # subject <record kind>:<key>
    SYNC_EVENT_QUARANTINED = "sync_event_quarantined"  # the hub set an event aside: event:<seq>


def parse_alert_kind(text: str) -> AlertKind | None:
    """The kind of a stored alert; None for one this version does not know."""
    try:
        return AlertKind(text)
    except ValueError:
        return None


def subject_number(subject: str, prefix: str) -> int | None:
    """The id in a subject such as ``lane:2`` (prefix ``lane``); None when it is not one."""
    head, _, tail = subject.partition(":")
    return int(tail) if head == prefix and tail.isdigit() else None
