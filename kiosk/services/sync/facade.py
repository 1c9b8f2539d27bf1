"""What the admin panel's sync page needs: a status read and "Sync now".

``status`` runs on the backend thread over the backend's store connection (a read);
``sync_now`` only wakes the sync thread. No network here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kiosk.store import sync_repo
from kiosk.store.repository import Store
from kiosk.store.sync_repo import QuarantinedEvent as SetAsideEvent

__all__ = ["SET_ASIDE_SHOWN", "SetAsideEvent", "SyncFacade", "SyncStatus"]

SET_ASIDE_SHOWN = 20


class _Wakeable(Protocol):
    def sync_now(self) -> None: ...


@dataclass(frozen=True)
class SyncStatus:
    configured: bool
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    events_waiting: int
    last_error: str
    cursor: int
    open_conflicts: int
    # Events the hub set aside instead of storing (newest first, at most SET_ASIDE_SHOWN)
    # and how many there are in all.
    set_aside: tuple[SetAsideEvent, ...] = ()
    set_aside_total: int = 0


class SyncFacade:
    def __init__(self, store: Store, thread: _Wakeable | None) -> None:
        self._store = store
        self._thread = thread

    @property
    def configured(self) -> bool:
        return self._thread is not None

    def status(self) -> SyncStatus:
        conn = self._store.conn
        state = sync_repo.read_state(conn)
        return SyncStatus(
            configured=self.configured,
            last_success_at=state.last_success_at,
            last_attempt_at=state.last_attempt_at,
            events_waiting=sync_repo.pending_count(conn),
            last_error=state.last_error,
            cursor=state.cursor,
            open_conflicts=sync_repo.open_conflict_count(conn),
            set_aside=tuple(sync_repo.quarantined_events(conn, SET_ASIDE_SHOWN)),
            set_aside_total=sync_repo.quarantined_count(conn),
        )

    def sync_now(self) -> bool:
        """Wake the sync thread. False when sync is not configured."""
        if self._thread is None:
            return False
        self._thread.sync_now()
        return True
