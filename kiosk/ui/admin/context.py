"""What every admin page gets: the services, the backend runner, the session, the site."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk.domain.model import SiteClock
from kiosk.services.clock import Clock
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.services.staff import StaffSession
from kiosk.ui.background import Backend


@dataclass
class AdminServices:
    """Use cases the panel needs; pages reach them by attribute (None until built)."""

    staff: Any
    logs: Any
    prescriptions: Any
    health: Any
    interaction: Any
    holds: Any = None
    participants: Any = None
    stock: Any = None
    jam: Any = None
    reconciliation: Any = None
    selftest: Callable[[], Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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
        work: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run on the backend; errors become a message bar line, never a traceback."""
        self.backend.submit(work, on_done, on_error or self.report_error)

    def report_error(self, exc: BaseException) -> None:
        from kiosk.ui.admin.wording import error_text

        self.show_message(error_text(exc), True)

    def refusal(self, exc: BaseException) -> bool:
        return isinstance(exc, NotPermitted | InvalidInput)
