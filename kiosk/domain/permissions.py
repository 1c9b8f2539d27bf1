"""Who may do what: one table of roles and permissions (the admin panel extends it)."""

from __future__ import annotations

import enum


class Role(enum.Enum):
    STAFF = "staff"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    TECHNICIAN = "technician"
    ADMIN = "admin"


class Permission(enum.Enum):
    WITNESS_DOSE = "witness_dose"
    RELEASE_HOLD = "release_hold"
    CONFIRM_SECURE = "confirm_secure"  # clear a service-door or tamper lockout
    RESET_LANE = "reset_lane"


GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.WITNESS_DOSE: frozenset({Role.NURSE, Role.PHARMACIST}),
    Permission.RELEASE_HOLD: frozenset({Role.NURSE, Role.PHARMACIST}),
    Permission.CONFIRM_SECURE: frozenset({Role.TECHNICIAN, Role.PHARMACIST, Role.ADMIN}),
    # The study's site had a stuck dose and nobody with a key: every role may clear a jam.
    Permission.RESET_LANE: frozenset(Role),
}


def allowed(role: str, permission: Permission) -> bool:
    try:
        return Role(role) in GRANTS[permission]
    except ValueError:
        return False


def roles_with(permission: Permission) -> tuple[str, ...]:
    return tuple(sorted(role.value for role in GRANTS[permission]))
