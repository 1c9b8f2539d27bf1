"""Applying a pulled page of hub changes: one transaction with its cursor (docs/SYNC.md).

Records the hub owns (participants by code, prescriptions by hub id, staff accounts by hub id,
site settings by name) are upserted or tombstoned. A change that meets an unsent local edit of
the same record is not applied: it becomes a ``sync_conflicts`` row for staff (the service
raises an alert once the page is committed). Applied changes are audited with actor ``hub``
through ``sync_repo.audit_from_hub``, which writes no outbox event: a pulled change is never
pushed back (the echo is prevented at the source, not filtered at push time).

A change this kiosk cannot read (a missing field, a participant it does not know) raises
``ApplyError``: the whole page rolls back and the cursor stays where it was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from kiosk.domain import manual_doses as manual_rules
from kiosk.domain import notices as notice_rules
from kiosk.domain.manual_doses import DoseOrigin, ManualDose, StockSource
from kiosk.domain.model import PrescriptionStatus
from kiosk.domain.permissions import Role
from kiosk.domain.remote_approval import ApprovalAction
from kiosk.domain.told import NoticeError, parse_notice
from kiosk.domain.update_plan import safe_version_text
from kiosk.services.sync.client import Change, ChangesPage
from kiosk.store import approvals_repo, manual_doses_repo, notices_repo, outbox, updates_repo
from kiosk.store import sync_repo as repo
from kiosk.store.db import Connection, transaction

log = logging.getLogger("kiosk.sync")

KIND_ALIASES = {
    "participant": "participant",
    "prescription": "prescription",
    "staff": "staff",
    "staff_account": "staff",
    "setting": "setting",
    "site_setting": "setting",
    "dose_elsewhere": "dose_elsewhere",
    "guest_block": "guest_block",
    "alert_notice": "alert_notice",
    "approval_decision": "approval_decision",
    "approver_seed": "approver_seed",
    "update_offer": "update_offer",
    "notice": "notice",
    "manual_dose": "manual_dose",
}
PARTICIPANT_STATUSES = frozenset({"active", "inactive", "removed"})
STAFF_EDITS = frozenset({"staff.pin_changed", "staff.activated", "staff.deactivated"})


class ApplyError(Exception):
    """A pulled change cannot be applied (its text names ids only, no personal data)."""


@dataclass
class ApplyResult:
    applied: int = 0
    conflicts: list[int] = field(default_factory=list)
    skipped: int = 0
    tombstoned: int = 0


def apply_page(conn: Connection, page: ChangesPage, at: datetime) -> ApplyResult:
    """Apply ``page`` and store its cursor in one transaction (all or nothing)."""
    result = ApplyResult()
    with transaction(conn):
        state = repo.read_state(conn)
        if page.snapshot and not state.snapshot_open:
            repo.begin_snapshot(conn)
        elif not page.snapshot and state.snapshot_open:
            repo.end_snapshot(conn)  # the hub gave up on that snapshot: no tombstones from it
        for change in page.changes:
            kind = KIND_ALIASES.get(change.kind)
            if kind is None or change.op not in ("upsert", "delete"):
                log.warning("skipping a change of unknown kind/op %r/%r", change.kind, change.op)
                result.skipped += 1
                continue
            if page.snapshot and change.op == "upsert":
                repo.seen_in_snapshot(conn, kind, change.key)
            _HANDLERS[kind](conn, change, at, page.cursor, result)
        if page.snapshot and not page.more:
            _tombstone_unseen(conn, at, page.cursor, result)
            repo.end_snapshot(conn)
        repo.set_cursor(conn, page.cursor)
    return result


# ------------------------------------------------------------------ helpers


def _conflict(
    conn: Connection,
    change: Change,
    kind: str,
    edits: list[repo.LocalEdit],
    cursor: int,
    at: datetime,
    result: ApplyResult,
) -> None:
    seqs = [edit.seq for edit in edits]
    conflict_id = repo.add_conflict(
        conn, kind, change.key, change.op, change.as_dict(), seqs, cursor, at
    )
    repo.audit_from_hub(
        conn,
        at,
        "sync.conflict",
        f"{kind}:{change.key}",
        {"conflict_id": conflict_id, "op": change.op, "local_seqs": seqs},
    )
    result.conflicts.append(conflict_id)
    # The key of a participant is their code: the log names the conflict row, which has it.
    log.warning("sync conflict %d on a %s (not applied)", conflict_id, kind)


def _need(data: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in data and data[name] is not None:
            return data[name]
    raise ApplyError(f"a change lacks {names[0]}")


def _pick(data: dict[str, Any], default: Any, *names: str) -> Any:
    for name in names:
        if name in data:
            return data[name]
    return default


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _date_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return date.fromisoformat(str(value)[:10]).isoformat()


def _windows_text(value: Any) -> str:
    windows = json.loads(value) if isinstance(value, str) else value
    checked = []
    for pair in windows or []:
        start, end = (time.fromisoformat(str(part)) for part in pair)
        checked.append([start.strftime("%H:%M"), end.strftime("%H:%M")])
    return json.dumps(checked)


# ------------------------------------------------------------------ participants


def _participant_edits(
    conn: Connection, participant: repo.LocalParticipant
) -> list[repo.LocalEdit]:
    subjects = {participant.code, f"participant:{participant.id}"}
    return [e for e in repo.unsent_edits(conn, "participant.") if e.subject in subjects]


def _apply_participant(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    local = repo.participant_by_code(conn, change.key)
    if local is not None:
        edits = _participant_edits(conn, local)
        if edits:
            _conflict(conn, change, "participant", edits, cursor, at, result)
            return
    if change.op == "delete":
        if local is None or local.status == "removed":
            return
        repo.set_participant_status(conn, local.id, "removed")
        repo.audit_from_hub(conn, at, "sync.participant.removed", change.key, {"op": "delete"})
        result.applied += 1
        return
    data = change.data
    name = _pick(data, local.display_name if local else None, "display_name", "name")
    if not name:
        raise ApplyError(f"participant {change.key} has no name")
    language = _pick(data, local.language if local else None, "language")
    status = str(_pick(data, local.status if local else "active", "status"))
    if status not in PARTICIPANT_STATUSES:
        raise ApplyError(f"participant {change.key} has an unknown status {status!r}")
    repo.upsert_participant(conn, change.key, str(name), language or None, status, at)
    details = {"op": "upsert", "language": language or None, "status": status}
    repo.audit_from_hub(conn, at, "sync.participant.upsert", change.key, details)
    result.applied += 1


# ------------------------------------------------------------------ prescriptions


def _prescription_edits(conn: Connection, local: repo.LocalPrescription) -> list[repo.LocalEdit]:
    found = []
    for edit in repo.unsent_edits(conn, "prescription."):
        payload = edit.payload
        ids = payload.get("prescription_ids")
        if (
            edit.subject == f"prescription:{local.id}"
            or payload.get("prescription_id") == local.id
            or (isinstance(ids, list) and local.id in ids)
            # Store.hold_prescription_of holds every prescription of a participant at once.
            or (
                edit.type == "prescription.held"
                and edit.subject == f"participant:{local.participant_id}"
                and ids is None
                and payload.get("prescription_id") is None
            )
        ):
            found.append(edit)
    return found


def _prescription_fields(
    conn: Connection, change: Change
) -> tuple[repo.PrescriptionFields, dict[str, Any]]:
    data = change.data
    code = str(_need(data, "participant", "participant_code"))
    participant = repo.participant_by_code(conn, code)
    if participant is None:
        raise ApplyError(f"prescription {change.key} names participant {code}, unknown here")
    medication = data.get("medication")
    if isinstance(medication, dict):
        name, strength, form = (
            str(_need(medication, "name")),
            str(_need(medication, "strength")),
            str(_need(medication, "form")),
        )
    else:
        name = str(_need(data, "medication_name", "medication"))
        strength = str(_need(data, "medication_strength", "strength"))
        form = str(_need(data, "medication_form", "form"))
    status = str(_pick(data, "active", "status"))
    if status == "ended":
        status = "cancelled"  # the hub's "ended": no more doses, which the kiosk calls cancelled
    try:
        PrescriptionStatus(status)
    except ValueError as exc:
        raise ApplyError(f"prescription {change.key} has an unknown status {status!r}") from exc
    units = int(_need(data, "units_per_dose"))
    daily_max = int(_need(data, "daily_max_units"))
    if not 1 <= units <= 20 or daily_max < 1:
        raise ApplyError(f"prescription {change.key} has doses out of range")
    start = _date_text(_need(data, "start_date"))
    assert start is not None
    fields = repo.PrescriptionFields(
        participant_id=participant.id,
        medication_id=repo.medication_id(conn, name, strength, form),
        units_per_dose=units,
        windows=_windows_text(_pick(data, [], "windows")),
        daily_max_units=daily_max,
        start_date=start,
        end_date=_date_text(data.get("end_date")),
        status=status,
        hold_reason=str(_pick(data, "", "hold_reason") or ""),
        hold_kind=str(_pick(data, "", "hold_kind") or ""),
        interval_minutes=_optional_int(data.get("interval_minutes")),
        max_doses_per_day=_optional_int(data.get("max_doses_per_day")),
        accumulate=bool(data.get("accumulate", False)),
        witnessed=bool(data.get("witnessed", False)),
        missed_dose_limit=_optional_int(data.get("missed_dose_limit")),
        released_at=data.get("released_at") or None,
    )
    details = {
        "op": "upsert",
        "hub_id": change.key,
        "participant_id": participant.id,
        "units_per_dose": units,
        "daily_max_units": daily_max,
        "status": status,
        "start_date": fields.start_date,
        "end_date": fields.end_date,
    }
    return fields, details


def _apply_prescription(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    local = repo.prescription_by_hub_id(conn, change.key)
    if local is None and change.op == "upsert" and change.data.get("kiosk_id") is not None:
        # A prescription made on this kiosk, sent back with the hub's id: link, don't copy.
        local = repo.unlinked_prescription(conn, int(change.data["kiosk_id"]))
    if local is not None:
        edits = _prescription_edits(conn, local)
        if edits:
            _conflict(conn, change, "prescription", edits, cursor, at, result)
            return
    subject = f"prescription:{local.id}" if local else f"prescription:hub:{change.key}"
    if change.op == "delete":
        if local is None or local.status == "cancelled":
            return
        repo.cancel_prescription(conn, local.id)
        details = {"op": "delete", "hub_id": change.key}
        repo.audit_from_hub(conn, at, "sync.prescription.cancelled", subject, details)
        result.applied += 1
        return
    fields, details = _prescription_fields(conn, change)
    if local is None:
        local_id = repo.insert_prescription(conn, change.key, fields, at)
        subject = f"prescription:{local_id}"
    else:
        repo.update_prescription(conn, local.id, change.key, fields)
    repo.audit_from_hub(conn, at, "sync.prescription.upsert", subject, details)
    result.applied += 1


# ------------------------------------------------------------------ staff


def _staff_edits(conn: Connection, local: repo.LocalStaff) -> list[repo.LocalEdit]:
    subject = f"staff:{local.id}"
    return [
        e
        for e in repo.unsent_edits(conn, "staff.")
        if e.type in STAFF_EDITS and e.subject == subject
    ]


def _apply_staff(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    local = repo.staff_by_hub_id(conn, change.key)
    data = change.data
    if local is None and change.op == "upsert" and data.get("pin_hash"):
        local = repo.unlinked_staff_with_hash(conn, str(data["pin_hash"]))
    if local is not None:
        edits = _staff_edits(conn, local)
        if edits:
            _conflict(conn, change, "staff", edits, cursor, at, result)
            return
    if change.op == "delete":
        if local is None or not local.active:
            return
        repo.deactivate_staff(conn, local.id)
        gone = {"op": "delete", "hub_id": change.key}
        repo.audit_from_hub(conn, at, "sync.staff.deactivated", f"staff:{local.id}", gone)
        result.applied += 1
        return
    name = str(_need(data, "name"))
    role = str(_need(data, "role"))
    try:
        Role(role)
    except ValueError as exc:
        raise ApplyError(f"staff account {change.key} has an unknown role {role!r}") from exc
    pin_hash = str(_need(data, "pin_hash"))
    active = bool(data.get("active", True))
    if local is None:
        staff_id = repo.insert_staff(conn, change.key, name, role, pin_hash, active, at)
    else:
        staff_id = local.id
        repo.update_staff(conn, staff_id, change.key, name, role, pin_hash, active)
    details: dict[str, Any] = {"op": "upsert", "hub_id": change.key, "role": role}
    details["active"] = active
    repo.audit_from_hub(conn, at, "sync.staff.upsert", f"staff:{staff_id}", details)
    result.applied += 1


# ------------------------------------------------------------------ site settings


def _apply_setting(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    if change.op == "delete":
        if repo.delete_setting(conn, change.key):
            repo.audit_from_hub(conn, at, "sync.setting.deleted", change.key, {"op": "delete"})
            result.applied += 1
        return
    value = change.data.get("value", change.data)
    repo.set_setting(conn, change.key, value, at)
    repo.audit_from_hub(conn, at, "sync.setting.upsert", change.key, {"value": value})
    result.applied += 1


# ------------------------------------------------------------------ software updates


def _apply_update_offer(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    """The hub's offer of a release (docs/UPDATES.md); a tombstone withdraws it. Only the
    version text is checked here: whether it is newer and signed is the updater's question."""
    if change.op == "delete":
        if updates_repo.delete_offer(conn, change.key):
            repo.audit_from_hub(conn, at, "sync.update_offer.deleted", change.key, {})
            result.applied += 1
        return
    version = change.data.get("version")
    campaign = change.data.get("campaign_id")
    if not safe_version_text(version) or not (campaign is None or type(campaign) is int):
        # Skipped, not an ApplyError: a malformed offer must not hold back prescriptions.
        log.warning("skipping an update offer that is not a version and campaign id")
        result.skipped += 1
        return
    assert isinstance(version, str)
    updates_repo.set_offer(conn, change.key, version, campaign, at)
    repo.audit_from_hub(
        conn, at, "sync.update_offer", change.key, {"version": version, "campaign_id": campaign}
    )
    result.applied += 1


# ------------------------------------------------------------------ doses elsewhere, guest days


def _apply_dose_elsewhere(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    """A dose given at another machine: counted by the rules here from now on."""
    if change.op == "delete":
        if repo.drop_dose_elsewhere(conn, change.key):
            gone = {"op": "delete", "hub_key": change.key}
            repo.audit_from_hub(conn, at, "sync.dose_elsewhere.deleted", change.key, gone)
            result.applied += 1
        return
    data = change.data
    code = str(_need(data, "participant"))
    medication = _need(data, "medication")
    if not isinstance(medication, dict):
        raise ApplyError(f"dose elsewhere {change.key} has no medication")
    units = int(_need(data, "units"))
    if units < 1:
        raise ApplyError(f"dose elsewhere {change.key} has no units")
    try:
        taken_at = datetime.fromisoformat(str(_need(data, "taken_at")).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApplyError(f"dose elsewhere {change.key} has a bad time") from exc
    if taken_at.tzinfo is None:
        raise ApplyError(f"dose elsewhere {change.key} has a time without a zone")
    hub_id = data.get("prescription")
    manual = data.get("manual_dose")
    medication_id = repo.medication_id(
        conn,
        str(_need(medication, "name")),
        str(_need(medication, "strength")),
        str(_need(medication, "form")),
    )
    kept = repo.put_dose_elsewhere(
        conn,
        change.key,
        code,
        None if hub_id is None else str(hub_id),
        medication_id,
        units,
        taken_at,
        str(_need(data, "machine")),
        at,
        None if manual is None else str(manual),
    )
    if kept:
        details: dict[str, Any] = {
            "op": "upsert",
            "hub_key": change.key,
            "prescription_hub_id": hub_id,
            "units": units,
            "taken_at": data["taken_at"],
        }
        repo.audit_from_hub(conn, at, "sync.dose_elsewhere.upsert", code, details)
        result.applied += 1


def _apply_guest_block(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    """A guest day at another machine: refuse those doses here that day, and tell the hub
    (``guest.blocked``, queued in this page's transaction)."""
    if change.op == "delete":
        if repo.drop_guest_block(conn, change.key):
            lifted = {"op": "delete", "guest_pass": change.key}
            repo.audit_from_hub(conn, at, "guest.unblocked", change.key, lifted)
            result.applied += 1
        return
    data = change.data
    code = str(_need(data, "participant"))
    day = _date_text(_need(data, "day"))
    assert day is not None
    ids = data.get("prescriptions") or []
    if not isinstance(ids, list):
        raise ApplyError(f"guest block {change.key} has a bad prescription list")
    if repo.put_guest_block(conn, change.key, code, day, [str(i) for i in ids], at):
        details: dict[str, Any] = {"op": "upsert", "guest_pass": change.key, "day": day}
        details["prescriptions"] = ids
        repo.audit_from_hub(conn, at, "guest.blocked", code, details)
        result.applied += 1


# ------------------------------------------------------------------ who has been told


def _apply_alert_notice(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    """Who the hub told about an alert of this machine, and who acknowledged it. A notice
    that is not the agreed shape is one log line and skipped: it is no reason to hold back
    the prescriptions and holds of the same page (the log names fields, never values: the
    labels are staff names)."""
    if change.op == "delete":
        if repo.drop_alert_notice(conn, change.key):
            repo.audit_from_hub(
                conn, at, "sync.alert_notice.deleted", f"hub_alert:{change.key}", {"op": "delete"}
            )
            result.applied += 1
        return
    try:
        notice = parse_notice(change.key, change.data)
    except NoticeError as exc:
        log.warning("skipping an alert notice that is not the agreed shape: %s", exc)
        result.skipped += 1
        return
    if repo.put_alert_notice(conn, notice, at):
        details: dict[str, Any] = {
            "op": "upsert",
            "kiosk_alert_id": notice.kiosk_alert_id,
            "kind": notice.kind,
            # Roles and channels only: the labels (staff names) stay out of the audit chain.
            "told": [f"{p.role.value}/{p.channel.value}" for p in notice.told],
            "acknowledged": None if notice.acknowledged is None else notice.acknowledged.role.value,
        }
        repo.audit_from_hub(
            conn, at, "sync.alert_notice.upsert", f"hub_alert:{change.key}", details
        )
        result.applied += 1


# ------------------------------------------------------------------ remote approvals


def _instant(value: Any, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApplyError(f"{what} has a bad time") from exc
    if moment.tzinfo is None:
        raise ApplyError(f"{what} has a time without a zone")
    return moment


def _apply_approval_decision(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    """The hub's decision on a request made here; the service acts on it (once, in time).
    A decision about a request this kiosk never made is ignored."""
    if change.op == "delete":
        return
    data = change.data
    decision = str(_need(data, "decision"))
    if decision not in ("approved", "refused"):
        raise ApplyError(f"approval {change.key} has an unknown decision")
    approver = _need(data, "approver")
    if not isinstance(approver, dict):
        raise ApplyError(f"approval {change.key} has no approver")
    who = (int(_need(approver, "id")), str(_need(approver, "role")), str(_need(approver, "label")))
    decided = _instant(_need(data, "at"), f"approval {change.key}")
    expires = _instant(_need(data, "expires_at"), f"approval {change.key}")
    reason = str(data.get("reason") or "")
    if approvals_repo.set_decision(conn, change.key, decision, who, reason, decided, expires):
        details = {"request_id": change.key, "decision": decision, "approver": f"hub_user:{who[0]}"}
        details["approver_role"] = who[1]
        repo.audit_from_hub(conn, at, "approval.decided", f"approval:{change.key}", details)
        result.applied += 1


def _apply_approver_seed(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    """A clinician's key for offline approvals (stored encrypted; never logged or audited)."""
    try:
        user_id = int(change.key)
    except ValueError as exc:
        raise ApplyError("an approver seed has a bad key") from exc
    subject = f"hub_user:{user_id}"
    if change.op == "delete":
        if approvals_repo.drop_seed(conn, user_id):
            repo.audit_from_hub(conn, at, "sync.approver_seed.deleted", subject, {"op": "delete"})
            result.applied += 1
        return
    data = change.data
    actions = _need(data, "actions")
    if not isinstance(actions, list):
        raise ApplyError(f"approver seed {user_id} has a bad action list")
    known = {a.value for a in ApprovalAction}
    listed = [str(a) for a in actions if str(a) in known]
    role = str(_need(data, "role"))
    # Their authenticator app's seed, once confirmed on the hub (absent or null: none).
    totp = data.get("totp")
    if totp is not None and not isinstance(totp, str):
        raise ApplyError(f"approver seed {user_id} has a bad app seed")
    label, seed = str(_need(data, "label")), str(_need(data, "seed"))
    approvals_repo.put_seed(conn, user_id, role, label, seed, listed, at, totp or None)
    # The audit says whether an app can approve, never the seed.
    details = {"op": "upsert", "role": role, "actions": listed, "app": bool(totp)}
    repo.audit_from_hub(conn, at, "sync.approver_seed.upsert", subject, details)
    result.applied += 1


# ------------------------------------------------------------------ notices, manual doses


def _apply_notice(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    """A notice the hub holds (docs/SYNC.md, "Notices"): one row per uuid, whichever side
    wrote it. A notice that is not the agreed shape is one log line (fields, never the text)
    and skipped: it must not hold back the page's prescriptions."""
    if change.op == "delete":
        if notices_repo.withdraw(conn, change.key, at):
            repo.audit_from_hub(conn, at, "sync.notice.withdrawn", "site", {"notice": change.key})
            result.applied += 1
        return
    try:
        origin = notice_rules.NoticeOrigin(str(change.data.get("origin") or "hub"))
        notice = notice_rules.from_data(change.key, change.data, origin)
    except (notice_rules.NoticeDataError, ValueError) as exc:
        log.warning("skipping a notice that is not the agreed shape: %s", exc)
        result.skipped += 1
        return
    if any(
        e.type == "notice.withdrawn" and e.payload.get("notice") == notice.uuid
        for e in repo.unsent_edits(conn, "notice.")
    ):
        return  # withdrawn here, not yet told: the hub's next change will say so too
    changed = notices_repo.put(conn, notice, repo.HUB_ACTOR, at)
    if change.data.get("acknowledged_at") and notices_repo.acknowledge(conn, notice.uuid, at):
        changed = True
    if changed:
        details = {
            "notice": notice.uuid,
            "scope": notice.scope.value,
            "starts_on": notice.starts_on.isoformat(),
            "ends_on": notice.ends_on.isoformat(),
        }
        subject = notice.participant_code or "site"
        repo.audit_from_hub(conn, at, "sync.notice.upsert", subject, details)
        result.applied += 1


def _apply_manual_dose(
    conn: Connection, change: Change, at: datetime, cursor: int, result: ApplyResult
) -> None:
    """A dose given by hand (docs/SYNC.md, "Manual doses"), kept once per uuid: one made here
    and sent back, a re-sent page or a snapshot changes nothing. A dose is a fact: the hub
    never withdraws one (a delete is ignored)."""
    if change.op == "delete":
        return
    data = change.data
    medication = _need(data, "medication")
    if not isinstance(medication, dict):
        raise ApplyError(f"manual dose {change.key} has no medication")
    units = int(_need(data, "units"))
    if units < 1:
        raise ApplyError(f"manual dose {change.key} has no units")
    try:
        given_at = manual_rules.parse_instant(_need(data, "given_at"))
        source = StockSource(str(_need(data, "source")))
        origin = DoseOrigin(str(data.get("origin") or "hub"))
    except ValueError as exc:
        raise ApplyError(f"manual dose {change.key} has a bad time, source or origin") from exc
    code = str(_need(data, "participant"))
    medication_id = repo.medication_id(
        conn,
        str(_need(medication, "name")),
        str(_need(medication, "strength")),
        str(_need(medication, "form")),
    )
    hub_id = data.get("prescription")
    hub_text = None if hub_id is None else str(hub_id)
    lane = _optional_int(data.get("lane")) if source is StockSource.MACHINE_LANE else None
    if source is StockSource.MACHINE_LANE and lane is None:
        raise ApplyError(f"manual dose {change.key} from a lane names no lane")
    dose = ManualDose(
        uuid=change.key,
        prescription_id=manual_doses_repo.prescription_for(conn, hub_text, code, medication_id),
        prescription_hub_id=hub_text,
        participant_code=code,
        medication_id=medication_id,
        units=units,
        given_at=given_at,
        source=source,
        lane=lane,
        recorded_by=str(_need(data, "recorded_by")),
        witness=None if data.get("witness") is None else str(data["witness"]),
        origin=origin,
    )
    if not manual_doses_repo.put(conn, dose, at):
        return
    if lane is not None:
        manual_doses_repo.take_from_lane(conn, lane, units)
        # The hub's figure of the lane follows the machine's events: tell it, once, in this
        # transaction, where in the lane's story the units left (docs/SYNC.md).
        outbox.add(
            conn, at, manual_rules.APPLIED, {"uuid": dose.uuid, "lane": lane, "units": units}
        )
    details: dict[str, Any] = {
        "uuid": dose.uuid,
        "prescription_hub_id": hub_text,
        "units": units,
        "given_at": data["given_at"],
        "source": source.value,
        "lane": lane,
        "recorded_by": dose.recorded_by,
        "witness": dose.witness,
    }
    repo.audit_from_hub(conn, at, "sync.manual_dose.upsert", code, details)
    result.applied += 1


_HANDLERS: dict[str, Callable[[Connection, Change, datetime, int, ApplyResult], None]] = {
    "participant": _apply_participant,
    "prescription": _apply_prescription,
    "staff": _apply_staff,
    "setting": _apply_setting,
    "dose_elsewhere": _apply_dose_elsewhere,
    "guest_block": _apply_guest_block,
    "alert_notice": _apply_alert_notice,
    "approval_decision": _apply_approval_decision,
    "approver_seed": _apply_approver_seed,
    "update_offer": _apply_update_offer,
    "notice": _apply_notice,
    "manual_dose": _apply_manual_dose,
}


# ------------------------------------------------------------------ snapshots


def _tombstone_unseen(conn: Connection, at: datetime, cursor: int, result: ApplyResult) -> None:
    """The last page of a snapshot: what the hub no longer lists is deleted. A record with
    an unsent local edit is left alone (the hub has not heard of it yet)."""
    unseen: list[tuple[str, str]] = []
    seen = repo.snapshot_keys(conn, "participant")
    unseen += [("participant", c) for c in repo.active_hub_participants(conn) if c not in seen]
    seen = repo.snapshot_keys(conn, "prescription")
    unseen += [("prescription", h) for h in repo.open_hub_prescriptions(conn) if h not in seen]
    seen = repo.snapshot_keys(conn, "staff")
    unseen += [("staff", h) for h in repo.active_hub_staff(conn) if h not in seen]
    seen = repo.snapshot_keys(conn, "setting")
    unseen += [("setting", k) for k in repo.settings(conn) if k not in seen]
    # A guest day the hub no longer lists (cancelled, over) is lifted; doses elsewhere are
    # facts and stay (the hub lists only recent ones).
    seen = repo.snapshot_keys(conn, "guest_block")
    unseen += [("guest_block", k) for k in repo.guest_block_keys(conn) if k not in seen]
    # A notice the hub no longer lists (its alert closed long ago, the log trimmed) goes.
    seen = repo.snapshot_keys(conn, "alert_notice")
    unseen += [("alert_notice", k) for k in repo.alert_notice_keys(conn) if k not in seen]
    # A notice the hub no longer lists (ended, withdrawn) goes; a manual dose is a fact and
    # stays. A notice made here and not pushed yet is not on the hub yet: kept.
    seen = repo.snapshot_keys(conn, "notice")
    unsent = _unsent_notices(conn)
    unseen += [
        ("notice", k) for k in notices_repo.hub_keys(conn) if k not in seen and k not in unsent
    ]
    seen = repo.snapshot_keys(conn, "approver_seed")
    unseen += [("approver_seed", k) for k in approvals_repo.seed_keys(conn) if k not in seen]
    seen = repo.snapshot_keys(conn, "update_offer")
    unseen += [("update_offer", k) for k in updates_repo.offer_keys(conn) if k not in seen]
    for kind, key in unseen:
        if _has_unsent_edits(conn, kind, key):
            continue
        before = result.applied
        _HANDLERS[kind](conn, Change(kind, "delete", key, {}), at, cursor, result)
        result.tombstoned += result.applied - before


def _unsent_notices(conn: Connection) -> set[str]:
    return {
        str(edit.payload.get("uuid"))
        for edit in repo.unsent_edits(conn, "notice.")
        if edit.type == "notice.created"
    }


def _has_unsent_edits(conn: Connection, kind: str, key: str) -> bool:
    if kind == "participant":
        participant = repo.participant_by_code(conn, key)
        return participant is not None and bool(_participant_edits(conn, participant))
    if kind == "prescription":
        prescription = repo.prescription_by_hub_id(conn, key)
        return prescription is not None and bool(_prescription_edits(conn, prescription))
    if kind == "staff":
        staff = repo.staff_by_hub_id(conn, key)
        return staff is not None and bool(_staff_edits(conn, staff))
    return False
