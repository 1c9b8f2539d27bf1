"""What every admin page gets: the services, the backend runner, the session, the site."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kiosk.domain.model import SiteClock
from kiosk.services.approvals import ApprovalsService
from kiosk.services.clock import Clock
from kiosk.services.diagnostics import DiagnosticsService
from kiosk.services.errors import Refusal
from kiosk.services.health import HealthService
from kiosk.services.holds import HoldService
from kiosk.services.interaction import InteractionService
from kiosk.services.jam import JamRecovery
from kiosk.services.logs import LogService
from kiosk.services.manual_doses import ManualDoseService
from kiosk.services.notices import NoticeService
from kiosk.services.participants import ParticipantService
from kiosk.services.prescriptions import PrescriptionService
from kiosk.services.reconciliation import ReconciliationService
from kiosk.services.staff import StaffService, StaffSession
from kiosk.services.stock import StockService
from kiosk.services.sync.facade import SyncFacade
from kiosk.services.updates.facade import SoftwareFacade
from kiosk.ui.background import Backend

T = TypeVar("T")


@dataclass(frozen=True)
class AdminServices:
    """The use cases behind the staff panel, one typed field each (built by
    ``kiosk.app.build_admin_services``)."""

    staff: StaffService
    logs: LogService
    prescriptions: PrescriptionService
    health: HealthService
    interaction: InteractionService
    holds: HoldService
    participants: ParticipantService
    stock: StockService
    jam: JamRecovery
    reconciliation: ReconciliationService
    sync: SyncFacade
    diagnostics: DiagnosticsService
    approvals: ApprovalsService | None = None  # remote approvals (None: no hub configured)
    software: SoftwareFacade | None = None  # version and updates (docs/UPDATES.md)
    notices: NoticeService | None = None  # staff's notices (issue 17)
    manual_doses: ManualDoseService | None = None  # doses given by hand (downtime)


@dataclass
class AdminContext:
    services: AdminServices
    backend: Backend
    site: SiteClock
    clock: Clock
    session: StaffSession
    show_message: Callable[[str, bool], None]  # (text, is_error)
    # Open another page about a subject ("jam", "lane:2"): set by the panel.
    open_page: Callable[[str, str], None] | None = None

    def run(
        self,
        work: Callable[[], T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run on the backend; errors become a message bar line, never a traceback."""
        self.backend.submit(work, on_done, on_error or self.report_error)

    def report_error(self, exc: BaseException) -> None:
        from kiosk.ui.admin.wording import error_text

        self.show_message(error_text(exc), True)

    def refusal(self, exc: BaseException) -> bool:
        return isinstance(exc, Refusal)
