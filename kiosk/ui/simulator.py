"""Demo mode's second window: a person plays the devices (finger, jam, door)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from hardware.emulators.controller import ControllerEmulator
from hardware.emulators.fingerprint import FingerprintEmulator, new_finger
from kiosk.services.seed import DEMO_PARTICIPANTS

MAX_NEW_FINGERS = 20


class SimulatorWindow(QWidget):
    """Talks only to the emulators' control API; the kiosk sees real wire traffic."""

    def __init__(
        self, sensor_emulator: FingerprintEmulator, controller_emulator: ControllerEmulator
    ) -> None:
        super().__init__()
        self.sensor = sensor_emulator
        self.controller = controller_emulator
        self.setWindowTitle("Simulator (demo hardware)")
        self.buttons: dict[str, QPushButton] = {}
        layout = QVBoxLayout(self)

        finger = QGroupBox("Fingerprint sensor")
        finger_layout = QVBoxLayout(finger)
        self.participant = QComboBox()
        for person in DEMO_PARTICIPANTS:
            self.participant.addItem(
                f"{person.code} {person.name}: {person.story}", person.finger_key
            )
        finger_layout.addWidget(self.participant)
        finger_layout.addWidget(self._button("Place enrolled finger", self.place_enrolled))
        finger_layout.addWidget(self._button("Place unknown finger", self.place_unknown))
        # Distinct fingers nobody has enrolled: enroll one, then the next (two fingers of one
        # person, or a second person). Each number is always the same finger.
        self.new_finger = QSpinBox()
        self.new_finger.setRange(1, MAX_NEW_FINGERS)
        self.new_finger.setPrefix("New finger ")
        finger_layout.addWidget(self.new_finger)
        finger_layout.addWidget(self._button("Place new finger", self.place_new))
        finger_layout.addWidget(self._button("Next new finger", self.next_new))
        finger_layout.addWidget(self._button("Place smudged finger", self.place_poor))
        finger_layout.addWidget(self._button("Lift finger", self.sensor.lift_finger))
        layout.addWidget(finger)

        machine = QGroupBox("Dispenser")
        machine_layout = QVBoxLayout(machine)
        self.lane = QSpinBox()
        self.lane.setRange(1, 4)
        self.lane.setPrefix("Lane ")
        machine_layout.addWidget(self.lane)
        machine_layout.addWidget(self._button("Jam the next vend on this lane", self.jam))
        machine_layout.addWidget(self._button("Clear the jam (physically)", self.clear_jam))
        machine_layout.addWidget(self._button("Open service door", self.controller.open_door))
        machine_layout.addWidget(self._button("Close service door", self.controller.close_door))
        layout.addWidget(machine)
        self.status = QLabel("")
        layout.addWidget(self.status)

    def _button(self, text: str, action: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        self.buttons[text] = button
        button.clicked.connect(lambda _checked=False: action())
        return button

    def place_enrolled(self) -> None:
        key = str(self.participant.currentData())
        self.sensor.place_finger(key)
        self.status.setText(f"finger of {key.split('/', maxsplit=1)[0]} on the sensor")

    def place_unknown(self) -> None:
        self.sensor.place_finger("visitor/unknown-finger")
        self.status.setText("an unknown finger on the sensor")

    def place_new(self) -> None:
        number = self.new_finger.value()
        self.sensor.place_finger(new_finger(number))
        self.status.setText(f"new finger {number} on the sensor")

    def next_new(self) -> None:
        """Lift the finger and get the next new one ready (the next press is another finger)."""
        self.sensor.lift_finger()
        self.new_finger.stepUp()
        self.status.setText(f"new finger {self.new_finger.value()} is next")

    def place_poor(self) -> None:
        key = str(self.participant.currentData())
        self.sensor.place_finger(key, quality="poor")
        self.status.setText("a smudged finger on the sensor")

    def jam(self) -> None:
        self.controller.force_jam(self.lane.value())
        self.status.setText(f"lane {self.lane.value()} will jam")

    def clear_jam(self) -> None:
        self.controller.clear_jam(self.lane.value())
        self.status.setText(f"lane {self.lane.value()} cleared")
