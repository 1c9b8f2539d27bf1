"""Watches the screen for the moment a software update may act (docs/UPDATES.md).

Every few seconds: the first time the kiosk stands at healthy idle (the idle screen, no fault:
the boot self-test passed, devices, store and clock are fine) a version just switched to is
confirmed healthy; and a staged release is switched to when the screen is idle, nobody is
mid-flow and the agent's other rules hold (no open vend, trusted clock, maintenance hours).
The switch ends the application with exit code 75; the launcher starts the new version.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from kiosk.domain.flow import Screen
from kiosk.services.updates import SWITCH_EXIT_CODE, ScreenState, UpdateAgent
from kiosk.store.db import Connection
from kiosk.ui.flow_driver import FlowDriver

log = logging.getLogger("kiosk.updates")

CHECK_MS = 5_000
QUIET_SCREENS = frozenset({Screen.IDLE, Screen.OUT_OF_SERVICE})  # nobody is mid-flow there


class UpdateWatch(QObject):
    def __init__(self, agent: UpdateAgent, driver: FlowDriver, conn: Connection) -> None:
        super().__init__()
        self._agent = agent
        self._driver = driver
        self._conn = conn
        self._confirmed = False
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._conn.close()

    def check(self) -> None:
        state = self._driver.state
        idle = state.screen is Screen.IDLE and not state.faults
        try:
            if idle and not self._confirmed:
                self._confirmed = True
                self._agent.confirm_healthy()
            if (
                self._agent.try_switch(
                    ScreenState(idle=idle, participant_mid_flow=state.screen not in QUIET_SCREENS)
                )
                is None
            ):
                log.info("switched to a new release: restarting")
                self._timer.stop()
                QApplication.exit(SWITCH_EXIT_CODE)
        except Exception:  # an update problem must never stop the kiosk serving
            log.exception("the update watch failed")
