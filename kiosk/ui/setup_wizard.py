"""The first-run setup wizard: language, site, time, devices, lanes, hub, data folder, first
admin, summary; once set up, the next steps and where in the staff panel each is done.

Pages in a QStackedWidget with big Back/Next buttons. Device work and the final setup run
on the Backend thread; SetupService (kiosk/services/setup.py) does the checking and making.
Text fields open the on-screen keyboard; the PINs come from the kiosk's PIN pad
(kiosk/ui/keyboard.py). The PIN leaves the fields as soon as the setup is done and is never
shown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QCompleter,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import ENDONYMS, PARTICIPANT_LOCALES, _, current_locale
from kiosk.services.config import Config
from kiosk.services.setup import (
    MIN_FREE_MB,
    DeviceResult,
    SetupAnswers,
    SetupError,
    SetupService,
    check_admin,
    check_data_dir,
    check_hub,
    check_lanes,
    check_ports,
    check_site,
    check_time,
    default_data_dir,
    timezones,
)
from kiosk.ui.admin.panel import ADMIN_STYLE
from kiosk.ui.background import Backend
from kiosk.ui.keyboard import PinField

WIZARD_STYLE = (
    ADMIN_STYLE
    + """
QWidget#setupRoot { background: #101418; }
QWidget#setupRoot QLabel { color: #FFFFFF; font-size: 18pt; }
QLabel#setupTitle { font-size: 26pt; font-weight: 600; }
QLabel#setupMessage { color: #FFD84D; }
QPushButton:checked { background: #FFD84D; color: #000000; }
QRadioButton::indicator { width: 32px; height: 32px; }
"""
)


def _error_words(error: SetupError) -> str:
    words = {
        "language": _("Choose one of the offered languages."),
        "site_name": _("Enter the name of this site."),
        "timezone": _("Choose a time zone from the list."),
        "day_start_hour": _("The dosing day must start at an hour from 0 to 23."),
        "sensor_port": _("Choose the port of the fingerprint sensor."),
        "controller_port": _("Choose the port of the dispenser."),
        "same_port": _("The sensor and the dispenser cannot use the same port."),
        "lanes": _("The number of lanes must be between 1 and 64."),
        "hub_url": _("Enter the hub address, starting with https://."),
        "hub_code": _("Enter the enrollment code the hub gave you."),
        "data_dir": _("Enter the full path of a folder, starting with /."),
        "data_dir_file": _("That path is a file, not a folder. Choose a folder."),
        "data_dir_writable": _(
            "The kiosk cannot write in that folder. Choose another, or let a technician give"
            " the kiosk's user the right to write there."
        ),
        "data_dir_space": _(
            "That disk has too little free space: the kiosk needs at least {mb} MB."
        ).format(mb=MIN_FREE_MB),
        "admin_name": _("Enter the administrator's name."),
        "pin_short": _("The PIN must have at least 6 digits."),
        "pin_trivial": _("That PIN is too easy to guess. Choose another."),
        "pin_mismatch": _("The two PINs are not the same. Enter them again."),
        "config_exists": _("This kiosk is already set up: a configuration file exists."),
        "data_exists": _("This kiosk already holds a database. Setup will not replace it."),
        "key_exists": _("A database key already exists. Setup will not replace it."),
        "data": _("The kiosk's data could not be created. Check the disk and try again."),
        "write_config": _("The configuration could not be saved. Check the disk and try again."),
        "config": _("These settings cannot be used. Check each page."),
    }
    return words.get(error.code, _("Setup could not finish. Check each page and try again."))


def _button(text: str, handler: Callable[[], None]) -> QPushButton:
    button = QPushButton(text)
    button.setMinimumHeight(64)
    button.setMinimumWidth(160)
    button.clicked.connect(handler)
    return button


class _PortRow(QWidget):
    """A port combo, a Test button and the one-line result of the last test."""

    def __init__(self, test: Callable[[_PortRow], None]) -> None:
        super().__init__()
        self.combo = QComboBox()
        self.combo.setEditable(True)  # a port the list does not show can be typed
        self.combo.setMinimumHeight(64)
        self.test_button = _button(_("Test"), lambda: test(self))
        self.result = QLabel("")
        self.result.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.combo, 1)
        row.addWidget(self.test_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.result)

    def fill(self, ports: list[tuple[str, str]]) -> None:
        chosen = self.port()
        self.combo.clear()
        for device, description in ports:
            self.combo.addItem(device, device)
            if description:
                self.combo.setItemData(
                    self.combo.count() - 1, description, Qt.ItemDataRole.ToolTipRole
                )
        if chosen:
            self.select(chosen)
        else:
            self.combo.setCurrentIndex(-1)

    def select(self, port: str) -> None:
        index = self.combo.findData(port)
        if index >= 0:
            self.combo.setCurrentIndex(index)
        else:
            self.combo.setEditText(port)

    def port(self) -> str:
        return self.combo.currentText().strip()


class SetupWizard(QWidget):
    finished_setup = Signal(object)  # the Config written
    cancelled = Signal()

    def __init__(
        self,
        service: SetupService,
        backend: Backend,
        *,
        config_path: Path | None = None,
        data_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("setupRoot")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(WIZARD_STYLE)
        self.setWindowTitle(_("Kiosk setup"))
        self._service = service
        self._backend = backend
        self._config_path = config_path
        self._data_dir = data_dir
        self._language = current_locale() if current_locale() in PARTICIPANT_LOCALES else "en"
        self._lanes_read: int | None = None
        self._busy = False
        self._done = False
        self._pending_config: Config | None = None

        self.title = QLabel("")
        self.title.setObjectName("setupTitle")
        self.stack = QStackedWidget()
        self.message = QLabel("")
        self.message.setObjectName("setupMessage")
        self.message.setWordWrap(True)
        self.back_button = _button(_("Back"), self._back)
        self.next_button = _button(_("Next"), self._next)
        self.finish_button = _button(_("Finish setup"), self._finish)
        self.continue_button = _button(_("Start the kiosk"), self._continue)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        for button in (self.next_button, self.finish_button, self.continue_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.addWidget(self.title)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

        self._titles: list[str] = []
        self._checks: list[Callable[[], None]] = []
        self._add(_("Language"), self._language_page(), lambda: None)
        self._add(_("Site"), self._site_page(), lambda: check_site(self.site_name.text()))
        self._add(_("Time"), self._time_page(), self._check_time)
        self._add(_("Devices"), self._ports_page(), self._check_ports)
        self.lanes_page = self._lanes_page()
        self._add(_("Lanes"), self.lanes_page, lambda: check_lanes(self.lane_count.value()))
        self._add(_("Central hub"), self._hub_page(), self._check_hub)
        self.data_page = self._data_page()
        self._add(_("Data folder"), self.data_page, self._check_data)
        self._add(_("First administrator"), self._admin_page(), self._check_admin)
        self._add(_("Summary"), self._summary_page(), lambda: None)
        self._summary_index = self.stack.count() - 1
        # Shown once the kiosk is set up; not reached with Next.
        self.next_steps_page = self._next_steps_page()
        self.stack.addWidget(self.next_steps_page)
        self._show_page(0)

    # ------------------------------------------------------------ pages

    def _add(self, title: str, page: QWidget, check: Callable[[], None]) -> None:
        self._titles.append(title)
        self._checks.append(check)
        self.stack.addWidget(page)

    def _language_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel(_("Which language should the kiosk speak first?")))
        self.language_group = QButtonGroup(page)
        self.language_buttons: dict[str, QPushButton] = {}
        for locale in PARTICIPANT_LOCALES:
            button = QPushButton(ENDONYMS.get(locale, locale))
            button.setCheckable(True)
            button.setMinimumHeight(64)
            button.setChecked(locale == self._language)
            button.clicked.connect(lambda _checked=False, chosen=locale: self._choose(chosen))
            self.language_group.addButton(button)
            self.language_buttons[locale] = button
            layout.addWidget(button)
        layout.addStretch(1)
        return page

    def _site_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.site_name = QLineEdit()
        self.site_name.setMaxLength(80)
        form.addRow(QLabel(_("Site name")), self.site_name)
        return page

    def _time_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.timezone = QComboBox()
        self.timezone.setEditable(True)
        self.timezone.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.timezone.addItems(timezones())
        completer = QCompleter(self.timezone.model(), self.timezone)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.timezone.setCompleter(completer)
        self.timezone.setCurrentIndex(0)
        self.day_start = QSpinBox()
        self.day_start.setRange(0, 23)
        self.day_start.setValue(4)
        self.day_start.setSuffix(":00")
        form.addRow(QLabel(_("Time zone")), self.timezone)
        form.addRow(QLabel(_("The dosing day starts at")), self.day_start)
        return page

    def _ports_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.sensor_row = _PortRow(self._test_port)
        self.controller_row = _PortRow(self._test_port)
        layout.addWidget(QLabel(_("Fingerprint sensor port")))
        layout.addWidget(self.sensor_row)
        layout.addWidget(QLabel(_("Dispenser port")))
        layout.addWidget(self.controller_row)
        self.refresh_button = _button(_("Look for ports again"), self.refresh_ports)
        layout.addWidget(self.refresh_button)
        layout.addStretch(1)
        self.refresh_ports()
        return page

    def _lanes_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.lanes_note = QLabel("")
        self.lanes_note.setWordWrap(True)
        self.lane_count = QSpinBox()
        self.lane_count.setRange(1, 64)
        self.lane_count.setValue(4)
        form.addRow(self.lanes_note)
        form.addRow(QLabel(_("Number of lanes")), self.lane_count)
        return page

    def _hub_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.offline_choice = QRadioButton(_("Stay offline (no central hub)"))
        self.hub_choice = QRadioButton(_("Connect to a central hub"))
        self.offline_choice.setChecked(True)
        self.hub_url = QLineEdit()
        self.hub_url.setPlaceholderText("https://")
        self.hub_code = QLineEdit()
        form = QFormLayout()
        form.addRow(QLabel(_("Hub address")), self.hub_url)
        form.addRow(QLabel(_("Enrollment code")), self.hub_code)
        self.hub_choice.toggled.connect(self._hub_toggled)
        self._hub_toggled(False)
        layout.addWidget(self.offline_choice)
        layout.addWidget(self.hub_choice)
        layout.addLayout(form)
        layout.addStretch(1)
        return page

    def _data_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        intro = QLabel(
            _(
                "The kiosk keeps its database, its key file, its logs and the hub credentials"
                " in this folder. Keep the proposed folder unless a technician says otherwise."
            )
        )
        intro.setWordWrap(True)
        self.data_folder = QLineEdit(str(self._data_dir or default_data_dir()))
        self.data_folder.setInputMethodHints(
            Qt.InputMethodHint.ImhNoAutoUppercase | Qt.InputMethodHint.ImhNoPredictiveText
        )
        self.data_note = QLabel("")
        self.data_note.setWordWrap(True)
        self.data_folder.editingFinished.connect(self._show_data_note)
        layout.addWidget(intro)
        layout.addWidget(QLabel(_("Data folder")))
        layout.addWidget(self.data_folder)
        layout.addWidget(self.data_note)
        layout.addStretch(1)
        return page

    def _admin_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.admin_name = QLineEdit()
        self.admin_name.setMaxLength(80)
        # PINs come from the kiosk's PIN pad, never from the on-screen keyboard.
        self.admin_pin = PinField(_("The first administrator's PIN (at least 6 digits)"))
        self.admin_pin_again = PinField(_("The same PIN again"))
        form.addRow(QLabel(_("Name")), self.admin_name)
        form.addRow(QLabel(_("PIN (at least 6 digits)")), self.admin_pin)
        form.addRow(QLabel(_("PIN again")), self.admin_pin_again)
        return page

    def _next_steps_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.next_steps = QLabel("")
        self.next_steps.setWordWrap(True)
        self.next_steps.setTextFormat(Qt.TextFormat.PlainText)
        self.next_steps.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.next_steps)
        layout.addStretch(1)
        return page

    def _summary_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.summary)
        layout.addStretch(1)
        return page

    # ------------------------------------------------------------ navigation

    def _show_page(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.title.setText(self._titles[index])
        self.message.setText("")
        last = index == self._summary_index
        self.back_button.setEnabled(index > 0)
        self.next_button.setVisible(not last)
        self.finish_button.setVisible(last)
        self.continue_button.setVisible(False)
        if self.stack.currentWidget() is self.lanes_page:
            self._read_lanes()
        if self.stack.currentWidget() is self.data_page:
            self._show_data_note()
        if last:
            self.summary.setText(self._summary_text())

    def _back(self) -> None:
        if self._busy:
            return
        self._show_page(max(0, self.stack.currentIndex() - 1))

    def _next(self) -> None:
        if self._busy:
            return
        index = self.stack.currentIndex()
        try:
            self._checks[index]()
        except SetupError as error:
            self.message.setText(_error_words(error))
            return
        self._show_page(index + 1)

    def _choose(self, locale: str) -> None:
        self._language = locale
        for code, button in self.language_buttons.items():
            button.setChecked(code == locale)

    # ------------------------------------------------------------ checks

    def _check_time(self) -> None:
        check_time(self.timezone.currentText().strip(), self.day_start.value())

    def _check_ports(self) -> None:
        check_ports(self.sensor_row.port(), self.controller_row.port())

    def _check_hub(self) -> None:
        if self.hub_choice.isChecked():
            check_hub(self.hub_url.text(), self.hub_code.text())

    def _data_path(self) -> Path | None:
        text = self.data_folder.text().strip()
        return Path(text).expanduser() if text else None

    def _check_data(self) -> None:
        self._show_data_note()
        check_data_dir(self.data_folder.text())

    def _show_data_note(self) -> None:
        """Under the data folder: its free space, or what is wrong with it."""
        try:
            free_mb = check_data_dir(self.data_folder.text())
        except SetupError as error:
            self.data_note.setText(_error_words(error))
            return
        self.data_note.setText(_("Free space there: {gb} GB.").format(gb=f"{free_mb / 1024:.1f}"))

    def _check_admin(self) -> None:
        check_admin(self.admin_name.text(), self.admin_pin.text(), self.admin_pin_again.text())

    def _hub_toggled(self, on: bool) -> None:
        self.hub_url.setEnabled(on)
        self.hub_code.setEnabled(on)

    # ------------------------------------------------------------ devices

    def refresh_ports(self) -> None:
        ports = self._service.ports()
        self.sensor_row.fill(ports)
        self.controller_row.fill(ports)

    def _test_port(self, row: _PortRow) -> None:
        port = row.port()
        if not port:
            row.result.setText(_("Choose a port first."))
            return
        sensor = row is self.sensor_row
        row.test_button.setEnabled(False)
        row.result.setText(_("Testing…"))
        work = self._service.test_sensor if sensor else self._service.test_controller
        self._backend.submit(
            lambda: work(port),
            lambda result: self._tested(row, result),
            lambda exc: self._tested(row, DeviceResult(False, type(exc).__name__, {})),
        )

    def _tested(self, row: _PortRow, result: DeviceResult) -> None:
        row.test_button.setEnabled(True)
        if result.ok:
            row.result.setText(_("OK: the device answers."))
        else:
            row.result.setText(_("Failed: {detail}").format(detail=result.message))

    def _read_lanes(self) -> None:
        port = self.controller_row.port()
        self.lanes_note.setText(_("Asking the dispenser how many lanes it has…"))
        self.lane_count.setEnabled(False)
        self._busy = True
        self._backend.submit(
            lambda: self._service.lanes(port), self._lanes_done, lambda exc: self._lanes_done(None)
        )

    def _lanes_done(self, lanes: int | None) -> None:
        self._busy = False
        self._lanes_read = lanes
        if lanes is not None:
            self.lane_count.setValue(lanes)
            self.lane_count.setEnabled(False)
            self.lanes_note.setText(_("The dispenser reports {n} lanes.").format(n=lanes))
        else:
            self.lane_count.setEnabled(True)
            self.lanes_note.setText(
                _("The dispenser did not say how many lanes it has. Enter the number.")
            )

    # ------------------------------------------------------------ finish

    def answers(self) -> SetupAnswers:
        hub = self.hub_choice.isChecked()
        return SetupAnswers(
            language=self._language,
            site_name=self.site_name.text(),
            timezone=self.timezone.currentText().strip(),
            day_start_hour=self.day_start.value(),
            sensor_port=self.sensor_row.port(),
            controller_port=self.controller_row.port(),
            lanes=self.lane_count.value(),
            admin_name=self.admin_name.text(),
            admin_pin=self.admin_pin.text(),
            admin_pin_again=self.admin_pin_again.text(),
            hub_url=self.hub_url.text().strip() if hub else "",
            hub_enrollment_code=self.hub_code.text().strip() if hub else "",
            data_dir=self._data_path(),
            config_path=self._config_path,
        )

    def _summary_text(self) -> str:
        answers = self.answers()
        hub = answers.hub_url or _("none (offline)")
        lines = [
            _("Language: {value}").format(value=ENDONYMS.get(answers.language, answers.language)),
            _("Site: {value}").format(value=answers.site_name.strip()),
            _("Time zone: {value}").format(value=answers.timezone),
            _("Dosing day starts at {hour}:00").format(hour=answers.day_start_hour),
            _("Fingerprint sensor: {value}").format(value=answers.sensor_port),
            _("Dispenser: {value}").format(value=answers.controller_port),
            _("Lanes: {n}").format(n=answers.lanes),
            _("Central hub: {value}").format(value=hub),
            _("Data folder: {value}").format(value=answers.data_dir or ""),
            _("First administrator: {value}").format(value=answers.admin_name.strip()),
        ]
        return "\n".join(lines)

    def _finish(self) -> None:
        if self._busy or self._done:
            return
        answers = self.answers()
        self._busy = True
        self.finish_button.setEnabled(False)
        self.back_button.setEnabled(False)
        self.message.setText(_("Setting up the kiosk…"))

        def work() -> Config:
            try:
                return self._service.finish(answers)
            finally:
                answers.forget_secrets()  # the PIN lives no longer than the setup needs it

        self._backend.submit(work, self._finished, self._failed)

    def _clear_secrets(self) -> None:
        for field in (self.admin_pin, self.admin_pin_again, self.hub_code):
            field.clear()

    def _finished(self, config: Config) -> None:
        """Set up: the next steps page, then "Start the kiosk" hands the Config over."""
        self._busy = False
        self._done = True
        self._clear_secrets()
        self._pending_config = config
        problem = self._service.hub_problem
        if problem:
            self.message.setText(
                _(
                    "The kiosk is set up, but it could not join the hub: {problem}. It works"
                    " offline; a technician can add a new enrollment code later."
                ).format(problem=problem)
            )
        else:
            self.message.setText(_("The kiosk is set up."))
        self.stack.setCurrentWidget(self.next_steps_page)
        self.title.setText(_("Next steps"))
        self.next_steps.setText(self._next_steps_text(config))
        self.back_button.setEnabled(False)
        self.finish_button.setVisible(False)
        self.continue_button.setVisible(True)

    def _next_steps_text(self, config: Config) -> str:
        """What a fresh kiosk still needs before it serves anyone, and where each is done."""
        key = self._service.key_path
        hub = (
            _(
                "Hub: this kiosk is connected. Participants and prescriptions entered on the"
                " hub arrive by themselves; see their state on the Sync page."
            )
            if config.hub_url and not self._service.hub_problem
            else _(
                "Hub (optional): to connect one later, a technician adds its address and a new"
                " enrollment code to the configuration file ([hub] url and enrollment_code);"
                " the Sync page then shows its state."
            )
        )
        steps = [
            _(
                "Open the staff panel: hold the top-right corner of the start screen for 2"
                " seconds, then enter your PIN."
            ),
            _(
                "1. Staff accounts page: add the staff. A restock needs a second person's PIN,"
                " and only a pharmacist or prescriber enters prescriptions and medications."
            ),
            _(
                "2. Lanes and stock page: add the medications (pharmacist), assign each lane"
                " a medication, then restock it with a second person's PIN."
            ),
            _("3. Participants page: add each participant and enroll two fingers."),
            _(
                "4. Participants page, pharmacist or prescriber: enter each participant's"
                " prescriptions."
            ),
            "5. " + hub,
            _("The Hardware page says when the kiosk is ready to serve."),
        ]
        if key is not None:
            steps.append(
                _(
                    "The database key is {path}. Without it the data cannot be read: move it"
                    " where only root reads it, as docs/INSTALL.md says."
                ).format(path=key)
            )
        return "\n\n".join(steps)

    def _continue(self) -> None:
        """Leave the next steps page: the kiosk starts on the Config written."""
        if self._pending_config is not None:
            config, self._pending_config = self._pending_config, None
            self.finished_setup.emit(config)

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        self.finish_button.setEnabled(True)
        self.back_button.setEnabled(True)
        if isinstance(exc, SetupError):
            self.message.setText(_error_words(exc))
        else:
            self.message.setText(_("Setup could not finish. Check each page and try again."))

    def closeEvent(self, event: QCloseEvent) -> None:
        self._clear_secrets()
        if not self._done:
            self.cancelled.emit()
        super().closeEvent(event)


def run_setup_wizard(
    config_path: Path, *, windowed: bool, data_dir: Path | None = None
) -> Config | None:
    """Show the wizard until the kiosk is set up (the Config) or the window is closed."""
    from PySide6.QtCore import QEventLoop, QSize

    from kiosk.ui import theme
    from kiosk.ui.screen_fit import ScreenFit

    app = theme.application(keyboard=True)  # palette, style, fonts; the on-screen keyboard
    backend = Backend()
    wizard = SetupWizard(SetupService(), backend, config_path=config_path, data_dir=data_dir)
    result: list[Config] = []
    loop = QEventLoop()

    def done(config: Config) -> None:
        result.append(config)
        loop.quit()

    wizard.finished_setup.connect(done)
    wizard.cancelled.connect(loop.quit)
    ScreenFit(wizard, fullscreen=not windowed, windowed=QSize(1024, 768)).show()
    loop.exec()
    wizard.hide()
    backend.shutdown()
    wizard.deleteLater()
    del app
    return result[0] if result else None
