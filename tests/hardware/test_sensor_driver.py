"""The real ZfmSensor, and so the real pyfingerprint, against the emulator over a pty."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.emulators.fingerprint import (
    ACK,
    DATASHEET_IMAGE_SECONDS,
    DATASHEET_SEARCH_SECONDS,
    PARTIAL_SCORE,
    FingerprintEmulator,
    PacketParser,
    Quality,
    characteristics_for,
    encode_packet,
)
from hardware.ports import (
    DeviceState,
    FingerprintSensor,
    ImageProblem,
    Match,
    PoorImage,
    SensorDisconnected,
    SensorError,
    SensorInfo,
    SensorProtocolError,
    SensorRefused,
    SensorTimeout,
)
from hardware.sensor import ZfmSensor

ALICE = "participant-17/right-index"  # enrolled at position 5
BOB = "participant-42/left-thumb"  # never enrolled
BUDGET = 1.0


@pytest.fixture
def finger_emu() -> Iterator[FingerprintEmulator]:
    emu = FingerprintEmulator()
    emu.enroll(ALICE, 5)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def sensor(finger_emu: FingerprintEmulator) -> Iterator[ZfmSensor]:
    s = ZfmSensor(finger_emu.port, call_budget=BUDGET)
    s.open()
    yield s
    s.close()


def test_open_and_info(sensor: ZfmSensor) -> None:
    assert isinstance(sensor, FingerprintSensor)
    assert sensor.state is DeviceState.READY
    assert sensor.info() == SensorInfo(
        capacity=300, security_level=3, template_count=1, packet_size=128
    )
    assert sensor.template_positions() == [5]


def test_call_before_open_is_a_sensor_error(finger_emu: FingerprintEmulator) -> None:
    with pytest.raises(SensorError, match="not open"):
        ZfmSensor(finger_emu.port).info()


def test_no_finger(sensor: ZfmSensor) -> None:
    assert sensor.finger_present() is False


def test_enrolled_finger_is_identified(sensor: ZfmSensor, finger_emu: FingerprintEmulator) -> None:
    finger_emu.place_finger(ALICE)
    assert sensor.finger_present() is True
    match = sensor.identify()
    assert isinstance(match, Match)
    assert match.position == 5
    assert match.score > 0


def test_unknown_finger_is_not_identified(
    sensor: ZfmSensor, finger_emu: FingerprintEmulator
) -> None:
    finger_emu.place_finger(BOB)
    assert sensor.finger_present()
    assert sensor.identify() is None


@pytest.mark.parametrize(
    ("quality", "problem"),
    [("poor", ImageProblem.FEW_FEATURES), ("messy", ImageProblem.MESSY)],
)
def test_poor_image(
    sensor: ZfmSensor, finger_emu: FingerprintEmulator, quality: Quality, problem: ImageProblem
) -> None:
    finger_emu.place_finger(ALICE, quality)
    assert sensor.finger_present()
    with pytest.raises(PoorImage) as raised:
        sensor.identify()
    assert raised.value.problem is problem  # what staff are told to do differs
    assert sensor.state is DeviceState.READY  # the sensor answered; nothing to reopen


def test_compare_scores_two_presses_over_the_wire(
    sensor: ZfmSensor, finger_emu: FingerprintEmulator
) -> None:
    """ZFM "match" (0x03) through pyfingerprint's compareCharacteristics: a full score for
    the same finger, a low one for a partial press of it, 0 for another finger."""
    _capture(sensor, finger_emu, ALICE, 1)
    _capture(sensor, finger_emu, ALICE, 2)
    assert sensor.compare_characteristics() >= 50
    finger_emu.lift_finger()
    finger_emu.place_finger(ALICE, "partial")
    assert sensor.finger_present()
    sensor.capture_characteristics(2)
    assert sensor.compare_characteristics() == PARTIAL_SCORE
    _capture(sensor, finger_emu, BOB, 2)
    assert sensor.compare_characteristics() == 0


def test_datasheet_timings_survive_the_short_byte_timeout(finger_emu: FingerprintEmulator) -> None:
    # A 0.4 s image is slower than the 0.2 s per-byte timeout; the answer must still parse.
    finger_emu.image_seconds = DATASHEET_IMAGE_SECONDS
    finger_emu.search_seconds = DATASHEET_SEARCH_SECONDS
    finger_emu.place_finger(ALICE)
    s = ZfmSensor(finger_emu.port)
    s.open()
    try:
        assert s.finger_present()
        match = s.identify()
        assert match is not None and match.position == 5
    finally:
        s.close()


def _capture(sensor: ZfmSensor, emu: FingerprintEmulator, key: str, buffer: int) -> None:
    emu.place_finger(key)
    assert sensor.finger_present()
    sensor.capture_characteristics(buffer)
    emu.lift_finger()


def test_enrol_then_reload_on_a_replaced_sensor(
    sensor: ZfmSensor, finger_emu: FingerprintEmulator
) -> None:
    _capture(sensor, finger_emu, BOB, 1)
    _capture(sensor, finger_emu, BOB, 2)
    assert sensor.create_template()
    sensor.store_template(7)
    assert sensor.template_positions() == [5, 7]
    assert finger_emu.library() == {5: ALICE, 7: BOB}
    kept = sensor.download_characteristics(1)
    assert kept == characteristics_for(BOB)

    # The sensor is replaced: a blank one gets the kept characteristics back.
    with FingerprintEmulator() as fresh:
        replacement = ZfmSensor(fresh.port, call_budget=BUDGET)
        replacement.open()
        try:
            replacement.upload_characteristics(kept)
            replacement.store_template(3)
            assert fresh.library() == {3: kept}
            fresh.place_finger(BOB)
            assert replacement.finger_present()
            match = replacement.identify()
            assert match is not None and match.position == 3
        finally:
            replacement.close()


def test_two_different_fingers_do_not_make_a_template(
    sensor: ZfmSensor, finger_emu: FingerprintEmulator
) -> None:
    _capture(sensor, finger_emu, BOB, 1)
    _capture(sensor, finger_emu, ALICE, 2)
    assert sensor.create_template() is False


def test_load_and_delete_template(sensor: ZfmSensor, finger_emu: FingerprintEmulator) -> None:
    sensor.load_template(5, 2)
    assert sensor.download_characteristics(2) == characteristics_for(ALICE)
    sensor.delete_template(5)
    assert sensor.template_positions() == []
    with pytest.raises(SensorRefused):
        sensor.load_template(5)  # empty slot: the sensor says no, the link is fine
    assert sensor.state is DeviceState.READY


def test_template_bytes_are_never_logged(
    sensor: ZfmSensor, caplog: pytest.LogCaptureFixture
) -> None:
    blob = characteristics_for(BOB)
    with caplog.at_level(logging.DEBUG, logger="hardware.sensor"):
        sensor.upload_characteristics(blob)
        assert sensor.download_characteristics() == blob
        sensor.close()
    assert blob.hex()[:16] not in caplog.text
    assert repr(blob)[:20] not in caplog.text


def test_wrong_password_is_refused(finger_emu: FingerprintEmulator) -> None:
    s = ZfmSensor(finger_emu.port, password=0x1234, call_budget=BUDGET)
    with pytest.raises(SensorRefused) as refused:
        s.open()
    assert refused.value.code == 0x13
    assert s.state is DeviceState.FAULT
    s.close()


def test_silent_sensor_times_out_then_recovers(
    sensor: ZfmSensor, finger_emu: FingerprintEmulator
) -> None:
    finger_emu.set_silent(True)
    started = time.monotonic()
    with pytest.raises(SensorTimeout):
        sensor.info()
    assert time.monotonic() - started < BUDGET + 1.0
    assert sensor.state is DeviceState.SILENT
    with pytest.raises(SensorTimeout):  # still dead: the reopen itself times out
        sensor.finger_present()

    finger_emu.set_silent(False)
    assert sensor.info().template_count == 1  # reopened and verified again
    assert sensor.state is DeviceState.READY


@pytest.mark.parametrize(
    "noise",
    [
        b"\x00\x13garbage on the line\xff",
        encode_packet(ACK, b"\x00")[:-1] + b"\x00",  # well framed, wrong checksum
    ],
    ids=["noise", "bad-checksum"],
)
def test_garbage_is_a_protocol_error(
    sensor: ZfmSensor, finger_emu: FingerprintEmulator, noise: bytes
) -> None:
    finger_emu.inject(noise)
    with pytest.raises(SensorProtocolError):
        sensor.finger_present()
    assert sensor.state is DeviceState.FAULT
    assert sensor.finger_present() is False  # resynchronised by the reopen
    assert sensor.state is DeviceState.READY


def test_vanished_port_is_a_disconnect(sensor: ZfmSensor, finger_emu: FingerprintEmulator) -> None:
    finger_emu.stop()
    with pytest.raises(SensorDisconnected):
        sensor.info()
    assert sensor.state is DeviceState.DISCONNECTED
    with pytest.raises(SensorDisconnected):  # the reopen fails the same typed way
        sensor.info()


def test_missing_port_is_a_disconnect() -> None:
    s = ZfmSensor("/dev/does-not-exist-ttyUSB9", call_budget=BUDGET)
    with pytest.raises(SensorDisconnected):
        s.open()
    assert s.state is DeviceState.DISCONNECTED
    s.close()


@given(
    payloads=st.lists(st.binary(max_size=256), min_size=1, max_size=4),
    noise=st.binary(max_size=20).filter(lambda b: b"\xef" not in b),
    cut=st.integers(min_value=1, max_value=64),
)
def test_emulator_parser_reassembles_packets_from_any_chunking(
    payloads: list[bytes], noise: bytes, cut: int
) -> None:
    # The emulator must frame exactly what pyfingerprint frames, however the pty splits it.
    wire = noise + b"".join(encode_packet(0x02, p, 0x12345678) for p in payloads)
    parser = PacketParser()
    packets = [pk for i in range(0, len(wire), cut) for pk in parser.feed(wire[i : i + cut])]
    assert [pk.payload for pk in packets] == payloads
    assert all(pk.checksum_ok and pk.address == 0x12345678 for pk in packets)
