"""What the Hardware and Sync pages need about software updates: the running version, the last
attempt, and "Install update from USB" (docs/UPDATES.md). Runs on the backend thread over the
backend's store connection; the network is never used from here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kiosk import __version__
from kiosk.domain.update_plan import UpdateState
from kiosk.services.clock import Clock
from kiosk.services.config import Config
from kiosk.services.updates.usb import UsbOutcome, UsbResult, install_from_folder
from kiosk.services.updates.wiring import make_agent
from kiosk.store import updates_repo
from kiosk.store.repository import Store

__all__ = ["SoftwareFacade", "SoftwareStatus", "UsbOutcome", "UsbResult"]


@dataclass(frozen=True)
class SoftwareStatus:
    running: str
    updates_on: bool  # [updates] releases_dir is set
    state: UpdateState | None  # the last attempt's state (None: none yet)
    target: str | None
    detail: str | None  # staff wording, no personal data
    attempted_at: datetime | None


class SoftwareFacade:
    def __init__(self, config: Config, store: Store, clock: Clock) -> None:
        self._config = config
        self._store = store
        self._clock = clock

    def status(self) -> SoftwareStatus:
        last = updates_repo.status(self._store.conn)
        return SoftwareStatus(
            running=__version__,
            updates_on=self._config.releases_dir is not None,
            state=None if last is None else last.state,
            target=None if last is None else last.target,
            detail=None if last is None else last.detail,
            attempted_at=None if last is None else last.attempted_at,
        )

    def install_from_folder(self, folder: Path) -> UsbResult:
        """Verify and unpack the newest release in a USB folder; the screen's update watch
        switches to it at the next quiet moment."""
        agent = make_agent(self._config, self._store, self._clock)
        if agent is None:
            return UsbResult(UsbOutcome.UPDATES_OFF)
        return install_from_folder(agent, folder)
