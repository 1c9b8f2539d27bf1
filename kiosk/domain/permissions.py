"""Who may do what: one table of roles and permissions (the admin panel extends it)."""

from __future__ import annotations

import enum


class Role(enum.Enum):
    STAFF = "staff"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    TECHNICIAN = "technician"
    PRESCRIBER = "prescriber"  # enters prescriptions on a prescriber's behalf
    ADMIN = "admin"


class Permission(enum.Enum):
    WITNESS_DOSE = "witness_dose"
    RELEASE_HOLD = "release_hold"
    CONFIRM_SECURE = "confirm_secure"  # clear a service-door or tamper lockout
    RESET_LANE = "reset_lane"
    MANAGE_STAFF = "manage_staff"
    ENROLL = "enroll"
    REMOVE_PARTICIPANT = "remove_participant"
    HOLD = "hold"
    EDIT_PRESCRIPTION = "edit_prescription"
    ASSIGN_LANE = "assign_lane"
    RESTOCK = "restock"
    RESOLVE_DISCREPANCY = "resolve_discrepancy"
    RECONCILE = "reconcile"
    VIEW_LOGS = "view_logs"
    ACK_ALERT = "ack_alert"
    HARDWARE = "hardware"
    MANAGE_NOTICES = "manage_notices"  # messages for a participant or the site (issue 17)
    RECORD_MANUAL_DOSE = "record_manual_dose"  # a dose given by hand while the machine is down


GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.WITNESS_DOSE: frozenset({Role.NURSE, Role.PHARMACIST}),
    Permission.RELEASE_HOLD: frozenset({Role.NURSE, Role.PHARMACIST}),
    # The default of the site setting [site] door_clear_roles, which decides (config.py).
    Permission.CONFIRM_SECURE: frozenset({Role.TECHNICIAN, Role.PHARMACIST, Role.ADMIN}),
    # The study's site had a stuck dose and nobody with a key: every role may clear a jam.
    Permission.RESET_LANE: frozenset(Role),
    Permission.MANAGE_STAFF: frozenset({Role.ADMIN}),
    Permission.ENROLL: frozenset({Role.STAFF, Role.NURSE, Role.PHARMACIST, Role.ADMIN}),
    Permission.REMOVE_PARTICIPANT: frozenset({Role.PHARMACIST, Role.ADMIN}),
    Permission.HOLD: frozenset({Role.STAFF, Role.NURSE, Role.PHARMACIST}),
    Permission.EDIT_PRESCRIPTION: frozenset({Role.PHARMACIST, Role.PRESCRIBER}),
    Permission.ASSIGN_LANE: frozenset({Role.PHARMACIST, Role.ADMIN}),
    # Admin too: the first (only) account a fresh install has must be able to load the lanes,
    # and an admin could grant itself any role anyway (it manages the staff accounts). A
    # restock still needs a second staff member's PIN, and a discrepancy a pharmacist.
    Permission.RESTOCK: frozenset(
        {Role.STAFF, Role.NURSE, Role.PHARMACIST, Role.TECHNICIAN, Role.ADMIN}
    ),
    Permission.RESOLVE_DISCREPANCY: frozenset({Role.PHARMACIST}),
    Permission.RECONCILE: frozenset({Role.NURSE, Role.PHARMACIST, Role.ADMIN}),
    Permission.VIEW_LOGS: frozenset(Role),
    Permission.ACK_ALERT: frozenset(Role),
    Permission.HARDWARE: frozenset({Role.STAFF, Role.TECHNICIAN, Role.ADMIN, Role.PHARMACIST}),
    Permission.MANAGE_NOTICES: frozenset({Role.STAFF, Role.NURSE, Role.PHARMACIST, Role.ADMIN}),
    # Giving a controlled medication by hand: the clinical roles only (issue 17 item 4).
    Permission.RECORD_MANUAL_DOSE: frozenset({Role.NURSE, Role.PHARMACIST}),
}


def allowed(role: str, permission: Permission) -> bool:
    try:
        return Role(role) in GRANTS[permission]
    except ValueError:
        return False


def roles_with(permission: Permission) -> tuple[str, ...]:
    return tuple(sorted(role.value for role in GRANTS[permission]))
