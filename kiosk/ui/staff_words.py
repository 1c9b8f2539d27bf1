"""Staff-facing words shared by the staff screens: role names (never the raw value)."""

from __future__ import annotations

from collections.abc import Iterable

from kiosk.domain.permissions import Role
from kiosk.i18n import N_, _

ROLE_NAMES = {
    Role.STAFF: N_("staff"),
    Role.NURSE: N_("nurse"),
    Role.PHARMACIST: N_("pharmacist"),
    Role.TECHNICIAN: N_("technician"),
    Role.PRESCRIBER: N_("prescriber"),
    Role.ADMIN: N_("administrator"),
}


def role_name(role: Role) -> str:
    return _(ROLE_NAMES[role])


def roles_text(roles: Iterable[Role]) -> str:
    """ "technician, pharmacist, administrator" in the order the site listed them."""
    return ", ".join(role_name(role) for role in roles)
