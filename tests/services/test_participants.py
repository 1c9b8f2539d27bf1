"""Participant admin: search, create, fingerprint enrollment, holds, removal, sensor reload.

The real ZfmSensor driver (and so pyfingerprint) talks to the sensor emulator over a pty;
the store is a real encrypted database. A "press" is: lift (the service must see the empty
glass, as between two real presses), place, capture.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import date

import pytest

from hardware.emulators.fingerprint import (
    PARTIAL_SCORE,
    FingerprintEmulator,
    Quality,
    characteristics_for,
)
from hardware.ports import SensorTimeout
from hardware.sensor import ZfmSensor
from kiosk.services.clock import FixedClock
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.services.identify import IdentifyService, Recognised, Unrecognised
from kiosk.services.participants import (
    MIN_AGREEMENT,
    REQUIRED_CAPTURES,
    CaptureOutcome,
    Enrollment,
    ParticipantService,
)
from kiosk.services.seed import ALL_DAY
from kiosk.services.staff import StaffService, StaffSession
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Intent, Store

G = CaptureOutcome.GOOD
PINS = {
    "admin": "482916",
    "pharmacist": "593027",
    "nurse": "735204",
    "staff": "614803",
    "technician": "827361",
}
_HASHES: dict[str, str] = {}  # scrypt is slow on purpose: hash each PIN once per run


@pytest.fixture
def emu() -> Iterator[FingerprintEmulator]:
    with FingerprintEmulator() as emulator:
        yield emulator


@pytest.fixture
def sensor(emu: FingerprintEmulator) -> Iterator[ZfmSensor]:
    driver = ZfmSensor(emu.port, call_budget=2.0)
    driver.open()
    yield driver
    driver.close()


@pytest.fixture
def staff(store: Store, clock: FixedClock) -> StaffService:
    for role, pin in PINS.items():
        pin_hash = _HASHES.setdefault(role, hash_pin(pin))
        store.add_staff(role.title(), role, pin_hash, clock.now(), "test")
    return StaffService(store, clock)


@pytest.fixture
def service(store: Store, sensor: ZfmSensor, clock: FixedClock, staff: StaffService):  # type: ignore[no-untyped-def]
    return ParticipantService(store, sensor, clock, staff)


def login(staff: StaffService, role: str) -> StaffSession:
    return staff.login(PINS[role])


def press(enrollment: Enrollment, emu: FingerprintEmulator, key: str, quality: Quality = "good"):  # type: ignore[no-untyped-def]
    emu.lift_finger()
    assert enrollment.capture(timeout_s=0) is CaptureOutcome.NO_FINGER  # one poll: glass empty
    emu.place_finger(key, quality)
    return enrollment.capture(timeout_s=2.0)


def enroll(
    service: ParticipantService, session: StaffSession, emu, pid: int, finger: str, key: str
) -> int:  # type: ignore[no-untyped-def]
    enrollment = service.start_enrollment(session, pid, finger)
    outcomes = [press(enrollment, emu, key) for _ in range(REQUIRED_CAPTURES)]
    assert outcomes == [G, G, CaptureOutcome.ENROLLED]
    assert enrollment.position is not None
    return enrollment.position


def audit(store: Store, action: str) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    rows = store.conn.execute(
        "SELECT actor, subject, details FROM audit_log WHERE action = ? ORDER BY seq", (action,)
    ).fetchall()
    return [(a, s, json.loads(d)) for a, s, d in rows]


def template_rows(store: Store) -> list[tuple[int, str, int, bytes]]:
    rows = store.conn.execute(
        "SELECT participant_id, finger, sensor_position, characteristics"
        " FROM fingerprint_templates ORDER BY sensor_position"
    ).fetchall()
    return [(int(a), str(b), int(c), bytes(d)) for a, b, c, d in rows]


def identified(store: Store, sensor: ZfmSensor, emu: FingerprintEmulator, key: str):  # type: ignore[no-untyped-def]
    emu.place_finger(key)
    outcome = IdentifyService(store, sensor).scan()
    emu.lift_finger()
    return outcome


# ------------------------------------------------------------------ create and search


def test_create_generates_codes_refuses_a_taken_one_and_search_finds_by_code_or_name(
    service: ParticipantService, staff: StaffService, store: Store
) -> None:
    nurse = login(staff, "nurse")
    alex = service.create(nurse, None, "  Alexandre Côté ", "fr_CA")
    sam = service.create(nurse, None, "Sam", None)
    assert [store.participant(i).code for i in (alex, sam)] == ["P-0001", "P-0002"]  # type: ignore[union-attr]
    assert store.participant(alex).display_name == "Alexandre Côté"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput) as taken:
        service.create(nurse, "p-0002", "Someone", "en")
    assert taken.value.code == "code_taken"
    assert service.create(nurse, "P-0010", "Robin", "en") > 0
    assert store.participant_by_code("P-0010") is not None
    assert service.create(nurse, None, "Casey", "en") == store.participant_by_code("P-0011").id  # type: ignore[union-attr]
    for bad, code in (
        (("", "Name", "en"), "code"),
        ((None, " ", "en"), "name"),
        ((None, "Name", "xx"), "language"),
    ):
        with pytest.raises(InvalidInput) as invalid:
            service.create(nurse, *bad)
        assert invalid.value.code == code

    assert [p.code for p in service.search(nurse, "CÔTÉ")] == ["P-0001"]
    assert [p.code for p in service.search(nurse, "p-0002")] == ["P-0002"]
    assert [p.code for p in service.search(nurse, "")] == ["P-0001", "P-0002", "P-0010", "P-0011"]
    [summary] = service.search(nurse, "sam")
    assert (summary.id, summary.language, summary.status) == (sam, None, "active")
    assert (summary.fingers, summary.on_hold) == (0, False)
    [entry] = [e for e in audit(store, "participant.enrolled") if e[1] == "P-0001"]
    assert entry[0] == nurse.actor and "Côté" not in json.dumps(entry)


# ------------------------------------------------------------------ enrollment


def test_two_fingers_are_enrolled_with_guidance_for_a_poor_image(
    service: ParticipantService,
    staff: StaffService,
    store: Store,
    sensor: ZfmSensor,
    emu: FingerprintEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    nurse = login(staff, "nurse")
    pid = service.create(nurse, None, "Jordan Secret", "en")
    enrollment = service.start_enrollment(nurse, pid, "right-index")
    assert (enrollment.captured, enrollment.required, enrollment.replaces) == (0, 3, None)
    assert press(enrollment, emu, "jordan/right-index") is G
    # Each unreadable press says what to do about it (the sensor's convert answer).
    assert press(enrollment, emu, "jordan/right-index", "poor") is CaptureOutcome.PRESS_FLATTER
    assert enrollment.captured == 1  # a poor image does not count
    assert press(enrollment, emu, "jordan/right-index", "messy") is CaptureOutcome.MESSY_IMAGE
    assert press(enrollment, emu, "jordan/right-index") is G
    assert enrollment.captured == 2
    assert press(enrollment, emu, "jordan/right-index") is CaptureOutcome.ENROLLED
    assert enrollment.done and enrollment.result is CaptureOutcome.ENROLLED
    with pytest.raises(InvalidInput, match="step"):
        enrollment.capture(timeout_s=0)

    second = enroll(service, nurse, emu, pid, "left-index", "jordan/left-index")
    rows = template_rows(store)
    assert [(r[0], r[1]) for r in rows] == [(pid, "right-index"), (pid, "left-index")]
    assert rows[1][2] == second != rows[0][2]
    assert rows[0][3] == characteristics_for("jordan/right-index")  # what the sensor made
    assert emu.library() == {
        rows[0][2]: "jordan/right-index",
        rows[1][2]: "jordan/left-index",
    }
    for key in ("jordan/right-index", "jordan/left-index"):
        assert identified(store, sensor, emu, key) == Recognised(pid, "en")

    entries = audit(store, "fingerprint.enrolled")
    assert [e[0] for e in entries] == [nurse.actor, nurse.actor]
    assert entries[0][2] == {
        "participant_id": pid,
        "finger": "right-index",
        "position": rows[0][2],
        "replaced_position": None,
    }
    [summary] = service.search(nurse, "jordan")
    assert summary.fingers == 2
    assert [f.finger for f in service.fingers(nurse, pid)] == ["left-index", "right-index"]
    # Nothing personal or biometric in the logs or the audit log.
    everything = caplog.text + str(store.conn.execute("SELECT * FROM audit_log").fetchall())
    for secret in ("Jordan Secret", characteristics_for("jordan/right-index").hex()[:32]):
        assert secret not in everything


def test_waiting_for_a_finger_lift_first_no_finger_and_cancel(
    service: ParticipantService, staff: StaffService, emu: FingerprintEmulator
) -> None:
    nurse = login(staff, "nurse")
    pid = service.create(nurse, None, "Robin", "en")
    enrollment = service.start_enrollment(nurse, pid, "right-thumb")
    started = time.monotonic()
    assert enrollment.capture(timeout_s=0.2) is CaptureOutcome.NO_FINGER
    assert 0.2 <= time.monotonic() - started < 1.5
    # A finger arriving while the capture waits is taken.
    placing = threading.Timer(0.1, emu.place_finger, args=("robin/right-thumb",))
    placing.start()
    assert enrollment.capture(timeout_s=5) is G
    placing.join()
    # Left on the glass: not a second press.
    assert enrollment.capture(timeout_s=0.1) is CaptureOutcome.LIFT_FIRST
    assert enrollment.captured == 1
    assert press(enrollment, emu, "robin/right-thumb") is G
    # Cancel from another thread ends a waiting capture; nothing is stored.
    emu.lift_finger()
    cancelling = threading.Timer(0.1, enrollment.cancel)
    cancelling.start()
    started = time.monotonic()
    assert enrollment.capture(timeout_s=10) is CaptureOutcome.CANCELLED
    assert time.monotonic() - started < 2
    cancelling.join()
    assert enrollment.done and emu.library() == {}


def test_a_finger_enrolled_to_anyone_is_refused_and_nothing_is_stored(
    service: ParticipantService, staff: StaffService, store: Store, emu: FingerprintEmulator
) -> None:
    nurse = login(staff, "nurse")
    alex = service.create(nurse, None, "Alex", "en")
    sam = service.create(nurse, None, "Sam", "en")
    position = enroll(service, nurse, emu, alex, "right-index", "alex/right-index")
    before = (emu.library(), template_rows(store))

    # Someone else with Alex's finger: refused on the first press.
    enrollment = service.start_enrollment(nurse, sam, "right-index")
    assert press(enrollment, emu, "alex/right-index") is CaptureOutcome.DUPLICATE
    assert enrollment.done and enrollment.position is None
    with pytest.raises(InvalidInput):
        enrollment.capture(timeout_s=0)
    # Alex's same finger offered as another finger of Alex's: refused too.
    enrollment = service.start_enrollment(nurse, alex, "left-index")
    assert press(enrollment, emu, "alex/right-index") is CaptureOutcome.DUPLICATE
    # Sneaked in at the last press (the search right before storing catches it).
    enrollment = service.start_enrollment(nurse, sam, "left-thumb")
    assert press(enrollment, emu, "sam/left-thumb") is G
    assert press(enrollment, emu, "sam/left-thumb") is G
    assert press(enrollment, emu, "alex/right-index") is CaptureOutcome.DUPLICATE

    assert (emu.library(), template_rows(store)) == before
    refusals = audit(store, "fingerprint.duplicate_refused")
    assert len(refusals) == 3
    assert refusals[0][2] == {
        "participant_id": sam,
        "finger": "right-index",
        "matched_position": position,
        "matched_participant_id": alex,
    }


def test_presses_of_different_fingers_are_a_mismatch_and_start_over(
    service: ParticipantService, staff: StaffService, store: Store, emu: FingerprintEmulator
) -> None:
    nurse = login(staff, "nurse")
    pid = service.create(nurse, None, "Casey", "en")
    enrollment = service.start_enrollment(nurse, pid, "right-index")
    assert press(enrollment, emu, "casey/right-index") is G
    assert press(enrollment, emu, "casey/right-middle") is CaptureOutcome.MISMATCH
    assert enrollment.captured == 0
    assert press(enrollment, emu, "casey/right-index") is G
    assert press(enrollment, emu, "casey/right-index") is G
    # The test press is another finger: nothing is saved; the test press is asked again.
    assert press(enrollment, emu, "casey/right-middle") is CaptureOutcome.TEST_FAILED
    assert (enrollment.captured, emu.library(), template_rows(store)) == (2, {}, [])
    assert enrollment.last_score == 0
    assert press(enrollment, emu, "casey/right-index") is CaptureOutcome.ENROLLED
    assert list(emu.library().values()) == ["casey/right-index"]


def test_presses_that_barely_agree_start_over_and_a_weak_test_press_saves_nothing(
    service: ParticipantService,
    staff: StaffService,
    store: Store,
    sensor: ZfmSensor,
    emu: FingerprintEmulator,
) -> None:
    nurse = login(staff, "nurse")
    pid = service.create(nurse, None, "Robin", "en")
    enrollment = service.start_enrollment(nurse, pid, "left-index")
    assert press(enrollment, emu, "robin/left-index") is G
    # The same finger from its edge: the sensor calls it a match, with a score too low.
    assert press(enrollment, emu, "robin/left-index", "partial") is CaptureOutcome.PRESSES_DIFFER
    assert enrollment.captured == 0 and enrollment.last_score == PARTIAL_SCORE
    assert press(enrollment, emu, "robin/left-index") is G
    assert press(enrollment, emu, "robin/left-index") is G
    assert enrollment.last_score is not None and enrollment.last_score >= MIN_AGREEMENT
    # The test press is weak: the finger is not saved until a test press matches.
    assert press(enrollment, emu, "robin/left-index", "partial") is CaptureOutcome.TEST_FAILED
    assert (enrollment.captured, emu.library(), template_rows(store)) == (2, {}, [])
    assert press(enrollment, emu, "robin/left-index") is CaptureOutcome.ENROLLED
    assert list(emu.library().values()) == ["robin/left-index"]
    # A scan at the kiosk finds the finger the test press matched.
    emu.lift_finger()
    outcome = identified(store, sensor, emu, "robin/left-index")
    assert isinstance(outcome, Recognised) and outcome.participant_id == pid


def test_re_enrolling_a_finger_replaces_its_template(
    service: ParticipantService,
    staff: StaffService,
    store: Store,
    sensor: ZfmSensor,
    emu: FingerprintEmulator,
) -> None:
    nurse = login(staff, "nurse")
    pid = service.create(nurse, None, "Morgan", "en")
    old = enroll(service, nurse, emu, pid, "right-index", "morgan/worn-scar")
    # The same finger again (healed): its own old template is not a duplicate.
    enrollment = service.start_enrollment(nurse, pid, "right-index")
    assert enrollment.replaces == old
    assert [press(enrollment, emu, "morgan/worn-scar") for _ in range(3)][-1] is (
        CaptureOutcome.ENROLLED
    )
    new = enrollment.position
    assert new != old
    assert emu.library() == {new: "morgan/worn-scar"}
    assert [(r[1], r[2]) for r in template_rows(store)] == [("right-index", new)]
    assert audit(store, "fingerprint.enrolled")[-1][2]["replaced_position"] == old
    assert identified(store, sensor, emu, "morgan/worn-scar") == Recognised(pid, "en")


# ------------------------------------------------------------------ removal, holds, language


def test_removal_clears_sensor_and_store_keeps_history_and_is_audited(
    service: ParticipantService,
    staff: StaffService,
    store: Store,
    sensor: ZfmSensor,
    emu: FingerprintEmulator,
    clock: FixedClock,
) -> None:
    nurse = login(staff, "nurse")
    pid = service.create(nurse, None, "Drew", "en")
    keep = service.create(nurse, None, "Kept", "en")
    enroll(service, nurse, emu, pid, "right-index", "drew/right-index")
    enroll(service, nurse, emu, pid, "left-index", "drew/left-index")
    kept_position = enroll(service, nurse, emu, keep, "right-index", "kept/right-index")
    now = clock.now()
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    store.set_lane(1, med, 10, now, "test")
    rx = store.add_prescription(pid, med, 2, ALL_DAY, 8, date(2026, 6, 1), None, now, "test")
    store.add_prescription(pid, med, 1, (ALL_DAY[0],), 4, date(2026, 6, 1), None, now, "test")
    store.record_intent(Intent(store.new_vend_id(), pid, rx, 1, 2, now))

    with pytest.raises(InvalidInput) as no_reason:
        service.remove(login(staff, "pharmacist"), pid, "  ")
    assert no_reason.value.code == "reason"
    pharmacist = login(staff, "pharmacist")
    service.remove(pharmacist, pid, "moved to another program")

    assert emu.library() == {kept_position: "kept/right-index"}
    assert [r[0] for r in template_rows(store)] == [keep]
    assert store.participant(pid).status == "removed"  # type: ignore[union-attr]
    statuses = store.conn.execute(
        "SELECT status FROM prescriptions WHERE participant_id = ?", (pid,)
    ).fetchall()
    assert statuses == [("cancelled",), ("cancelled",)]
    assert store.conn.execute(
        "SELECT count(*) FROM dispense_intents WHERE participant_id = ?", (pid,)
    ).fetchone() == (1,)
    [(actor, subject, details)] = audit(store, "participant.removed")
    assert (actor, subject) == (pharmacist.actor, f"participant:{pid}")
    assert details["reason"] == "moved to another program"
    assert len(details["positions"]) == 2 and len(details["prescriptions_cancelled"]) == 2
    assert isinstance(identified(store, sensor, emu, "drew/right-index"), Unrecognised)
    assert service.search(pharmacist, "drew") == []
    with pytest.raises(InvalidInput, match="participant"):
        service.start_enrollment(nurse, pid, "right-index")


def test_hold_release_and_language(
    service: ParticipantService, staff: StaffService, store: Store, clock: FixedClock
) -> None:
    worker = login(staff, "staff")
    pid = service.create(worker, None, "Quinn", "en")
    now = clock.now()
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    rx1 = store.add_prescription(pid, med, 2, ALL_DAY, 8, date(2026, 6, 1), None, now, "test")
    rx2 = store.add_prescription(pid, med, 1, ALL_DAY, 4, date(2026, 6, 1), None, now, "test")

    assert service.hold(worker, pid, "behaviour review") == [rx1, rx2]
    assert store.conn.execute(
        "SELECT DISTINCT status, hold_kind, hold_reason FROM prescriptions"
    ).fetchall() == [("on_hold", "staff", "behaviour review")]
    assert service.search(worker, "quinn")[0].on_hold
    assert service.hold(worker, pid, "again") == []  # nothing active: no-op
    [(actor, _subject, details)] = audit(store, "prescription.held")
    assert actor == worker.actor and details["kind"] == "staff"

    with pytest.raises(NotPermitted):
        service.release(worker, rx1, "reviewed")  # staff may hold, not release
    nurse = login(staff, "nurse")
    service.release(nurse, rx1, "reviewed with the team")
    with pytest.raises(InvalidInput) as not_held:
        service.release(nurse, rx1, "twice")
    assert not_held.value.code == "not_on_hold"
    assert [p.status.value for p in store.prescriptions(pid)] == ["active", "on_hold"]
    assert audit(store, "prescription.released")[0][0] == nurse.actor

    service.set_language(worker, pid, "fr_CA")
    assert store.participant(pid).language == "fr_CA"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="language"):
        service.set_language(worker, pid, "klingon")
    assert audit(store, "participant.language_changed")[0][2] == {
        "participant_id": pid,
        "language": "fr_CA",
    }


# ------------------------------------------------------------------ the sensor, permissions


def test_reload_onto_a_fresh_sensor_restores_identification(
    service: ParticipantService,
    staff: StaffService,
    store: Store,
    clock: FixedClock,
    emu: FingerprintEmulator,
) -> None:
    nurse = login(staff, "nurse")
    alex = service.create(nurse, None, "Alex", "fr_CA")
    sam = service.create(nurse, None, "Sam", "en")
    enroll(service, nurse, emu, alex, "right-index", "alex/right-index")
    enroll(service, nurse, emu, sam, "left-thumb", "sam/left-thumb")
    with FingerprintEmulator() as replacement:
        fresh = ZfmSensor(replacement.port, call_budget=2.0)
        fresh.open()
        try:
            on_fresh = ParticipantService(store, fresh, clock, staff)
            technician = login(staff, "technician")
            before = identified(store, fresh, replacement, "alex/right-index")
            assert isinstance(before, Unrecognised)
            assert on_fresh.reload_sensor(technician) == 2
            assert replacement.library().keys() == emu.library().keys()
            assert identified(store, fresh, replacement, "alex/right-index") == Recognised(
                alex, "fr_CA"
            )
            assert identified(store, fresh, replacement, "sam/left-thumb") == Recognised(sam, "en")
            assert on_fresh.reload_sensor(technician) == 0
            assert [e[2] for e in audit(store, "sensor.reloaded")] == [{"loaded": 2}, {"loaded": 0}]
            with pytest.raises(NotPermitted):
                on_fresh.reload_sensor(nurse)
        finally:
            fresh.close()


def test_roles_without_the_permission_are_refused_and_audited(
    service: ParticipantService, staff: StaffService, store: Store, emu: FingerprintEmulator
) -> None:
    pid = service.create(login(staff, "admin"), None, "Ari", "en")
    technician = login(staff, "technician")
    worker = login(staff, "staff")
    refused = [
        lambda: service.start_enrollment(technician, pid, "right-index"),
        lambda: service.create(technician, None, "X", "en"),
        lambda: service.search(technician, ""),
        lambda: service.set_language(technician, pid, "fr_CA"),
        lambda: service.hold(technician, pid, "r"),
        lambda: service.remove(worker, pid, "r"),
        lambda: service.remove(login(staff, "nurse"), pid, "r"),
    ]
    for attempt in refused:
        with pytest.raises(NotPermitted):
            attempt()
    subjects = [subject for _actor, subject, _details in audit(store, "staff.refused")]
    assert subjects == ["enroll"] * 4 + ["hold"] + ["remove_participant"] * 2
    assert store.participant(pid).status == "active"  # type: ignore[union-attr]
    assert emu.library() == {}
    with pytest.raises(InvalidInput, match="finger"):
        service.start_enrollment(login(staff, "admin"), pid, "right-toe")


class _DeleteFails:
    """The real driver, except that deleting a template fails as a silent sensor would."""

    def __init__(self, sensor: ZfmSensor) -> None:
        self._sensor = sensor
        self.failing: set[int] = set()

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._sensor, name)

    def delete_template(self, position: int) -> None:
        if position in self.failing:
            raise SensorTimeout("no answer within 2 s")
        self._sensor.delete_template(position)


def test_a_sensor_failure_while_replacing_keeps_the_old_enrollment_valid(
    staff: StaffService,
    store: Store,
    sensor: ZfmSensor,
    clock: FixedClock,
    emu: FingerprintEmulator,
) -> None:
    flaky = _DeleteFails(sensor)
    service = ParticipantService(store, flaky, clock, staff)  # type: ignore[arg-type]
    nurse = login(staff, "nurse")
    pid = service.create(nurse, None, "Blake", "en")
    old = enroll(service, nurse, emu, pid, "right-index", "blake/old")
    rows, audited = template_rows(store), len(audit(store, "fingerprint.enrolled"))
    flaky.failing.add(old)
    enrollment = service.start_enrollment(nurse, pid, "right-index")
    assert press(enrollment, emu, "blake/new") is G
    assert press(enrollment, emu, "blake/new") is G
    with pytest.raises(SensorTimeout):
        press(enrollment, emu, "blake/new")
    # The new template came off the sensor again; store and audit are unchanged.
    assert emu.library() == {old: "blake/old"}
    assert template_rows(store) == rows
    assert len(audit(store, "fingerprint.enrolled")) == audited
    assert identified(store, sensor, emu, "blake/old") == Recognised(pid, "en")
    # The presses start over; once the sensor answers again the replacement goes through.
    assert (enrollment.captured, enrollment.done) == (0, False)
    flaky.failing.clear()
    assert [press(enrollment, emu, "blake/new") for _ in range(3)][-1] is CaptureOutcome.ENROLLED
    assert list(emu.library().values()) == ["blake/new"]
