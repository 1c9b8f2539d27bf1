"""Plain words for what the fleet pages show: alert kinds (and which is worst), lane states,
kiosk event types and the few payload fields safe to show. Whitelists on purpose: a payload
field not listed here is never shown, so no name or free text reaches the page."""

from __future__ import annotations

import re
from typing import Any

# Alert.kind -> (rank, words). Rank 3: the machine stopped dispensing or may be tampered
# with; 2: a lane or a dispense needs a person; 1: the rest. Kiosk alerts arrive as
# "kiosk:<AlertKind>" (fleet.ingest), the hub's own without a prefix.
ALERT_KINDS: dict[str, tuple[int, str]] = {
    "kiosk:tamper": (3, "Tamper switch tripped"),
    "kiosk:door": (3, "Service door opened"),
    "kiosk:cannot_record": (3, "Cannot record: dispensing stopped"),
    "kiosk:clock": (3, "Clock wrong: dispensing stopped"),
    "kiosk:records_missing": (3, "Records missing on the kiosk"),
    "records_missing": (3, "Records missing (audit anchor)"),
    "records_changed": (3, "Records changed (audit anchor)"),
    "kiosk:controller": (3, "Dispenser controller not answering"),
    "kiosk:lane_jammed": (2, "Lane jammed"),
    "kiosk:lane_empty": (2, "Lane empty"),
    "kiosk:lane_fault": (2, "Lane fault"),
    "kiosk:partial_dispense": (2, "Partial dispense"),
    "kiosk:no_lane": (2, "No lane for a medication"),
    "kiosk:discrepancy": (2, "Stock count differs"),
    "kiosk:sensor": (2, "Fingerprint sensor not answering"),
    "event_gap": (2, "Events missing from the kiosk"),
    "event_conflict": (2, "Event sent twice differently"),
    "event_quarantined": (1, "Events set aside"),
    "kiosk:missed_doses": (1, "Missed doses"),
    "kiosk:dose_not_given": (1, "Dose not given"),
    "kiosk:pin_lockout": (1, "Staff PIN locked"),
    "kiosk:sync_clock_skew": (1, "Kiosk clock differs from the hub"),
    "kiosk:sync_conflict": (1, "Kiosk edit not applied"),
    "kiosk:sync_event_quarantined": (1, "Events set aside"),
    "machine_reprovisioned": (1, "Machine provisioned again"),
    "update_rollout_paused": (1, "Software rollout paused"),
}


def alert_rank(kind: str) -> int:
    return ALERT_KINDS.get(kind, (1, ""))[0]


def alert_words(kind: str) -> str:
    known = ALERT_KINDS.get(kind)
    if known:
        return known[1]
    return kind.removeprefix("kiosk:").replace("_", " ").capitalize()


# LaneStock.state (the kiosk's LaneStatus) -> words; "" when no state was reported.
LANE_STATES = {
    "ready": "Ready",
    "jammed": "Jammed",
    "empty": "Empty",
    "fault": "Fault",
    "discrepancy": "Count differs",
    "": "Not reported",
}

EVENT_TYPES = {
    "alert.raised": "Alert raised",
    "alert.acknowledged": "Alert acknowledged",
    "alert.resolved": "Alert resolved",
    "dispense.intent": "Dispense started",
    "dispense.result": "Dispense finished",
    "jam.begun": "Jam recovery started",
    "jam.finished": "Jam recovery finished",
    "jam.lane_cleared": "Lane cleared by hand",
    "jam.lane_reset": "Lane reset",
    "lane.assigned": "Lane assigned",
    "lane.configured": "Lane set up",
    "lane.state": "Lane state changed",
    "machine.flag_raised": "Lockout raised",
    "machine.flags_cleared": "Lockout cleared",
    "machine.selftest": "Self-test run",
    "participant.enrolled": "Participant added",
    "participant.removed": "Participant removed",
    "prescription.held": "Prescription put on hold",
    "prescription.released": "Prescription released",
    "staff.login": "Staff signed in",
    "staff.logout": "Staff signed out",
    "stock.counted": "Lane counted",
    "stock.restocked": "Lane restocked",
    "stock.adjusted": "Stock adjusted",
    "audit.note": "Note",
    "update.state": "Software update",
}


def event_words(type_: str) -> str:
    return EVENT_TYPES.get(type_) or type_.replace(".", ": ").replace("_", " ").capitalize()


# (payload key, how to say it): numbers and set words only.
_DETAILS: tuple[tuple[str, str], ...] = (
    ("lane", "lane {}"),
    ("units", "{} units"),
    ("dropped", "{} dropped"),
    ("outcome", "{}"),
    ("stock", "stock {}"),
    ("counted", "counted {}"),
    ("added", "added {}"),
    ("from", "from {}"),
    ("to", "to {}"),
)
# A word the kiosk sets (an outcome such as "complete" or "refused_lane_not_ready", a lane
# state): shown with spaces; any other text is not shown.
_SET_WORD = re.compile(r"[a-z][a-z_]{0,39}")


def event_details(type_: str, payload: Any, participant_code: str | None) -> str:
    """A short line of the event's safe fields; the participant by code, never by name."""
    if not isinstance(payload, dict):
        return ""
    parts = []
    if participant_code:
        parts.append(participant_code)
    if type_ == "alert.raised" and isinstance(payload.get("kind"), str):
        parts.append(alert_words(f"kiosk:{payload['kind']}"))
    if type_ == "update.state":  # versions and the state: fleet.schema.UPDATE_STATE checked them
        return _update_details(payload)
    for key, form in _DETAILS:
        value = payload.get(key)
        if type(value) is int:
            parts.append(form.format(value))
        elif isinstance(value, str) and _SET_WORD.fullmatch(value):
            said = LANE_STATES.get(value) or value.replace("_", " ")
            parts.append(form.format(said.lower() if key in ("from", "to") else said))
    return ", ".join(parts)


def _update_details(payload: dict[str, Any]) -> str:
    parts = [str(payload.get("state", "")).replace("_", " ")]
    parts.append(f"running {payload.get('running')}")
    if payload.get("target"):
        parts.append(f"target {payload['target']}")
    return ", ".join(parts)
