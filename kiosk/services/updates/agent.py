"""The kiosk's side of software updates (docs/UPDATES.md): reports, downloads, switches.

Runs in the sync thread after a pull (and once at start). Every state goes to the hub as an
``update.state`` event (docs/SYNC.md) in the same transaction as the status the Hardware and
Sync pages show. A switch happens only at a quiet moment (kiosk.domain.update_plan) and only
after the store is backed up; the caller then exits so the launcher starts the new version.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tuf.ngclient.updater import Updater

from kiosk import __version__
from kiosk.domain.dosing import clock_is_trusted
from kiosk.domain.text import clean_text
from kiosk.domain.update_plan import (
    Moment,
    NotQuiet,
    UpdateState,
    is_upgrade,
    parse_hours,
    switch_blocker,
)
from kiosk.services.clock import Clock
from kiosk.services.updates.install import UpdateFailed, UpdateRefused, stage
from kiosk.services.updates.layout import ReleaseLayout
from kiosk.store import outbox, sync_repo, updates_repo
from kiosk.store.db import Connection, transaction
from kiosk.store.repository import Store
from kiosk.store.updates_repo import UpdateStatus

log = logging.getLogger("kiosk.updates")

EVENT = "update.state"
SWITCH_EXIT_CODE = 75  # EX_TEMPFAIL: "start me again" — deploy/kiosk-launcher starts `current`
MAX_DETAIL = 200
REFUSED_RETRY = timedelta(hours=6)


@dataclass(frozen=True)
class ScreenState:
    """What the UI (or a headless round) says about the screen."""

    idle: bool
    participant_mid_flow: bool


class UpdateAgent:
    def __init__(
        self,
        store: Store,
        layout: ReleaseLayout,
        clock: Clock,
        *,
        timezone: str,
        database_path: Path,
        health_seconds: int,
        max_starts: int,
        running: str = __version__,
    ) -> None:
        self._store = store
        self._conn: Connection = store.conn
        self._layout = layout
        self.layout = layout
        self._clock = clock
        self._zone = ZoneInfo(timezone)
        self._database = database_path
        self._health_seconds = health_seconds
        self._max_starts = max_starts
        self.running = running

    # ---------------------------------------------------------------- reporting

    def report(
        self,
        state: UpdateState,
        target: str | None,
        campaign_id: int | None = None,
        detail: str | None = None,
        size: int | None = None,
        *,
        running: str | None = None,
        keep_status: bool = False,
    ) -> None:
        """One ``update.state`` event; the status the pages show changes with it unless
        ``keep_status`` (a start's ``running`` report is not an attempt: the last attempt,
        a rollback above all, stays what the pages and the next round see)."""
        running = running or self.running
        detail = None if detail is None else clean_text(detail)[:MAX_DETAIL]
        now = self._clock.now()
        payload = {
            "running": running,
            "target": target,
            "state": state.value,
            "campaign_id": campaign_id,
            "detail": detail,
            "bytes": size,
        }
        with transaction(self._conn):
            outbox.add(self._conn, now, EVENT, payload)
            if not keep_status:
                updates_repo.set_status(
                    self._conn,
                    UpdateStatus(running, target, state, campaign_id, detail, size, now),
                )
        log.info("update %s: running %s, target %s", state.value, running, target)

    def status(self) -> UpdateStatus | None:
        return updates_repo.status(self._conn)

    def at_start(self) -> None:
        """Once per start: a rollback the launcher made, else the version now running."""
        record = self._layout.rollback_record()
        if record is not None:
            self.report(
                UpdateState.ROLLED_BACK,
                record.failed,
                self._campaign(),
                f"the launcher went back to {record.restored} ({record.reason})",
                running=record.restored,
            )
            self._layout.forget_rollback()
            return
        self.report(UpdateState.RUNNING, None, keep_status=self.status() is not None)

    def confirm_healthy(self) -> bool:
        """The app reached healthy idle (boot self-test, devices, store, clock): a version
        started after a switch stops being pending. True when this start was that one."""
        pending = self._layout.pending()
        if pending is None or pending.version != self.running:
            return False
        self._layout.mark_healthy()
        self.report(UpdateState.HEALTHY, self.running, self._campaign())
        removed = self._layout.prune()  # the disk holds current, previous, 3 backups
        if removed:
            log.info("removed old releases %s", ", ".join(removed))
        return True

    def _campaign(self) -> int | None:
        offer = updates_repo.offer(self._conn)
        return None if offer is None else offer.campaign_id

    # ---------------------------------------------------------------- one round

    def check(self, make_updater: Callable[[], Updater], running_dir: Path) -> bool:
        """After a pull: act on the hub's offer. True when a release is staged and waits for
        a quiet moment to switch."""
        offer = updates_repo.offer(self._conn)
        if offer is None or offer.version == self.running:
            return False
        last = self.status()
        same_target = last is not None and last.target == offer.version
        if (
            same_target
            and last is not None
            and last.state is UpdateState.REFUSED
            and self._clock.now() - last.attempted_at < REFUSED_RETRY
        ):
            return False  # said once; tried again later (the timestamp may be re-signed)
        if same_target and last is not None and last.state is UpdateState.ROLLED_BACK:
            return False  # this version failed here; the hub pauses the campaign
        if not is_upgrade(offer.version, self.running):
            self.report(
                UpdateState.REFUSED,
                offer.version,
                offer.campaign_id,
                f"release {offer.version} is not newer than the running {self.running}: refused",
            )
            return False
        if (
            same_target
            and last is not None
            and last.state is UpdateState.STAGED
            and self._layout.folder(offer.version).is_dir()
        ):
            return True
        self.report(UpdateState.DOWNLOADING, offer.version, offer.campaign_id)
        try:
            client = make_updater()
            staged = stage(client, offer.version, self._layout, running_dir)
        except UpdateRefused as exc:
            self.report(UpdateState.REFUSED, offer.version, offer.campaign_id, str(exc))
            return False
        except UpdateFailed as exc:
            self.report(UpdateState.FAILED, offer.version, offer.campaign_id, str(exc))
            return False
        self.report(
            UpdateState.DOWNLOADED,
            offer.version,
            offer.campaign_id,
            f"{staged.downloaded_files} files downloaded, {staged.reused_files} kept",
            staged.downloaded_bytes,
        )
        self.report(UpdateState.STAGED, offer.version, offer.campaign_id)
        return True

    def moment(self, screen: ScreenState) -> Moment:
        now = self._clock.now()
        trusted = clock_is_trusted(now, self._store.latest_recorded_time())
        try:
            hours = parse_hours(sync_repo.setting(self._conn, "maintenance_hours"))
            hours_known = True
        except ValueError:
            log.warning("the site's maintenance hours cannot be read: not switching")
            hours, hours_known = None, False
        return Moment(
            screen_idle=screen.idle,
            participant_mid_flow=screen.participant_mid_flow,
            vend_open=bool(self._store.unfinished_intents()),
            clock_trusted=trusted and hours_known,
            local_time=now.astimezone(self._zone).time() if trusted else None,
            hours=hours,
        )

    def try_switch(self, screen: ScreenState) -> NotQuiet | None:
        """Switch to the staged release if this is a quiet moment. None: switched (the
        caller exits with SWITCH_EXIT_CODE); else why it waits."""
        last = self.status()
        if last is None or last.state is not UpdateState.STAGED or last.target is None:
            return NotQuiet.SCREEN_BUSY
        blocker = switch_blocker(self.moment(screen))
        if blocker is not None:
            return blocker
        self._backup_store()
        self._layout.switch(last.target, self._health_seconds, self._max_starts)
        self.report(UpdateState.SWITCHED, last.target, last.campaign_id)
        return None

    def _backup_store(self) -> None:
        """A copy of the store as this version left it, before the new one migrates it. Never
        restored over a store with later dispenses (docs/UPDATES.md, the dispense rule)."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._layout.backups.mkdir(parents=True, exist_ok=True)
        stamp = self._clock.now().strftime("%Y%m%dT%H%M%SZ")
        target = self._layout.backups / f"kiosk-{self.running}-{stamp}.db"
        shutil.copy2(self._database, target)
        target.chmod(0o600)
