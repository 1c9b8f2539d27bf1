"""Log lines carry internal ids only: a whole participant visit, from enrollment to a
witnessed dose, logs no participant code or name (the logs go into diagnostics zips)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.app import Runtime, start_demo
from kiosk.services.identify import Recognised
from kiosk.services.participants import ParticipantService
from kiosk.services.seed import DEMO_ADMIN_PIN, DEMO_NURSE_PIN, DEMO_PARTICIPANTS
from kiosk.services.staff import StaffService

NEW_CODE, NEW_NAME = "QX-314", "Morgan Privacy"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    runtime = start_demo(tmp_path / "demo", realistic_timing=False)
    yield runtime
    runtime.close()


def scan(runtime: Runtime, finger: str) -> int:
    runtime.emulators[0].place_finger(finger)
    deadline = time.monotonic() + 10
    outcome = None
    while outcome is None and time.monotonic() < deadline:
        outcome = runtime.interaction.scan()
    runtime.emulators[0].lift_finger()
    assert runtime.interaction.scan() is None  # the kiosk sees the empty glass
    assert isinstance(outcome, Recognised), outcome
    return outcome.participant_id


def logged_text(records: list[logging.LogRecord]) -> str:
    handler = logging.Handler()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    return "\n".join(handler.format(record) for record in records)  # with any traceback


def test_a_dispense_visit_logs_no_participant_code_or_name(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    staff = StaffService(runtime.store, runtime.clock)
    admin = staff.login(DEMO_ADMIN_PIN)
    people = ParticipantService(runtime.store, runtime.sensor, runtime.clock, staff)
    people.create(admin, NEW_CODE, NEW_NAME, None)
    alex = scan(runtime, "P-0001/right-index")
    assert runtime.interaction.decide(alex).doses
    assert runtime.interaction.dispense(alex)[0].dropped == 2
    casey = scan(runtime, "P-0005/right-index")
    assert runtime.interaction.verify_witness(casey, "999999") is None
    nurse = runtime.interaction.verify_witness(casey, DEMO_NURSE_PIN)
    assert runtime.interaction.dispense(casey, nurse)[0].dropped == 2
    text = logged_text(caplog.records)
    assert "identified participant" in text and "vend" in text  # the visit was logged
    for code, name in [(p.code, p.name) for p in DEMO_PARTICIPANTS] + [(NEW_CODE, NEW_NAME)]:
        assert code not in text
        for word in name.split():
            assert not re.search(rf"\b{re.escape(word)}\b", text), word
