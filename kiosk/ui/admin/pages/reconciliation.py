"""Daily controlled-substance reconciliation, and its export to a folder (a USB stick)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout

from kiosk.domain.permissions import Permission
from kiosk.domain.schedule import dosing_day
from kiosk.i18n import _
from kiosk.services.reconciliation import ReconciliationLine
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.widgets import fill, picked_day, table

DEFAULT_FOLDER = "/media"


class ReconciliationPage(AdminPage):
    key = "reconciliation"
    order = 50
    permission = Permission.RECONCILE

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        today = dosing_day(ctx.clock.now(), ctx.site)
        self.day = QDateEdit(QDate(today.year, today.month, today.day))
        self.day.setCalendarPopup(True)
        show = QPushButton(_("Reconcile"))
        show.clicked.connect(lambda _checked=False: self.activated())
        self.folder = QLineEdit(DEFAULT_FOLDER)
        export = QPushButton(_("Export CSV to folder"))
        export.clicked.connect(lambda _checked=False: self.export())
        self.table = table(
            [
                _("Medication"),
                _("Opening"),
                _("Restocked"),
                _("Dispensed"),
                _("By hand"),
                _("Returned"),
                _("Wasted"),
                _("Expected closing"),
                _("Counted"),
                _("Balanced"),
            ],
            stretch=0,
            optional=(7, 8, 3, 1, 2, 5, 6),
        )
        top = QHBoxLayout()
        top.addWidget(self.day)
        top.addWidget(show)
        bottom = QHBoxLayout()
        bottom.addWidget(self.folder, 1)
        bottom.addWidget(export)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.lines: list[ReconciliationLine] = []

    @property
    def title(self) -> str:
        return _("Reconciliation")

    def activated(self) -> None:
        service, session, site = self.ctx.services.reconciliation, self.ctx.session, self.ctx.site
        day = picked_day(self.day)
        self.ctx.run(lambda: service.reconcile(session, day, site), self._show)

    def _show(self, lines: list[ReconciliationLine]) -> None:
        self.lines = lines
        fill(
            self.table,
            [
                (
                    line.medication,
                    line.opening,
                    line.restocked,
                    line.dispensed,
                    # From the lanes; the pharmacy's stock given by hand in brackets.
                    f"{line.by_hand} (+{line.by_hand_pharmacy})"
                    if line.by_hand_pharmacy
                    else line.by_hand,
                    line.returned,
                    line.wasted,
                    line.expected_closing,
                    "—" if line.counted_closing is None else line.counted_closing,
                    _("yes") if line.balanced else _("NO: check"),
                )
                for line in lines
            ],
        )
        if any(not line.balanced for line in lines):
            self.ctx.show_message(_("A count does not match: see the flagged lines."), True)

    def export(self) -> None:
        service, session, site = self.ctx.services.reconciliation, self.ctx.session, self.ctx.site
        day = picked_day(self.day)
        folder = Path(self.folder.text().strip() or DEFAULT_FOLDER)

        def done(paths: list[Path]) -> None:
            self.ctx.show_message(
                _("Written: {files}").format(files=", ".join(p.name for p in paths)), False
            )

        self.ctx.run(lambda: service.export_csv(session, day, site, folder), done)
