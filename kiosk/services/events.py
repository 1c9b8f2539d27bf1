"""One controller, several listeners: the driver has a single event handler slot."""

from __future__ import annotations

import logging
import threading

from hardware.ports import ControllerEvent, DispenserController, EventHandler

log = logging.getLogger("kiosk.events")


class ControllerEvents:
    """Fans each controller event out to every subscriber (on the driver's reader thread:
    subscribers must only hand the event over, never block or call the controller)."""

    def __init__(self, controller: DispenserController) -> None:
        self._subscribers: list[EventHandler] = []
        self._lock = threading.Lock()
        controller.set_event_handler(self._dispatch)

    def subscribe(self, handler: EventHandler) -> None:
        with self._lock:
            self._subscribers.append(handler)

    def _dispatch(self, event: ControllerEvent) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for handler in subscribers:
            try:
                handler(event)
            except Exception:
                log.exception("controller event handler failed")
