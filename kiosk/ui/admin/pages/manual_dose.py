"""Doses given by hand (issue 17 item 4, downtime mode): while the machine cannot dispense, a
nurse or pharmacist records the dose they gave. A witnessed prescription needs a second
nurse or pharmacist's PIN. The rules count it; reconciliation shows it. A dose the dosing
rules would have refused (given already, too early, on hold, ended) is not recorded silently:
the page says why and records it only with an override reason, which is audited."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QPushButton, QVBoxLayout

from kiosk.domain.manual_doses import MAX_UNITS, ManualDose, StockSource
from kiosk.domain.permissions import Permission
from kiosk.i18n import _, format_local_time
from kiosk.services.explain import reason_text
from kiosk.services.manual_doses import RulesWouldRefuse
from kiosk.store.manual_doses_repo import DoseChoice
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.widgets import FlowLayout, fill, table
from kiosk.ui.keyboard import PinField

# When the dose was given, as minutes before now: a touch list, no clock to type.
WHEN_MINUTES = (0, 5, 10, 15, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720)


def when_text(minutes: int) -> str:
    if minutes == 0:
        return _("Just now")
    if minutes < 60:
        return _("{minutes} minutes ago").format(minutes=minutes)
    return _("{hours} h {minutes:02d} ago").format(hours=minutes // 60, minutes=minutes % 60)


class ManualDosePage(AdminPage):
    key = "manual_dose"
    order = 45
    permission = Permission.RECORD_MANUAL_DOSE

    @classmethod
    def available(cls, ctx: AdminContext) -> bool:
        return ctx.services.manual_doses is not None and super().available(ctx)

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.table = table(
            [_("Participant"), _("Units"), _("Given at"), _("Stock"), _("Witness")],
            stretch=0,
            optional=(4, 3),
        )
        self.prescription = QComboBox()
        self.prescription.currentIndexChanged.connect(lambda _i: self._chosen())
        self.units = QComboBox()
        for units in range(1, MAX_UNITS + 1):
            self.units.addItem(str(units), units)
        self.when = QComboBox()
        for minutes in WHEN_MINUTES:
            self.when.addItem(when_text(minutes), minutes)
        self.source = QComboBox()
        self.source.addItem(_("From pharmacy stock"), StockSource.PHARMACY)
        self.source.addItem(_("From the machine's lane"), StockSource.MACHINE_LANE)
        self.source.currentIndexChanged.connect(lambda _i: self._lanes())
        self.lane = QComboBox()
        self.witness = PinField(_("Witness: a second nurse or pharmacist's PIN"))
        # Shown once the rules would refuse the dose: recording it anyway needs a reason.
        self.override = QLineEdit()
        self.override.setObjectName("overrideReason")
        self.override.setPlaceholderText(_("Why it was given anyway"))
        form = QFormLayout()
        form.addRow(_("Prescription"), self.prescription)
        form.addRow(_("Units given"), self.units)
        form.addRow(_("When"), self.when)
        form.addRow(_("Stock taken"), self.source)
        form.addRow(_("Lane"), self.lane)
        form.addRow(_("Witness PIN"), self.witness)
        form.addRow(_("Override reason"), self.override)
        self.form = form
        form.setRowVisible(self.override, False)
        record = QPushButton(_("Record the dose"))
        record.clicked.connect(lambda _checked=False: self.record())
        buttons = FlowLayout()
        buttons.addWidget(record)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self.choices: list[DoseChoice] = []
        self.lanes: dict[int, list[tuple[int, int]]] = {}

    @property
    def title(self) -> str:
        return _("Doses by hand")

    def activated(self) -> None:
        service, session = self.ctx.services.manual_doses, self.ctx.session
        assert service is not None

        def read() -> tuple[list[DoseChoice], list[ManualDose], dict[int, list[tuple[int, int]]]]:
            choices = service.choices(session)
            lanes = {c.medication_id: service.lanes_of(c.medication_id) for c in choices}
            return choices, service.recent(session), lanes

        self.ctx.run(read, self._show)

    def _show(
        self, found: tuple[list[DoseChoice], list[ManualDose], dict[int, list[tuple[int, int]]]]
    ) -> None:
        self.choices, doses, self.lanes = found
        self.prescription.clear()
        for choice in self.choices:
            label = _("{code}: {medication}, {units} per dose").format(
                code=choice.participant_code,
                medication=choice.medication,
                units=choice.units_per_dose,
            )
            if choice.witnessed:
                label = _("{label} (witnessed)").format(label=label)
            self.prescription.addItem(label)
        zone = self.ctx.site.timezone
        fill(
            self.table,
            [
                (
                    d.participant_code,
                    d.units,
                    format_local_time(d.given_at, zone),
                    _("lane {lane}").format(lane=d.lane)
                    if d.source is StockSource.MACHINE_LANE
                    else _("pharmacy"),
                    _("yes") if d.witness else "—",
                )
                for d in doses
            ],
        )
        self._chosen()

    def _ask_override(self, shown: bool) -> None:
        self.form.setRowVisible(self.override, shown)
        if not shown:
            self.override.clear()

    def _chosen(self) -> None:
        """A prescription chosen: its dose as the units, its medication's lanes."""
        self._ask_override(False)
        index = self.prescription.currentIndex()
        if 0 <= index < len(self.choices):
            self.units.setCurrentIndex(self.units.findData(self.choices[index].units_per_dose))
        self._lanes()

    def _lanes(self) -> None:
        self.lane.clear()
        index = self.prescription.currentIndex()
        from_lane = self.source.currentData() is StockSource.MACHINE_LANE
        self.lane.setEnabled(from_lane)
        if not from_lane or not 0 <= index < len(self.choices):
            return
        for lane, stock in self.lanes.get(self.choices[index].medication_id, []):
            self.lane.addItem(_("Lane {lane} ({stock} left)").format(lane=lane, stock=stock), lane)

    def record(self) -> None:
        service, session = self.ctx.services.manual_doses, self.ctx.session
        assert service is not None
        index = self.prescription.currentIndex()
        if not 0 <= index < len(self.choices):
            self.ctx.show_message(_("Choose the prescription first."), True)
            return
        choice = self.choices[index]
        units = int(self.units.currentData())
        given_at = self.ctx.clock.now() - timedelta(minutes=int(self.when.currentData()))
        source: StockSource = self.source.currentData()
        lane = self.lane.currentData() if source is StockSource.MACHINE_LANE else None
        pin = self.witness.text() or None
        self.witness.clear()
        override = self.override.text().strip() if self.override.isVisibleTo(self) else ""

        def done(_dose: ManualDose) -> None:
            self.ctx.show_message(_("Dose recorded. The machine counts it."), False)
            self._ask_override(False)
            self.activated()

        def refused(exc: BaseException) -> None:
            if not isinstance(exc, RulesWouldRefuse):
                self.ctx.report_error(exc)
                return
            self._ask_override(True)
            self.ctx.show_message(
                _(
                    "The rules would refuse this dose: {reason}. It was not recorded. To"
                    " record it anyway, write why under Override reason and press Record"
                    " again."
                ).format(reason=reason_text(exc.reason)),
                True,
            )

        self.ctx.run(
            lambda: service.record(
                session,
                choice,
                units=units,
                given_at=given_at,
                source=source,
                lane=None if lane is None else int(lane),
                witness_pin=pin,
                override_reason=override or None,
            ),
            done,
            refused,
        )
