"""Device self-test: does each device answer correctly? Bounded in time even when silent."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hardware.ports import DeviceError, DispenserController, FingerprintSensor, ProtocolVersion

log = logging.getLogger("kiosk.selftest")

# Both devices are checked at once, each within this budget: the whole test stays < 10 s.
DEVICE_BUDGET_S = 7.0


@dataclass
class DeviceCheck:
    device: str
    ok: bool
    detail: str
    facts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def check_sensor(sensor: FingerprintSensor) -> DeviceCheck:
    sensor.open()  # verifies the password
    try:
        info = sensor.info()
    finally:
        sensor.close()
    facts = {
        "password": "ok",
        "capacity": info.capacity,
        "security_level": info.security_level,
        "packet_size": info.packet_size,
        "templates": info.template_count,
    }
    return DeviceCheck("fingerprint sensor", True, "answers", facts)


def check_controller(controller: DispenserController) -> DeviceCheck:
    controller.open()
    try:
        info = controller.ping()
        status = controller.status()
    finally:
        controller.close()
    if info.proto not in {int(version) for version in ProtocolVersion}:
        known = ", ".join(str(int(v)) for v in ProtocolVersion)
        return DeviceCheck(
            "dispenser controller", False, f"speaks protocol {info.proto}, not {known}"
        )
    facts = {
        "firmware": info.firmware,
        "protocol": int(info.proto),
        "lanes": info.lanes,
        "door": "open" if status.door_open else "closed",
        "tamper": "tripped" if status.tamper else "ok",
        "lane_states": [state.name.lower() for state in status.lanes],
    }
    return DeviceCheck("dispenser controller", True, "answers", facts)


def bounded(name: str, check: Callable[[], DeviceCheck], budget: float) -> DeviceCheck:
    """Run one check on its own thread; a device that hangs fails after ``budget``."""
    result: list[DeviceCheck] = []
    started = time.monotonic()

    def run() -> None:
        try:
            result.append(check())
        except DeviceError as exc:
            result.append(DeviceCheck(name, False, exc.message))
        except Exception as exc:
            result.append(DeviceCheck(name, False, f"unexpected error: {type(exc).__name__}"))

    worker = threading.Thread(target=run, name=f"selftest-{name}", daemon=True)
    worker.start()
    worker.join(budget)
    outcome = result[0] if result else DeviceCheck(name, False, f"no answer within {budget:.0f} s")
    outcome.seconds = round(time.monotonic() - started, 3)
    return outcome


def run_selftest(
    sensor_factory: Callable[[], FingerprintSensor],
    controller_factory: Callable[[], DispenserController],
    budget: float = DEVICE_BUDGET_S,
) -> list[DeviceCheck]:
    checks: dict[str, DeviceCheck] = {}

    def sensor_job() -> None:
        checks["sensor"] = bounded(
            "fingerprint sensor", lambda: check_sensor(sensor_factory()), budget
        )

    def controller_job() -> None:
        checks["controller"] = bounded(
            "dispenser controller", lambda: check_controller(controller_factory()), budget
        )

    jobs = [threading.Thread(target=sensor_job), threading.Thread(target=controller_job)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(budget + 1)
    return [checks["sensor"], checks["controller"]]


def as_json(checks: list[DeviceCheck]) -> dict[str, Any]:
    return {"ok": all(c.ok for c in checks), "devices": [asdict(c) for c in checks]}
