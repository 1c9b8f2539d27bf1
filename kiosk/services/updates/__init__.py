"""Software updates (issue 16, docs/UPDATES.md): signed releases fetched with python-tuf,
staged next to the running version, switched at a quiet moment, confirmed healthy."""

from kiosk.services.updates.agent import SWITCH_EXIT_CODE, ScreenState, UpdateAgent
from kiosk.services.updates.install import UpdateFailed, UpdateRefused
from kiosk.services.updates.layout import ReleaseLayout

__all__ = [
    "SWITCH_EXIT_CODE",
    "ReleaseLayout",
    "ScreenState",
    "UpdateAgent",
    "UpdateFailed",
    "UpdateRefused",
]
