"""Shared fixtures of the remote-approval tests (test_approvals.py, test_app_codes.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hardware.ports import ControllerStatus, LaneState
from kiosk.domain.remote_approval import ApprovalAction
from kiosk.services.approvals import ApprovalsService
from kiosk.services.clock import FixedClock
from kiosk.services.health import HealthService
from kiosk.store.approvals_repo import ApprovalRequest
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store

DEVICE = "dev-approve-1"


class Controller:
    def __init__(self) -> None:
        self.door_open = False
        self.tamper = False

    def status(self) -> ControllerStatus:
        return ControllerStatus(self.door_open, self.tamper, (LaneState.READY,))


class NoEvents:
    def subscribe(self, handler: Callable[[object], None]) -> None:
        pass


@pytest.fixture
def worker(store: Store, clock: FixedClock) -> int:
    return store.add_staff("Night Worker", "staff", hash_pin("735204"), clock.now(), "test")


@pytest.fixture
def kiosk(store: Store, clock: FixedClock) -> tuple[ApprovalsService, Controller, HealthService]:
    controller = Controller()
    health = HealthService(store, None, controller, clock, None, NoEvents())  # type: ignore[arg-type]
    store.raise_flag("door_opened", "the door opened", clock.now())

    def clear(request: ApprovalRequest, actor: str) -> None:
        health.clear_lockout(actor)

    service = ApprovalsService(
        store,
        clock,
        DEVICE,
        performers={
            ApprovalAction.CLEAR_DOOR_LOCKOUT: clear,
            ApprovalAction.CLEAR_TAMPER_LOCKOUT: clear,
        },
    )
    return service, controller, health
