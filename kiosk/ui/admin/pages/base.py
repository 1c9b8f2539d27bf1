"""The admin page contract."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.domain.permissions import Permission
from kiosk.ui.admin.context import AdminContext


class AdminPage(QWidget):
    key = "page"
    order = 100
    permission: Permission | None = Permission.VIEW_LOGS

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__()
        self.ctx = ctx

    @property
    def title(self) -> str:
        return self.key

    @classmethod
    def available(cls, ctx: AdminContext) -> bool:
        return cls.permission is None or ctx.session.can(cls.permission)

    def activated(self) -> None:
        """Shown: refresh from the services (on the backend)."""

    def show_subject(self, subject: str) -> None:
        """Opened from another page about ``subject`` (an alert's "lane:2")."""

    def closing(self) -> None:
        """The panel closes (logout): stop anything running."""
