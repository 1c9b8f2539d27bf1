"""The prescription form: every field of the rules engine, and why it changes."""

from __future__ import annotations

from datetime import date, time

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from kiosk.domain.model import Medication, Prescription, Window
from kiosk.i18n import _
from kiosk.services.errors import InvalidInput
from kiosk.services.prescriptions import PrescriptionSpec
from kiosk.ui.admin.pages.widgets import picked_day


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def parse_windows(text: str) -> tuple[Window, ...]:
    """'08:00-11:00, 13:00-16:00' into windows (site-local times)."""
    windows = []
    for raw in text.replace(";", ",").split(","):
        part = raw.strip()
        if not part:
            continue
        try:
            start, end = (time.fromisoformat(t.strip()) for t in part.split("-"))
        except ValueError as exc:
            raise InvalidInput("windows", part) from exc
        windows.append(Window(start, end))
    return tuple(windows)


def format_windows(windows: tuple[Window, ...]) -> str:
    return ", ".join(f"{w.start:%H:%M}-{w.end:%H:%M}" for w in windows)


class PrescriptionForm(QWidget):
    def __init__(self, medications: list[Medication], today: date) -> None:
        super().__init__()
        self.medication = QComboBox()
        for med in medications:
            self.medication.addItem(f"{med.name} {med.strength} {med.form}", med.id)
        self.units = QSpinBox()
        self.units.setRange(1, 20)
        self.daily_max = QSpinBox()
        self.daily_max.setRange(1, 200)
        self.start = QDateEdit(_qdate(today))
        self.start.setCalendarPopup(True)
        self.has_end = QCheckBox(_("Has an end date"))
        self.end = QDateEdit(_qdate(today))
        self.end.setCalendarPopup(True)
        self.by_windows = QRadioButton(_("Fixed windows"))
        self.by_interval = QRadioButton(_("Interval"))
        self.by_windows.setChecked(True)
        self.windows = QLineEdit("08:00-11:00, 13:00-16:00, 20:00-23:00")
        self.interval_hours = QSpinBox()
        self.interval_hours.setRange(0, 48)
        self.max_doses = QSpinBox()
        self.max_doses.setRange(1, 24)
        self.accumulate = QCheckBox(_("Missed windows may be picked up later the same day"))
        self.witnessed = QCheckBox(_("Witnessed by a nurse or pharmacist"))
        self.missed_limit = QSpinBox()
        self.missed_limit.setRange(0, 60)
        self.missed_limit.setSpecialValueText(_("site default"))
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(_("Why (required)"))
        form = QFormLayout(self)
        form.addRow(_("Medication"), self.medication)
        form.addRow(_("Units per dose"), self.units)
        form.addRow(_("Daily maximum (units)"), self.daily_max)
        form.addRow(_("First day"), self.start)
        form.addRow(self.has_end, self.end)
        form.addRow(self.by_windows, self.windows)
        form.addRow(self.by_interval, self.interval_hours)
        form.addRow(_("Doses per day (interval)"), self.max_doses)
        form.addRow(self.accumulate)
        form.addRow(self.witnessed)
        form.addRow(_("Hold after days without pickup"), self.missed_limit)
        form.addRow(_("Reason"), self.reason)

    def load(self, rx: Prescription) -> None:
        index = self.medication.findData(rx.medication.id)
        self.medication.setCurrentIndex(max(index, 0))
        self.units.setValue(rx.units_per_dose)
        self.daily_max.setValue(rx.daily_max_units)
        self.start.setDate(_qdate(rx.start_date))
        self.has_end.setChecked(rx.end_date is not None)
        if rx.end_date:
            self.end.setDate(_qdate(rx.end_date))
        self.by_interval.setChecked(rx.is_interval)
        self.by_windows.setChecked(not rx.is_interval)
        self.windows.setText(format_windows(rx.windows))
        self.interval_hours.setValue((rx.interval_minutes or 0) // 60)
        self.max_doses.setValue(rx.max_doses_per_day or 1)
        self.accumulate.setChecked(rx.accumulate)
        self.witnessed.setChecked(rx.witnessed)
        self.missed_limit.setValue(rx.missed_dose_limit or 0)

    def spec(self) -> PrescriptionSpec:
        interval = self.by_interval.isChecked()
        start = picked_day(self.start)
        end = picked_day(self.end) if self.has_end.isChecked() else None
        return PrescriptionSpec(
            medication_id=int(self.medication.currentData()),
            units_per_dose=self.units.value(),
            daily_max_units=self.daily_max.value(),
            start_date=start,
            end_date=end,
            windows=() if interval else parse_windows(self.windows.text()),
            interval_minutes=self.interval_hours.value() * 60 if interval else None,
            max_doses_per_day=self.max_doses.value() if interval else None,
            accumulate=self.accumulate.isChecked(),
            witnessed=self.witnessed.isChecked(),
            missed_dose_limit=self.missed_limit.value() or None,
        )
