"""Staff accounts (admins): add, deactivate, reactivate, set a PIN."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from kiosk.domain.permissions import Permission
from kiosk.i18n import _
from kiosk.services.pin_gate import ALL_ROLES
from kiosk.services.staff import StaffRecord
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.widgets import FlowLayout, fill, table
from kiosk.ui.admin.wording import role_text
from kiosk.ui.keyboard import PinField


class StaffPage(AdminPage):
    key = "staff"
    order = 90
    permission = Permission.MANAGE_STAFF

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.table = table([_("Name"), _("Role"), _("Active")], stretch=0)
        self.name = QLineEdit()
        self.role = QComboBox()
        for role in ALL_ROLES:
            self.role.addItem(role_text(role), role)
        # PINs come from the kiosk's PIN pad, never the on-screen keyboard.
        self.pin = PinField(_("New staff member's PIN (6+ digits)"))
        self.pin_again = PinField(_("The same PIN again"))
        form = QFormLayout()
        form.addRow(_("Name"), self.name)
        form.addRow(_("Role"), self.role)
        form.addRow(_("PIN (6+ digits)"), self.pin)
        form.addRow(_("PIN again"), self.pin_again)
        add = QPushButton(_("Add staff member"))
        add.clicked.connect(lambda _checked=False: self.add())
        toggle = QPushButton(_("Deactivate / reactivate selected"))
        toggle.clicked.connect(lambda _checked=False: self.toggle())
        set_pin = QPushButton(_("Set PIN of selected"))
        set_pin.clicked.connect(lambda _checked=False: self.set_pin())
        buttons = FlowLayout()
        for button in (add, toggle, set_pin):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self._rows: list[StaffRecord] = []

    @property
    def title(self) -> str:
        return _("Staff accounts")

    def activated(self) -> None:
        self.ctx.run(self.ctx.services.staff.staff, self._show)

    def _show(self, rows: list[StaffRecord]) -> None:
        self._rows = rows
        fill(
            self.table,
            [(r.name, role_text(r.role), _("yes") if r.active else _("no")) for r in rows],
        )

    def _pin(self) -> str | None:
        pin, again = self.pin.text(), self.pin_again.text()
        self.pin.clear()
        self.pin_again.clear()
        if pin != again:
            self.ctx.show_message(_("The two PINs differ."), True)
            return None
        return pin

    def add(self) -> None:
        pin = self._pin()
        if pin is None:
            return
        name, role = self.name.text(), str(self.role.currentData())
        staff, session = self.ctx.services.staff, self.ctx.session

        def done(_result: object) -> None:
            self.name.clear()
            self.ctx.show_message(_("Staff member added."), False)
            self.activated()

        self.ctx.run(lambda: staff.add(session, name, role, pin), done)

    def _selected(self) -> StaffRecord | None:
        row = self.table.currentRow()
        if not 0 <= row < len(self._rows):
            self.ctx.show_message(_("Select a staff member first."), True)
            return None
        return self._rows[row]

    def toggle(self) -> None:
        record = self._selected()
        if record is None:
            return
        staff, session = self.ctx.services.staff, self.ctx.session
        self.ctx.run(
            lambda: staff.set_active(session, record.id, not record.active),
            lambda _r: self.activated(),
        )

    def set_pin(self) -> None:
        record = self._selected()
        pin = self._pin()
        if record is None or pin is None:
            return
        staff, session = self.ctx.services.staff, self.ctx.session
        self.ctx.run(
            lambda: staff.change_pin(session, record.id, pin),
            lambda _r: self.ctx.show_message(_("PIN changed."), False),
        )
