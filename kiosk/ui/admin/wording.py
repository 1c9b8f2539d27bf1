"""Staff-facing words (translated): service errors, and every value a service hands the
panel (roles, lane states, alert kinds, audit actions, actors, self-test results)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from hardware.ports import DeviceError
from kiosk.domain.alerts import AlertKind
from kiosk.domain.assisted_id import Picture
from kiosk.domain.model import LaneStatus
from kiosk.domain.permissions import Permission, Role
from kiosk.domain.told import AlertNotice, Channel, HubLink, NoticeRole, StaffMessage, staff_message
from kiosk.domain.update_plan import UpdateState
from kiosk.i18n import N_, _, format_local_day, format_local_time
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.services.health import SelfTestPart, SelfTestRow
from kiosk.services.logs import Alert, AuditRow, ChainStatus
from kiosk.services.pin_gate import PinLocked
from kiosk.services.updates.facade import SoftwareStatus, UsbOutcome, UsbResult
from kiosk.ui.staff_words import role_name
from kiosk.ui.texts import pin_locked_text

INPUT_CODES = {
    "pin_short": N_("A PIN has at least 6 digits."),
    "pin_trivial": N_("That PIN is too easy to guess."),
    "pin_taken": N_("That PIN cannot be used. Choose another."),
    "second_signature": N_("A second, different staff member must sign with their PIN."),
    "reason": N_("Please give a reason."),
    "name": N_("Please enter a name."),
    "role": N_("Choose a role."),
    "self": N_("You cannot do that to your own account."),
    "units_per_dose": N_("Units per dose must be between 1 and 20."),
    "daily_max_units": N_("The daily maximum must be at least one dose."),
    "end_date": N_("The end date is before the start date."),
    "windows": N_("Add at least one dose window (or choose an interval)."),
    "interval_minutes": N_("Choose either windows or an interval."),
    "max_doses_per_day": N_("Doses per day must be at least 1."),
    "missed_dose_limit": N_("Missed-dose days must be between 1 and 60."),
    "folder": N_("That folder cannot be written. Check the USB stick."),
    "step": N_("Finish the steps in order."),
    "code_taken": N_("That participant code is already used."),
    "code": N_("Enter a participant code like P-0001."),
    "language": N_("That language is not offered."),
    "finger": N_("Choose a finger."),
    "participant": N_("That participant is not active."),
    "not_on_hold": N_("That prescription is not on hold."),
    "sensor_full": N_("The fingerprint sensor is full."),
    "lane": N_("Choose a lane that exists."),
    "lane_not_empty": N_("Empty the lane before it holds another medication."),
    "counted": N_("Enter the count you found."),
    "added": N_("Enter how many units you add."),
    "units": N_("Enter a number of units."),
    "discrepancy": N_("That discrepancy does not exist."),
    "resolved": N_("That discrepancy is already resolved."),
    "seconds": N_("Choose between 1 and 60 seconds."),
    "medication": N_("Enter the medication name, strength and form."),
    # Notices (kiosk.domain.notices.NoticeProblem)
    "no_text": N_("Write the notice in one language at least."),
    "too_long": N_("A notice has 500 characters at most."),
    "ends_before_start": N_("The last day is before the first day, or over already."),
    "too_long_a_period": N_("A notice lasts a year at most."),
    "no_participant": N_("Choose an active participant."),
    "one_language_without_text": N_("Write the text in the language chosen."),
    "notice": N_("That notice is gone."),
    # Doses by hand (kiosk.domain.manual_doses.ManualDoseProblem)
    "in_the_future": N_("That time is still to come."),
    "too_old": N_("More than 24 hours ago: report it to the pharmacy instead."),
    "no_lane": N_("Choose the lane the stock came from."),
    "not_enough_in_lane": N_("That lane does not hold that many units."),
    "witness_needed": N_(
        "This prescription is witnessed: a second nurse or pharmacist enters their PIN."
    ),
    "witness_is_recorder": N_("The witness is someone other than you."),
    "witness_pin": N_("That witness PIN was not accepted."),
    "hub_notice": N_("A notice from the hub is withdrawn on the hub."),
}


def error_text(exc: BaseException) -> str:
    if isinstance(exc, PinLocked):
        return pin_locked_text(exc.seconds_left)
    if isinstance(exc, NotPermitted):
        return _("Your role may not do that.")
    if isinstance(exc, InvalidInput):
        return _(INPUT_CODES.get(exc.code, N_("That entry cannot be accepted.")))
    if isinstance(exc, DeviceError):
        return _("The device did not answer: {device}.").format(device=exc.device)
    return _("Something went wrong. It was logged; please try again.")


# ---------------------------------------------------------------- values staff read
# Every enum value and id the services hand over is worded here, in the reader's language:
# no screen shows "on_hold", "no_lane", "right-index" or "staff:1".


def humanize(raw: str) -> str:
    """Last resort for a value this version has no words for: no underscores, no ids."""
    return raw.replace("_", " ").replace(".", " ").replace(":", " ").strip()


def worded(table: Mapping[str, str], raw: str) -> str:
    """The translation of ``raw`` from a table of N_() words, else ``raw`` made readable."""
    known = table.get(raw)
    return _(known) if known else humanize(raw)


def role_text(role: str) -> str:
    """A role as a label ("Administrator"): the staff screens' role name, capitalised."""
    try:
        name = role_name(Role(role))
    except ValueError:
        return humanize(role)
    return name[:1].upper() + name[1:]


def staff_text(name: str, role: str) -> str:
    return _("{name} ({role})").format(name=name, role=role_text(role))


LANE_STATES = {
    LaneStatus.READY: N_("Ready"),
    LaneStatus.JAMMED: N_("Jammed"),
    LaneStatus.EMPTY: N_("Empty"),
    LaneStatus.FAULT: N_("Motor fault"),
    LaneStatus.DISCREPANCY: N_("Blocked: the count differs"),
}


def lane_status_text(state: LaneStatus) -> str:
    return _(LANE_STATES[state])


PARTICIPANT_STATUSES = {
    "active": N_("Active"),
    "inactive": N_("Inactive"),
    "removed": N_("Removed"),
}


def participant_status_text(status: str) -> str:
    return worded(PARTICIPANT_STATUSES, status)


FINGER_NAMES = {
    "right-thumb": N_("Right thumb"),
    "right-index": N_("Right index finger"),
    "right-middle": N_("Right middle finger"),
    "right-ring": N_("Right ring finger"),
    "right-little": N_("Right little finger"),
    "left-thumb": N_("Left thumb"),
    "left-index": N_("Left index finger"),
    "left-middle": N_("Left middle finger"),
    "left-ring": N_("Left ring finger"),
    "left-little": N_("Left little finger"),
}


def finger_text(finger: str) -> str:
    return worded(FINGER_NAMES, finger)


OUTCOMES = {
    "complete": N_("Complete"),
    "jam": N_("Jammed"),
    "lane_empty": N_("Lane ran empty"),
    "motor_fault": N_("Motor fault"),
    "aborted": N_("Stopped (power or restart)"),
    "none": N_("Still running"),
    "refused_busy": N_("Refused: dispenser busy"),
    "refused_bad_lane": N_("Refused: no such lane"),
    "refused_lane_not_ready": N_("Refused: lane not ready"),
    "refused_door_open": N_("Refused: service door open"),
    "refused_duplicate": N_("Refused: already sent"),
}


def outcome_text(outcome: str | None) -> str:
    if outcome is None:
        return _("Not settled yet")
    return worded(OUTCOMES, outcome)


# ---------------------------------------------------------------- alerts

ALERT_KINDS = {
    AlertKind.DOOR: N_("Service door opened"),
    AlertKind.TAMPER: N_("Tamper switch"),
    AlertKind.CLOCK: N_("Clock behind"),
    AlertKind.CANNOT_RECORD: N_("Records not written"),
    AlertKind.RECORDS_MISSING: N_("Records missing"),
    AlertKind.SENSOR: N_("Fingerprint sensor silent"),
    AlertKind.CONTROLLER: N_("Dispenser silent"),
    AlertKind.LANE_JAMMED: N_("Lane jammed"),
    AlertKind.LANE_EMPTY: N_("Lane empty"),
    AlertKind.LANE_FAULT: N_("Lane motor fault"),
    AlertKind.PARTIAL_DISPENSE: N_("Dose cut short"),
    AlertKind.NO_LANE: N_("No lane for a medication"),
    AlertKind.DISCREPANCY: N_("Count differs"),
    AlertKind.MISSED_DOSES: N_("Missed doses"),
    AlertKind.DOSE_NOT_GIVEN: N_("Dose not given"),
    AlertKind.REENROL: N_("Time to re-enrol a finger"),
    AlertKind.HELP: N_("A participant asks for help"),
    AlertKind.PIN_LOCKOUT: N_("PIN entry locked"),
    AlertKind.SYNC_CLOCK_SKEW: N_("Hub refused the clock"),
    AlertKind.SYNC_CONFLICT: N_("Hub change not applied"),
    AlertKind.SYNC_EVENT_QUARANTINED: N_("Event set aside by the hub"),
}
ALERT_MESSAGES = {
    AlertKind.DOOR: N_(
        "The service door was opened outside a staff session: confirm the machine is secure."
    ),
    AlertKind.TAMPER: N_("The tamper switch tripped: confirm the machine is secure."),
    AlertKind.CLOCK: N_("The clock is behind the last recorded event; dispensing is stopped."),
    AlertKind.CANNOT_RECORD: N_(
        "Records could not be written (full disk or storage fault); dispensing was stopped "
        "until the store accepted writes again."
    ),
    AlertKind.RECORDS_MISSING: N_(
        "Records are missing from this kiosk's database: dispensing is stopped. A technician "
        "must check and acknowledge (kiosk db acknowledge)."
    ),
    AlertKind.SENSOR: N_(
        "The fingerprint sensor does not answer: dispensing is stopped until it does."
    ),
    AlertKind.CONTROLLER: N_(
        "The dispenser controller does not answer: dispensing is stopped until it does."
    ),
    AlertKind.LANE_JAMMED: N_("Lane {lane} is jammed: select this alert, then Clear this jam."),
    AlertKind.LANE_EMPTY: N_("Lane {lane} is empty: restock it."),
    AlertKind.LANE_FAULT: N_("Lane {lane} has a motor fault: clear and reset it."),
    AlertKind.PARTIAL_DISPENSE: N_(
        "Vend {vend} gave fewer units than asked: see the dispense log."
    ),
    AlertKind.NO_LANE: N_("No ready lane holds {medication}: restock or clear a lane."),
    AlertKind.DISCREPANCY: N_(
        "The count in lane {lane} differs from the record: a pharmacist must resolve it."
    ),
    AlertKind.MISSED_DOSES: N_(
        "Prescription {prescription} is on hold after missed doses: needs prescriber review."
    ),
    AlertKind.DOSE_NOT_GIVEN: N_(
        "A dose shown to participant {participant} was not given: the rules refused it at "
        "the moment of dispensing. They were asked to see staff."
    ),
    AlertKind.REENROL: N_(
        "Staff identified participant {participant} by hand several times this week: their "
        "finger does not read well. Enrol a finger again (Participants page)."
    ),
    AlertKind.HELP: N_(
        'Someone at the machine pressed "I need help" ({participant}). Go to them, then '
        "acknowledge this alert: the screen tells them someone is coming."
    ),
    AlertKind.PIN_LOCKOUT: N_(
        "Wrong staff PINs at {entry}: it is locked, longer after each further wrong PIN."
    ),
    AlertKind.SYNC_CLOCK_SKEW: N_(
        "The hub refused this kiosk's clock: check the time and the network time service."
    ),
    AlertKind.SYNC_CONFLICT: N_(
        "A change from the hub to {record} met an edit made on this kiosk; it was not "
        "applied. Review it on the hub."
    ),
    AlertKind.SYNC_EVENT_QUARANTINED: N_(
        "The hub could not store event #{event} and set it aside. The hub's staff will "
        "review it; nothing needs doing on this kiosk. The Sync page says why."
    ),
}


def alert_kind_text(kind: AlertKind | None) -> str:
    return _("Other") if kind is None else _(ALERT_KINDS[kind])


def alert_text(alert: Alert) -> str:
    """The alert in the reader's language, from its kind and subject (the stored English
    sentence only for a kind this version does not know)."""
    if alert.kind is None:
        return alert.message
    about = subject_text(alert.subject, alert.subject_name)
    head, _sep, tail = alert.subject.partition(":")
    if alert.kind is AlertKind.PIN_LOCKOUT and alert.subject == "all":
        return _("Too many wrong staff PINs within the hour: every PIN entry is locked for now.")
    return _(ALERT_MESSAGES[alert.kind]).format(
        lane=tail if head == "lane" else about,
        vend=tail if head == "vend" else about,
        medication=alert.subject_name or about,
        prescription=about,
        participant=alert.subject_name.partition(" · ")[0] or about,
        entry=entry_text(alert.subject),
        record=about,
        event=tail if head == "event" else about,
    )


def alert_state_text(alert: Alert, timezone: str) -> str:
    """Open, or who closed it and when (the history)."""
    if alert.resolved_at is not None:
        return _("Resolved by itself {when}").format(when=moment(alert.resolved_at, timezone))
    if alert.acknowledged_at is not None:
        who = (
            staff_text(alert.acknowledged_by.name, alert.acknowledged_by.role)
            if alert.acknowledged_by
            else _("a staff member")
        )
        return _("Acknowledged by {who} {when}").format(
            who=who, when=moment(alert.acknowledged_at, timezone)
        )
    return _("Open")


def hub_alert_text(kind: str) -> str:
    """A hub-only alert kind, in words (the hub names its own kinds)."""
    return {
        "machine_offline": _("this machine has not been heard from"),
        "machine_silent": _("this machine has not been heard from"),
    }.get(kind, _("an alert about this machine"))


def notice_role_text(role: NoticeRole) -> str:
    return {
        NoticeRole.SITE_STAFF: _("site staff"),
        NoticeRole.NURSE: _("nurse"),
        NoticeRole.PHARMACIST: _("pharmacist"),
        NoticeRole.PRESCRIBER: _("prescriber"),
        NoticeRole.PROGRAM_MANAGER: _("program manager"),
        NoticeRole.TECHNICIAN: _("technician"),
    }.get(role, _("staff member"))


def told_text(notice: AlertNotice | None, link: HubLink, on_call: str | None, timezone: str) -> str:
    """Who has been told about an alert, for staff: "Told: Maria L. (pharmacist) by e-mail
    at 03:12 · Acknowledged by Sam K. (nurse) at 03:20" (kiosk.domain.told.staff_message)."""
    message = staff_message(notice, link)
    if message is StaffMessage.NOT_YET_TOLD:
        return _("Not yet told anyone: the hub will tell the on-call person after the next sync.")
    if message is StaffMessage.CANNOT_REACH_HUB:
        if on_call:
            return _("This machine cannot reach the hub: call {on_call}.").format(on_call=on_call)
        return _("This machine cannot reach the hub: nobody has been told by it.")
    assert notice is not None
    channels = {Channel.EMAIL: _("by e-mail"), Channel.WEBHOOK: _("by message")}
    parts = [
        _("Told: {who} ({role}) {channel} at {time}").format(
            who=person.label,
            role=notice_role_text(person.role),
            channel=channels[person.channel],
            time=format_local_time(person.at, timezone),
        )
        for person in notice.told
    ]
    ack = notice.acknowledged
    if ack is not None:
        parts.append(
            _("Acknowledged by {who} ({role}) at {time}").format(
                who=ack.label,
                role=notice_role_text(ack.role),
                time=format_local_time(ack.at, timezone),
            )
        )
    return " · ".join(parts)


def moment(instant: datetime, timezone: str) -> str:
    return f"{format_local_day(instant, timezone, 'short')} {format_local_time(instant, timezone)}"


# ---------------------------------------------------------------- the audit log

ENTRY_POINTS = {
    "admin": N_("the staff login"),
    "witness": N_("the witness PIN pad"),
    "confirm_secure": N_("the out-of-service PIN pad"),
    "second_signature": N_("the second-signature PIN"),
    "new_pin": N_("the new-PIN check"),
    "assisted_id": N_("the staff identification PIN pad"),
    "all": N_("every PIN entry"),
}


def entry_text(entry: str) -> str:
    return worded(ENTRY_POINTS, entry)


PERMISSIONS = {
    Permission.WITNESS_DOSE: N_("witness a dose"),
    Permission.RELEASE_HOLD: N_("release a hold"),
    Permission.CONFIRM_SECURE: N_("confirm the machine is secure"),
    Permission.RESET_LANE: N_("clear a jam"),
    Permission.MANAGE_STAFF: N_("manage staff accounts"),
    Permission.ENROLL: N_("enroll fingers"),
    Permission.REMOVE_PARTICIPANT: N_("remove a participant"),
    Permission.HOLD: N_("put prescriptions on hold"),
    Permission.EDIT_PRESCRIPTION: N_("edit prescriptions"),
    Permission.ASSIGN_LANE: N_("assign lanes"),
    Permission.RESTOCK: N_("restock"),
    Permission.RESOLVE_DISCREPANCY: N_("resolve a discrepancy"),
    Permission.RECONCILE: N_("reconcile"),
    Permission.VIEW_LOGS: N_("read the logs"),
    Permission.ACK_ALERT: N_("acknowledge alerts"),
    Permission.HARDWARE: N_("use the hardware page"),
    Permission.MANAGE_NOTICES: N_("set notices"),
    Permission.RECORD_MANUAL_DOSE: N_("record a dose given by hand"),
}


def permission_text(permission: str) -> str:
    try:
        return _(PERMISSIONS[Permission(permission)])
    except ValueError:
        return humanize(permission)


ACTORS = {
    "system": N_("The kiosk"),
    "system:rules": N_("The kiosk (dosing rules)"),
    "system:demo-seed": N_("Demo data"),
    "hub": N_("The hub"),
    "controller": N_("The dispenser"),
    "setup": N_("First-run setup"),
    "technician:cli": N_("A technician (command line)"),
}


def actor_text(row: AuditRow) -> str:
    if row.actor_staff is not None:
        return staff_text(row.actor_staff.name, row.actor_staff.role)
    known = ACTORS.get(row.actor)
    if known:
        return _(known)
    head, _sep, tail = row.actor.partition(":")
    if head == "staff":
        return _("Staff member {id}").format(id=tail)
    return humanize(row.actor)


SUBJECT_KINDS = {
    "lane": N_("Lane {id}"),
    "alert": N_("Alert {id}"),
    "vend": N_("Vend {id}"),
    "staff": N_("Staff member {id}"),
    "participant": N_("Participant {id}"),
    "prescription": N_("Prescription {id}"),
    "medication": N_("Medication {id}"),
    "discrepancy": N_("Discrepancy {id}"),
}
SUBJECT_WORDS = {
    "machine": N_("The machine"),
    "hub": N_("The hub"),
    "admin": N_("Staff panel"),
}


def subject_text(subject: str, name: str = "") -> str:
    """``lane:2`` → "Lane 2"; ``prescription:3`` → "Prescription 3 (P-0003 · …)";
    ``staff:4`` → the staff member's name; a word the kiosk uses → its translation."""
    head, sep, tail = subject.partition(":")
    if sep and head in SUBJECT_KINDS:
        if name and head in ("staff", "participant", "medication"):
            return name
        text = _(SUBJECT_KINDS[head]).format(id=tail)
        return f"{text} ({name})" if name else text
    if sep and head == "setting":
        return _("A site setting")
    known = SUBJECT_WORDS.get(subject)
    if known:
        return _(known)
    return humanize(subject) if sep or "_" in subject else subject


FLAGS = {
    "door_opened": N_("Service door lockout"),
    "tamper": N_("Tamper lockout"),
    "records_missing": N_("Records missing"),
}


def audit_subject_text(row: AuditRow) -> str:
    """The subject of an audit entry: what it means depends on the action."""
    area = row.action.partition(".")[0]
    if row.action == "staff.added":
        return role_text(row.subject)
    if row.action == "staff.refused":
        return permission_text(row.subject)
    if area == "pin":
        return entry_text(row.subject)
    if row.action == "machine.flag_raised":
        return worded(FLAGS, row.subject)
    return subject_text(row.subject, row.subject_name)


AUDIT_ACTIONS = {
    "alert.raised": N_("Alert raised"),
    "alert.acknowledged": N_("Alert acknowledged"),
    "alert.resolved": N_("Alert resolved (cause cleared)"),
    "books.loss_acknowledged": N_("Missing records acknowledged"),
    "books.unrecorded_vend": N_("Unrecorded vend found"),
    "discrepancy.resolved": N_("Discrepancy resolved"),
    "dispense.intent": N_("Dispense started"),
    "dispense.result": N_("Dispense finished"),
    "fingerprint.duplicate_refused": N_("Finger already enrolled: refused"),
    "fingerprint.enrolled": N_("Finger enrolled"),
    "fingerprint.stored": N_("Fingerprint stored"),
    "guest.blocked": N_("Guest day elsewhere: doses blocked here"),
    "guest.unblocked": N_("Guest day elsewhere withdrawn"),
    "jam.aborted": N_("Jam recovery stopped"),
    "jam.begun": N_("Jam recovery started"),
    "jam.counted": N_("Lane counted (jam)"),
    "jam.door_unlock_failed": N_("Door unlock failed"),
    "jam.door_unlocked": N_("Service door unlocked"),
    "jam.finish_failed": N_("Jam recovery: finish failed"),
    "jam.finish_refused": N_("Jam recovery: door still open"),
    "jam.finished": N_("Jam recovery finished"),
    "jam.lane_cleared": N_("Lane cleared by hand"),
    "jam.lane_reset": N_("Lane reset"),
    "jam.reset_failed": N_("Lane reset failed"),
    "jam.reset_refused": N_("Lane reset refused: still blocked"),
    "lane.assigned": N_("Lane assigned"),
    "lane.configured": N_("Lane set up"),
    "lane.state": N_("Lane state changed"),
    "machine.flag_raised": N_("Lockout raised"),
    "machine.flags_cleared": N_("Lockout cleared"),
    "machine.selftest": N_("Self-test run"),
    "machine.store_recovered": N_("Records written again"),
    "medication.added": N_("Medication added"),
    "participant.enrolled": N_("Participant added"),
    "participant.language_changed": N_("Language changed"),
    "participant.removed": N_("Participant removed"),
    "pin.accepted": N_("PIN accepted"),
    "pin.refused": N_("PIN refused"),
    "pin.refused_locked": N_("PIN refused: entry locked"),
    "prescription.added": N_("Prescription added"),
    "prescription.changed": N_("Prescription changed"),
    "prescription.ended": N_("Prescription ended"),
    "prescription.held": N_("Prescription put on hold"),
    "prescription.release_refused": N_("Release refused"),
    "prescription.released": N_("Prescription released"),
    "reconciliation.exported": N_("Reconciliation exported"),
    "sensor.reloaded": N_("Sensor reloaded from the store"),
    "staff.activated": N_("Staff account reactivated"),
    "staff.added": N_("Staff account added"),
    "staff.auto_logout": N_("Logged out (inactivity)"),
    "staff.deactivated": N_("Staff account deactivated"),
    "staff.login": N_("Logged in"),
    "staff.logout": N_("Logged out"),
    "staff.pin_changed": N_("PIN changed"),
    "staff.refused": N_("Not permitted for this role"),
    "stock.counted": N_("Lane counted"),
    "stock.restocked": N_("Lane restocked"),
    "stock.returned": N_("Return recorded"),
    "stock.wasted": N_("Waste recorded"),
    "sync.conflict": N_("Hub change not applied (conflict)"),
    "sync.dose_elsewhere.deleted": N_("Dose elsewhere withdrawn by the hub"),
    "sync.dose_elsewhere.upsert": N_("Dose given at another machine received"),
    "sync.notice.upsert": N_("Notice received from the hub"),
    "sync.notice.withdrawn": N_("Notice withdrawn by the hub"),
    "sync.manual_dose.upsert": N_("Dose given by hand received from the hub"),
    "notice.created": N_("Notice set"),
    "notice.withdrawn": N_("Notice withdrawn"),
    "notice.acknowledged": N_("Notice read by the participant"),
    "manual_dose.recorded": N_("Dose given by hand recorded"),
    "sync.participant.removed": N_("Participant removed by the hub"),
    "sync.participant.upsert": N_("Participant updated by the hub"),
    "sync.prescription.cancelled": N_("Prescription cancelled by the hub"),
    "sync.prescription.upsert": N_("Prescription updated by the hub"),
    "sync.setting.deleted": N_("Site setting removed by the hub"),
    "sync.setting.upsert": N_("Site setting changed by the hub"),
    "sync.staff.deactivated": N_("Staff account deactivated by the hub"),
    "sync.staff.upsert": N_("Staff account updated by the hub"),
    "sync.update_offer": N_("Software update offered by the hub"),
    "sync.update_offer.deleted": N_("Software update offer withdrawn by the hub"),
    "witness.accepted": N_("Dose witnessed"),
}


def audit_action_text(action: str) -> str:
    return worded(AUDIT_ACTIONS, action)


def chain_text(status: ChainStatus) -> str:
    if status.ok:
        return _("Audit chain verified: {count} entries.").format(count=status.entries)
    return _("Audit chain BROKEN at entry {seq}: call support.").format(seq=status.first_bad_seq)


# ---------------------------------------------------------------- self-test

SELFTEST_PARTS = {
    SelfTestPart.SENSOR: N_("Fingerprint sensor"),
    SelfTestPart.CONTROLLER: N_("Dispenser controller"),
    SelfTestPart.DATABASE: N_("Database"),
    SelfTestPart.CLOCK: N_("Clock"),
}


def selftest_part_text(part: SelfTestPart) -> str:
    return _(SELFTEST_PARTS[part])


def selftest_detail_text(row: SelfTestRow) -> str:
    if row.part is SelfTestPart.SENSOR:
        if row.sensor is None:
            return _("Does not answer.")
        return _("{count} of {capacity} templates stored; security level {level}.").format(
            count=row.sensor.template_count,
            capacity=row.sensor.capacity,
            level=row.sensor.security_level,
        )
    if row.part is SelfTestPart.CONTROLLER:
        if row.firmware is None:
            return _("Does not answer.")
        door = _("open") if row.door_open else _("closed")
        lanes = ", ".join(lane_status_text(state) for state in row.lanes)
        return _("Firmware {firmware}; service door {door}; lanes: {lanes}.").format(
            firmware=row.firmware, door=door, lanes=lanes
        )
    if row.part is SelfTestPart.DATABASE:
        return (
            _("Intact, with the recent audit chain.")
            if row.ok
            else _("A problem was found: write diagnostics and call support.")
        )
    return _("Trusted.") if row.ok else _("Behind the last record: set the time.")


# ---------------------------------------------------------------- software updates

UPDATE_STATES = {
    UpdateState.RUNNING: N_("Running"),
    UpdateState.DOWNLOADING: N_("Downloading"),
    UpdateState.DOWNLOADED: N_("Downloaded"),
    UpdateState.REFUSED: N_("Refused"),
    UpdateState.STAGED: N_("Ready to switch at a quiet moment"),
    UpdateState.SWITCHED: N_("Switched"),
    UpdateState.HEALTHY: N_("Installed and healthy"),
    UpdateState.FAILED: N_("Failed"),
    UpdateState.ROLLED_BACK: N_("Rolled back to the previous version"),
}


def software_text(status: SoftwareStatus, timezone: str) -> str:
    """One paragraph: version, and the last update attempt (target, state, when, why)."""
    lines = [_("Software version {version}").format(version=status.running)]
    if not status.updates_on:
        lines.append(_("Updates are not set up on this kiosk."))
    elif status.state is None or status.attempted_at is None:
        lines.append(_("No update attempted yet."))
    else:
        lines.append(
            _("Update {target}: {state} ({when})").format(
                target=status.target or status.running,
                state=_(UPDATE_STATES[status.state]),
                when=moment(status.attempted_at, timezone),
            )
        )
        if status.detail:
            lines.append(status.detail)
    return "\n".join(lines)


USB_OUTCOMES = {
    UsbOutcome.STAGED: N_(
        "Update {version} is verified; the kiosk switches to it at the next quiet moment."
    ),
    UsbOutcome.NOTHING_NEWER: N_("That folder holds no release newer than this one."),
    UsbOutcome.UPDATES_OFF: N_("Updates are not set up on this kiosk."),
    UsbOutcome.NO_FOLDER: N_("That folder holds no release repository."),
    UsbOutcome.REFUSED: N_("Update refused: {detail}"),
    UsbOutcome.FAILED: N_("Update failed: {detail}"),
}


def usb_result_text(result: UsbResult) -> str:
    return _(USB_OUTCOMES[result.outcome]).format(
        version=result.version or "", detail=result.detail or ""
    )


# ---------------------------------------------------------------- confirmation pictures

PICTURES = {
    Picture.INITIALS: N_("Initials"),
    Picture.SUN: N_("Sun"),
    Picture.MOON: N_("Moon"),
    Picture.STAR: N_("Star"),
    Picture.HEART: N_("Heart"),
    Picture.TREE: N_("Tree"),
    Picture.HOUSE: N_("House"),
    Picture.FISH: N_("Fish"),
    Picture.FLOWER: N_("Flower"),
}


def picture_text(picture: Picture) -> str:
    return _(PICTURES[picture])
