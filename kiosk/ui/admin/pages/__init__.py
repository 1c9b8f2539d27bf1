"""Admin pages. Each is an ``AdminPage``; the panel shows those the session's role may use."""

from __future__ import annotations

from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage


def page_classes() -> list[type[AdminPage]]:
    """Every admin page there is (each needs a How-to: kiosk/help/<key>.toml)."""
    from kiosk.ui.admin.pages.alerts import AlertsPage
    from kiosk.ui.admin.pages.approval import ApprovalPage
    from kiosk.ui.admin.pages.hardware import HardwarePage
    from kiosk.ui.admin.pages.jam import JamPage
    from kiosk.ui.admin.pages.lanes import LanesPage
    from kiosk.ui.admin.pages.logs import LogsPage
    from kiosk.ui.admin.pages.manual_dose import ManualDosePage
    from kiosk.ui.admin.pages.notices import NoticesPage
    from kiosk.ui.admin.pages.participants import ParticipantsPage
    from kiosk.ui.admin.pages.reconciliation import ReconciliationPage
    from kiosk.ui.admin.pages.staff_accounts import StaffPage
    from kiosk.ui.admin.pages.sync import SyncPage

    return [
        AlertsPage,
        ParticipantsPage,
        LanesPage,
        JamPage,
        ApprovalPage,
        NoticesPage,
        ManualDosePage,
        ReconciliationPage,
        LogsPage,
        HardwarePage,
        StaffPage,
        SyncPage,
    ]


def build_pages(ctx: AdminContext) -> list[AdminPage]:
    pages = [cls(ctx) for cls in page_classes() if cls.available(ctx)]
    return sorted(pages, key=lambda page: page.order)
