"""Device status, lane states, self-test, reload the sensor from the store."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from kiosk.domain.model import LaneStatus
from kiosk.domain.permissions import Permission
from kiosk.i18n import _
from kiosk.services.errors import InvalidInput
from kiosk.services.health import HealthReport, SelfTestRow
from kiosk.services.updates.facade import SoftwareStatus, UsbOutcome, UsbResult
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.widgets import FlowLayout, fill, table
from kiosk.ui.admin.wording import (
    lane_status_text,
    selftest_detail_text,
    selftest_part_text,
    software_text,
    usb_result_text,
)
from kiosk.ui.texts import fault_text


class HardwarePage(AdminPage):
    key = "hardware"
    order = 70
    permission = Permission.HARDWARE

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self._faults: list[str] | None = None  # from the last health check
        self._assigned: int | None = None  # lanes holding a medication
        self.checks = table([_("Part"), _("OK"), _("Detail")], stretch=2)
        self.lanes = table([_("Lane"), _("Medication"), _("State")], stretch=1)
        run = QPushButton(_("Run self-test"))
        run.clicked.connect(lambda _checked=False: self.run_selftest())
        reload_button = QPushButton(_("Reload sensor from the store"))
        reload_button.clicked.connect(lambda _checked=False: self.reload_sensor())
        self.folder = QLineEdit("/media")
        diagnostics = QPushButton(_("Write diagnostics to folder"))
        diagnostics.clicked.connect(lambda _checked=False: self.write_diagnostics())
        self.update_button = QPushButton(_("Install update from USB"))
        self.update_button.clicked.connect(lambda _checked=False: self.install_update())
        self.software = QLabel("")
        self.software.setWordWrap(True)
        buttons = FlowLayout()
        buttons.addWidget(run)
        buttons.addWidget(reload_button)
        buttons.addWidget(self.update_button)  # from the folder below (a USB stick)
        usb = QHBoxLayout()
        usb.addWidget(self.folder, 1)
        usb.addWidget(diagnostics)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.software)
        layout.addLayout(buttons)
        layout.addLayout(usb)
        layout.addWidget(self.checks, 1)
        layout.addWidget(self.lanes, 1)

    @property
    def title(self) -> str:
        return _("Hardware")

    def activated(self) -> None:
        health = self.ctx.services.health
        self._faults = None
        self._assigned = None
        self.ctx.run(health.check, self._show_health)
        self.ctx.run(health.lanes_view, self._show_lanes)
        software = self.ctx.services.software
        self.update_button.setVisible(software is not None)
        if software is not None:
            self.ctx.run(software.status, self._show_software)

    def _show_software(self, status: SoftwareStatus) -> None:
        self.software.setText(software_text(status, self.ctx.site.timezone))
        self.update_button.setEnabled(status.updates_on)

    def install_update(self) -> None:
        """The release repository copy in the folder above (a USB stick), verified against
        the trusted root already on this kiosk; the switch waits for a quiet moment."""
        software = self.ctx.services.software
        if software is None:
            return
        folder = Path(self.folder.text().strip() or "/media")

        def done(result: UsbResult) -> None:
            self.ctx.show_message(
                usb_result_text(result),
                result.outcome not in (UsbOutcome.STAGED, UsbOutcome.NOTHING_NEWER),
            )
            self.ctx.run(software.status, self._show_software)

        self.ctx.run(lambda: software.install_from_folder(folder), done)

    def _show_health(self, report: HealthReport) -> None:
        self._faults = sorted(f.value for f in report.faults)
        self._show_status()

    def _show_lanes(self, lanes: list[tuple[int, str | None, LaneStatus]]) -> None:
        no_medication = _("No medication assigned")
        fill(
            self.lanes,
            [(lane, name or no_medication, lane_status_text(state)) for lane, name, state in lanes],
        )
        self._assigned = sum(1 for _lane, name, _state in lanes if name)
        self._show_status()

    def _show_status(self) -> None:
        """Ready only when the devices are well and at least one lane holds a medication."""
        if self._faults is None or self._assigned is None:
            return
        faults = self._faults
        if not self._assigned:
            # Why no lane can serve (no_ready_lane): the sentence below says it and the fix.
            faults = [fault for fault in faults if fault != "no_ready_lane"]
        if faults:
            text = _("Out of service: {faults}").format(faults=" ".join(map(fault_text, faults)))
        elif not self._assigned:
            text = _(
                "No lane has a medication yet: nothing can be served. Assign lanes and load"
                " stock on the Lanes and stock page."
            )
        else:
            text = _("Ready to serve.")
        self.status.setText(text)

    def run_selftest(self) -> None:
        actor = self.ctx.session.actor
        self.ctx.run(lambda: self.ctx.services.health.selftest(actor), self._show_checks)

    def _show_checks(self, rows: list[SelfTestRow]) -> None:
        fill(
            self.checks,
            [
                (selftest_part_text(r.part), _("yes") if r.ok else _("NO"), selftest_detail_text(r))
                for r in rows
            ],
        )
        failed = [selftest_part_text(r.part) for r in rows if not r.ok]
        self.ctx.show_message(
            _("Self-test passed.")
            if not failed
            else _("Self-test failed: {parts}").format(parts=", ".join(failed)),
            bool(failed),
        )

    def write_diagnostics(self) -> None:
        folder = Path(self.folder.text().strip() or "/media")
        session = self.ctx.session

        def work() -> Path:
            if not folder.is_dir():
                raise InvalidInput("folder")
            try:
                path = self.ctx.services.diagnostics.write(session.actor, folder)
            except OSError as exc:
                raise InvalidInput("folder", exc.strerror or "") from exc
            return path

        self.ctx.run(
            work,
            lambda path: self.ctx.show_message(
                _("Written: {files}").format(files=path.name), False
            ),
        )

    def reload_sensor(self) -> None:
        def done(count: int) -> None:
            self.ctx.show_message(
                _("{count} templates loaded into the sensor.").format(count=count), False
            )

        participants, session = self.ctx.services.participants, self.ctx.session
        self.ctx.run(lambda: participants.reload_sensor(session), done)
