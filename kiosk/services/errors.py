"""Errors a staff-facing use case raises for the UI to word (no personal data inside)."""

from __future__ import annotations


class NotPermitted(Exception):
    """This staff member's role may not do that."""


class InvalidInput(Exception):
    """What staff entered cannot be accepted; ``code`` names why for the UI's wording."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
