"""The sync thread: the kiosk's only network user.

A plain ``threading.Thread`` with its own SQLCipher connection (opened in the thread with
``kiosk.store.db.connect`` on the same file; WAL lets it write beside the backend's
connection), never the GUI's or backend's. It loops ``SyncService.run_once``: every
``interval`` seconds after a success, at once when a round stopped early, after a full-jitter
backoff (capped at 5 minutes, ``Retry-After`` honoured) after a failure. It logs the first
failure and the recovery, not every retry, and never dies of an exception.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from kiosk.domain.remote_approval import VALIDITY
from kiosk.services.clock import Clock, SystemClock
from kiosk.services.sync.apply import ApplyError
from kiosk.services.sync.backoff import backoff_delay
from kiosk.services.sync.client import HubClient, HubError, provision
from kiosk.services.sync.credentials import (
    Credentials,
    credentials_path,
    load_credentials,
)
from kiosk.services.sync.service import Hub, SyncReport, SyncService
from kiosk.store import approvals_repo, sync_repo
from kiosk.store.db import Connection

log = logging.getLogger("kiosk.sync")

DEFAULT_INTERVAL = 60.0
# While a remote approval waits for the hub's decision: ask every few seconds, so the kiosk
# acts within seconds of the clinician's click (bench/bench_approval.py measures it).
APPROVAL_POLL_INTERVAL = 2.0
JOIN_SECONDS = 25.0  # one HTTP call's timeout and a little


class SyncThread(threading.Thread):
    def __init__(
        self,
        open_connection: Callable[[], Connection],
        make_hub: Callable[[], Hub],
        *,
        clock: Clock | None = None,
        interval: float = DEFAULT_INTERVAL,
        on_report: Callable[[SyncReport | None, BaseException | None], None] | None = None,
        backoff: Callable[[int, float | None], float] = backoff_delay,
        approval_interval: float = APPROVAL_POLL_INTERVAL,
        after_round: Callable[[Connection], None] | None = None,
    ) -> None:
        super().__init__(name="kiosk-sync", daemon=True)
        self._open_connection = open_connection
        self._make_hub = make_hub
        self._clock = clock or SystemClock()
        self._interval = interval
        self._on_report = on_report
        self._backoff = backoff
        self._approval_interval = approval_interval
        # Runs on this thread with its connection after a round that pulled everything
        # (docs/UPDATES.md: the hub's update offer is acted on there).
        self._after_round = after_round
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.failures = 0  # consecutive failed rounds
        self.last_delay = 0.0  # the wait chosen after the last round

    # ------------------------------------------------------------ control

    def sync_now(self) -> None:
        """Wake the thread for a round now (the admin page's "Sync now")."""
        self._wake.set()

    def stop(self, timeout: float = JOIN_SECONDS) -> None:
        self._stopping.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout)
            if self.is_alive():
                log.warning("the sync thread did not stop within %.0f s", timeout)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        conn: Connection | None = None
        service: SyncService | None = None
        hub: Hub | None = None
        try:
            while not self._stopping.is_set():
                report: SyncReport | None = None
                error: BaseException | None = None
                retry_after: float | None = None
                try:
                    if conn is None:
                        conn = self._open_connection()
                    if service is None:
                        hub = self._make_hub()
                        service = SyncService(conn, hub, self._clock)
                    report = service.run_once()
                except Exception as exc:  # never dies: record, back off, go on
                    error = exc
                    if isinstance(exc, HubError):
                        retry_after = exc.retry_after
                    elif conn is not None and service is None:
                        self._record(conn, f"sync cannot start ({type(exc).__name__}: {exc})")
                if error is None:
                    if self.failures:
                        log.info("sync recovered after %d failed rounds", self.failures)
                    self.failures = 0
                    delay = 0.0 if report is not None and report.more else self._interval
                    if delay > self._approval_interval and self._approval_pending(conn):
                        delay = self._approval_interval
                else:
                    if self.failures == 0:
                        log.warning("sync failed: %s", _describe(error))
                    delay = self._backoff(self.failures, retry_after)
                    self.failures += 1
                self.last_delay = delay
                if error is None and conn is not None and not (report and report.more):
                    self._run_after_round(conn)
                self._notify(report, error)
                if delay > 0:
                    self._wake.wait(delay)
                self._wake.clear()
        except BaseException:  # pragma: no cover - a bug here must still not kill the kiosk
            log.exception("the sync thread stopped on an unexpected error")
        finally:
            close = getattr(hub, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    log.exception("closing the hub client")
            if conn is not None:
                conn.close()

    def _run_after_round(self, conn: Connection) -> None:
        if self._after_round is None:
            return
        try:
            self._after_round(conn)
        except Exception:
            log.exception("the after-sync step failed")

    def _approval_pending(self, conn: Connection | None) -> bool:
        if conn is None:
            return False
        try:
            since = self._clock.now() - VALIDITY
            return approvals_repo.pending_count(conn, since) > 0
        except Exception:
            log.exception("cannot read the pending approvals")
            return False

    def _notify(self, report: SyncReport | None, error: BaseException | None) -> None:
        if self._on_report is None:
            return
        try:
            self._on_report(report, error)
        except Exception:
            log.exception("sync report callback failed")

    def _record(self, conn: Connection, text: str) -> None:
        try:
            sync_repo.record_outcome(conn, self._clock.now(), text)
        except Exception:
            log.exception("cannot record the sync error")


def _describe(error: BaseException) -> str:
    if isinstance(error, HubError):
        return str(error)
    if isinstance(error, ApplyError):
        # Its text names the participant code at fault: staff read it on the Sync page (the
        # store's sync state); the log, which leaves the machine in diagnostics, does not.
        return "a change from the hub could not be applied (see the admin Sync page)"
    return f"{type(error).__name__}: {error}"


# ------------------------------------------------------------------ wiring


def hub_factory(
    url: str,
    data_dir: Path,
    clock: Clock,
    enrollment_code: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Callable[[], Hub]:
    """Make the hub client inside the sync thread, provisioning first when the kiosk has no
    credentials yet and an enrollment code is configured (a network call: never at boot on
    the GUI thread)."""

    def make() -> Hub:
        path = credentials_path(data_dir)
        credentials: Credentials
        if path.exists():
            credentials = load_credentials(path)
        elif enrollment_code:
            credentials = provision(url, enrollment_code, data_dir, transport=transport)
        else:
            raise HubError("this kiosk has no hub credentials and no enrollment code")
        return HubClient(url, credentials, clock.now, transport=transport)

    return make
