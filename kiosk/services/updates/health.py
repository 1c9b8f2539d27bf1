"""Is this version healthy? The boot checks a switched version must pass before it is kept
(docs/UPDATES.md): the store opens and is whole, the clock is trusted, the devices answer."""

from __future__ import annotations

from collections.abc import Callable

from hardware.ports import DispenserController, FingerprintSensor
from kiosk.domain.dosing import clock_is_trusted
from kiosk.services.clock import Clock
from kiosk.services.health import integrity_check_quick
from kiosk.services.selftest import run_selftest
from kiosk.store.repository import Store


def boot_problems(
    store: Store,
    clock: Clock,
    devices: tuple[Callable[[], FingerprintSensor], Callable[[], DispenserController]] | None,
) -> list[str]:
    """Every reason this start is not healthy (ids and device names only); [] when it is."""
    problems: list[str] = []
    store_problem = integrity_check_quick(store)
    if store_problem:
        problems.append(f"store: {store_problem}")
    if not clock_is_trusted(clock.now(), store.latest_recorded_time()):
        problems.append("clock: behind the last recorded event")
    if devices is not None:
        sensor, controller = devices
        problems += [
            f"{check.device}: {check.detail}"
            for check in run_selftest(sensor, controller)
            if not check.ok
        ]
    return problems
