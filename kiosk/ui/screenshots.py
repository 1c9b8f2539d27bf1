"""``make screenshots``: render the participant screens offscreen into PNG files."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from kiosk.domain import flow
from kiosk.domain.dosing import RefusalReason, Refused
from kiosk.domain.flow import DoseLine, ErrorKind
from kiosk.domain.model import SiteClock
from kiosk.i18n import PARTICIPANT_LOCALES, set_locale
from kiosk.ui.screens import ParticipantView

SITE = SiteClock("America/Vancouver", 4)
NOW = datetime(2026, 6, 10, 18, 30, tzinfo=UTC)  # 11:30 in Vancouver
LINE = DoseLine("hydromorphone", "8 mg", "tablet", 2)
PORTRAIT = (1080, 1920)


def states() -> dict[str, flow.FlowState]:
    idle = flow.initial("en")
    deciding = flow.step(flow.step(idle, flow.FingerDetected()), flow.Identified(1))
    dispensing = flow.step(deciding, flow.DoseAllowed((LINE,)))
    too_early = Refused(
        1, RefusalReason.TOO_EARLY, next_eligible=NOW + timedelta(hours=2, minutes=30)
    )
    return {
        "idle": idle,
        "identifying": flow.step(idle, flow.FingerDetected()),
        "witness": flow.step(deciding, flow.DoseAllowed((LINE,), witness=True)),
        "dispensing": flow.step(dispensing, flow.UnitDropped(0, 1)),
        "done": flow.step(dispensing, flow.DispenseFinished((2,))),
        "partial": flow.step(dispensing, flow.DispenseFinished((1,))),
        "too_early": flow.step(deciding, flow.DoseRefused(too_early)),
        "see_staff": flow.step(deciding, flow.DoseRefused(Refused(1, RefusalReason.ON_HOLD))),
        "not_recognised": flow.step(flow.step(idle, flow.FingerDetected()), flow.NotRecognised()),
        "error_out_of_service": flow.step(idle, flow.Fault(ErrorKind.OUT_OF_SERVICE)),
        "out_of_service": flow.step(idle, flow.ServiceLost(("controller", "sensor"))),
        "out_of_service_door": flow.step(idle, flow.ServiceLost(("door_opened",), True)),
    }


def render_all(out: Path, locales: tuple[str, ...] = PARTICIPANT_LOCALES) -> list[Path]:
    app = QApplication.instance() or QApplication(sys.argv)
    written = []
    for locale in locales:
        set_locale(locale)
        folder = out / locale
        folder.mkdir(parents=True, exist_ok=True)
        for name, state in states().items():
            view = ParticipantView(lambda _event: None)
            view.resize(*PORTRAIT)
            view.show_state(replace(state, locale=locale), NOW, SITE)
            view.show()
            app.processEvents()
            path = folder / f"{name}.png"
            view.grab().save(str(path))
            view.close()
            view.deleteLater()
            written.append(path)
    set_locale("en")
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    for path in render_all(target):
        print(path)
