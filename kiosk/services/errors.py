"""Errors a staff-facing use case raises for the UI to word (no personal data inside)."""

from __future__ import annotations


class Refusal(Exception):
    """An expected "no": a role that may not, an entry that cannot be accepted, a wrong or
    locked PIN, a machine not yet secure, a dose that may not be given yet. The UI words it;
    the log notes it at INFO, without a traceback (it is not a fault of the kiosk)."""


class NotPermitted(Refusal):
    """This staff member's role may not do that."""


class InvalidInput(Refusal):
    """What staff entered cannot be accepted; ``code`` names why for the UI's wording."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
