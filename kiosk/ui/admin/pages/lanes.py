"""Lanes and stock: assignment, restock with a blind count and a second signature,
discrepancies (resolved by a pharmacist), returns and waste."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from kiosk.domain.model import Medication
from kiosk.domain.permissions import Permission
from kiosk.i18n import _
from kiosk.services.errors import InvalidInput
from kiosk.services.stock import LaneView, RestockResult
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.widgets import AdaptiveBox, FlowLayout, fill, table
from kiosk.ui.admin.wording import lane_status_text
from kiosk.ui.keyboard import PinField


def _pin_field(title: str) -> PinField:
    """A second person's PIN: the kiosk's PIN pad opens over the page, not the keyboard."""
    field = PinField(title)
    field.setPlaceholderText(_("Second staff member's PIN"))
    return field


class LanesPage(AdminPage):
    key = "lanes"
    order = 30
    permission = Permission.RESTOCK

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        # The table shows no stock count: restocking starts with a blind count.
        self.table = table(
            [_("Lane"), _("Medication"), _("Personal to"), _("State"), _("Discrepancy")],
            stretch=1,
            optional=(4, 2),
        )
        self.lane = QSpinBox()
        self.lane.setRange(1, 64)
        self.counted = QSpinBox()
        self.counted.setRange(0, 10_000)
        self.added = QSpinBox()
        self.added.setRange(0, 10_000)
        self.second_pin = _pin_field(_("Second signature: another staff member's PIN"))
        restock = QPushButton(_("Restock"))
        restock.clicked.connect(lambda _checked=False: self.restock())
        restock_box = QGroupBox(_("Restock: count what is in the lane first"))
        form = QFormLayout(restock_box)
        form.addRow(_("Lane"), self.lane)
        form.addRow(_("Units found in the lane now"), self.counted)
        form.addRow(_("Units added"), self.added)
        form.addRow(_("Second signature"), self.second_pin)
        form.addRow(restock)

        self.reason = QLineEdit()
        self.reason.setPlaceholderText(_("Reason"))
        self.units = QSpinBox()
        self.units.setRange(1, 10_000)
        self.waste_pin = _pin_field(_("Witness: another staff member's PIN"))
        resolve = QPushButton(_("Resolve discrepancy of the lane"))
        resolve.clicked.connect(lambda _checked=False: self.resolve())
        returned = QPushButton(_("Record a return"))
        returned.clicked.connect(lambda _checked=False: self.record("return"))
        wasted = QPushButton(_("Record waste (witnessed)"))
        wasted.clicked.connect(lambda _checked=False: self.record("waste"))
        other_box = QGroupBox(_("Discrepancies, returns and waste"))
        other = QFormLayout(other_box)
        other.addRow(_("Reason"), self.reason)
        other.addRow(_("Units"), self.units)
        other.addRow(_("Witness"), self.waste_pin)
        buttons = FlowLayout()
        for button in (resolve, returned, wasted):
            buttons.addWidget(button)
        other.addRow(buttons)

        self.medication = QComboBox()
        self.locker_code = QLineEdit()
        self.locker_code.setPlaceholderText(_("Participant id for a personal lane (optional)"))
        assign = QPushButton(_("Assign the lane"))
        assign.clicked.connect(lambda _checked=False: self.assign())
        assign_box = QGroupBox(_("Assign a lane (uses Lane and Reason)"))
        assign_layout = AdaptiveBox(assign_box)
        assign_layout.addWidget(self.medication, 1)
        assign_layout.addWidget(self.locker_code, 1)
        assign_layout.addWidget(assign)

        # A fresh install has no medications (a hub sends them with its prescriptions):
        # whoever may write prescriptions adds them here, before a lane can hold one.
        self.medication_box = QGroupBox(_("Add a medication"))
        self.new_medication = QLineEdit()
        self.new_medication.setPlaceholderText(_("Name"))
        self.new_strength = QLineEdit()
        self.new_strength.setPlaceholderText(_("Strength, e.g. 8 mg"))
        self.new_form = QComboBox()
        self.new_form.addItem(_("tablet"), "tablet")
        self.new_form.addItem(_("capsule"), "capsule")
        add_medication = QPushButton(_("Add"))
        add_medication.clicked.connect(lambda _checked=False: self.add_medication())
        medication_row = QHBoxLayout(self.medication_box)
        medication_row.addWidget(self.new_medication, 2)
        medication_row.addWidget(self.new_strength, 1)
        medication_row.addWidget(self.new_form)
        medication_row.addWidget(add_medication)
        self.medication_box.setVisible(ctx.session.can(Permission.EDIT_PRESCRIPTION))

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.medication_box)
        layout.addWidget(assign_box)
        row = AdaptiveBox()
        row.addWidget(restock_box)
        row.addWidget(other_box)
        layout.addLayout(row)
        self._lanes: list[LaneView] = []

    @property
    def title(self) -> str:
        return _("Lanes and stock")

    def activated(self) -> None:
        stock, session = self.ctx.services.stock, self.ctx.session
        self.ctx.run(lambda: stock.lanes(session), self._show)
        self.ctx.run(self.ctx.services.prescriptions.medications, self._show_medications)

    def _show_medications(self, medications: list[Medication]) -> None:
        self.medication.clear()
        for med in medications:
            self.medication.addItem(f"{med.name} {med.strength} {med.form}", med.id)

    def add_medication(self) -> None:
        prescriptions, session = self.ctx.services.prescriptions, self.ctx.session
        name, strength = self.new_medication.text(), self.new_strength.text()
        form = str(self.new_form.currentData())

        def done(_medication_id: object) -> None:
            self.ctx.show_message(
                _("Medication added: {name}.").format(name=f"{name.strip()} {strength.strip()}"),
                False,
            )
            self.new_medication.clear()
            self.new_strength.clear()
            self.activated()

        self.ctx.run(lambda: prescriptions.add_medication(session, name, strength, form), done)

    def assign(self) -> None:
        stock, people, session = (
            self.ctx.services.stock,
            self.ctx.services.participants,
            self.ctx.session,
        )
        lane, reason = self.lane.value(), self.reason.text()
        medication_id = self.medication.currentData()
        code = self.locker_code.text().strip()

        def work() -> object:
            participant_id = None
            if code:
                found = [p for p in people.search(session, code) if p.code == code]
                if not found:
                    raise InvalidInput("participant")
                participant_id = found[0].id
            return stock.assign(session, lane, medication_id, participant_id, reason)

        def done(_view: object) -> None:
            self.ctx.show_message(_("Lane {lane} assigned.").format(lane=lane), False)
            self.activated()

        self.ctx.run(work, done)

    def _show(self, lanes: list[LaneView]) -> None:
        self._lanes = lanes
        fill(
            self.table,
            [
                (
                    lane.lane,
                    lane.medication or _("No medication assigned"),
                    lane.participant_code or _("shared"),
                    lane_status_text(lane.state),
                    lane.discrepancy_id or "",
                )
                for lane in lanes
            ],
        )

    def restock(self) -> None:
        stock, session = self.ctx.services.stock, self.ctx.session
        lane, counted, added = self.lane.value(), self.counted.value(), self.added.value()
        pin = self.second_pin.text()
        self.second_pin.clear()

        def done(result: RestockResult) -> None:
            if result.matches:
                text = _("Restocked lane {lane}: the count matched; {stock} units now.")
            else:
                text = _(
                    "Lane {lane}: counted {counted}, expected {expected}. The lane is "
                    "blocked until a pharmacist resolves the discrepancy."
                )
            self.ctx.show_message(
                text.format(
                    lane=lane, stock=result.stock, counted=counted, expected=result.expected
                ),
                not result.matches,
            )
            self.counted.setValue(0)
            self.added.setValue(0)
            self.activated()

        self.ctx.run(lambda: stock.restock(session, lane, counted, added, pin), done)

    def resolve(self) -> None:
        lane = self.lane.value()
        found = [v.discrepancy_id for v in self._lanes if v.lane == lane and v.discrepancy_id]
        if not found or found[0] is None:
            self.ctx.show_message(_("Lane {lane} has no open discrepancy.").format(lane=lane), True)
            return
        stock, session, reason = self.ctx.services.stock, self.ctx.session, self.reason.text()
        discrepancy = found[0]

        def done(_result: object) -> None:
            self.ctx.show_message(_("Discrepancy resolved."), False)
            self.activated()

        self.ctx.run(lambda: stock.resolve_discrepancy(session, discrepancy, reason), done)

    def record(self, kind: str) -> None:
        stock, session = self.ctx.services.stock, self.ctx.session
        lane, units, reason = self.lane.value(), self.units.value(), self.reason.text()
        pin = self.waste_pin.text()
        self.waste_pin.clear()

        def work() -> object:
            if kind == "return":
                return stock.record_return(session, lane, units, reason)
            return stock.record_waste(session, lane, units, reason, pin)

        def done(_result: object) -> None:
            self.ctx.show_message(_("Recorded."), False)
            self.activated()

        self.ctx.run(work, done)
