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


GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.WITNESS_DOSE: frozenset({Role.NURSE, Role.PHARMACIST}),
    Permission.RELEASE_HOLD: frozenset({Role.NURSE, Role.PHARMACIST}),
}


def allowed(role: str, permission: Permission) -> bool:
    try:
        return Role(role) in GRANTS[permission]
    except ValueError:
        return False


def roles_with(permission: Permission) -> tuple[str, ...]:
    return tuple(sorted(role.value for role in GRANTS[permission]))
