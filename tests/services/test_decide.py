"""The decide service: holds persisted from history, releases, clock trust, explanations."""

from __future__ import annotations

from datetime import date, time, timedelta

from kiosk.domain.dosing import RefusalReason
from kiosk.domain.model import PrescriptionStatus, SiteClock, Window
from kiosk.services.clock import FixedClock
from kiosk.services.decide import DecideService
from kiosk.services.explain import explain_text
from kiosk.store import audit
from kiosk.store.repository import Store
from tests.services.doubles import two_medications

SITE = SiteClock("America/Vancouver", 4, 3)
ALL_DAY = (Window(time(4), time(3, 59)),)


def enrol(store: Store, clock: FixedClock, start: date, **extra: object) -> tuple[int, int]:
    now = clock.now()
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    store.set_lane(1, med, 20, now, "test")
    pid = store.add_participant("P-1", "Name", None, now, "test")
    rx = store.add_prescription(pid, med, 2, ALL_DAY, 8, start, None, now, "test", **extra)  # type: ignore[arg-type]
    return pid, rx


def test_a_missed_dose_hold_is_persisted_once_with_an_alert(
    store: Store, clock: FixedClock
) -> None:
    pid, _rx = enrol(store, clock, date(2026, 6, 1))  # no pickup for 9 days
    service = DecideService(store, clock, SITE)
    first = service.decide(pid)
    assert first.refusal is not None
    assert first.refusal.reason is RefusalReason.MISSED_DOSES
    [held] = store.prescriptions(pid)
    assert held.status is PrescriptionStatus.ON_HOLD
    assert held.hold_reason == "needs prescriber review"
    assert [a[1] for a in store.open_alerts()] == ["missed_doses"]
    entries = audit.verify_chain(store.conn).entries
    second = service.decide(pid)  # now an ordinary hold: nothing written again
    assert second.refusal is not None and second.refusal.reason is RefusalReason.ON_HOLD
    assert audit.verify_chain(store.conn).entries == entries
    assert len(store.open_alerts()) == 1


def test_a_release_with_a_reason_restarts_the_count(store: Store, clock: FixedClock) -> None:
    pid, rx = enrol(store, clock, date(2026, 6, 1))
    service = DecideService(store, clock, SITE)
    service.decide(pid)
    store.release_prescription(rx, "spoke with the prescriber", clock.now(), "staff:1")
    assert service.decide(pid).doses  # allowed again today
    actions = [r[0] for r in store.conn.execute("SELECT action FROM audit_log ORDER BY seq")]
    assert "prescription.released" in actions
    # Three more days without a pickup: on hold again on the fourth.
    clock.at = clock.at + timedelta(days=3)
    view = service.decide(pid)
    assert view.refusal is not None and view.refusal.reason is RefusalReason.MISSED_DOSES


def test_explaining_a_past_or_future_instant_writes_nothing(
    store: Store, clock: FixedClock
) -> None:
    pid, _rx = enrol(store, clock, date(2026, 6, 1))
    entries = audit.verify_chain(store.conn).entries
    view = DecideService(store, clock, SITE).decide(pid, at=clock.now() + timedelta(days=2))
    assert view.refusal is not None and view.refusal.reason is RefusalReason.MISSED_DOSES
    assert audit.verify_chain(store.conn).entries == entries
    assert store.prescriptions(pid)[0].status is PrescriptionStatus.ACTIVE
    text = explain_text(view, SITE)
    assert "needs prescriber review" in text
    assert "11 dosing days in a row without a pickup (hold at 3)" in text


def test_an_untrusted_clock_refuses_and_alerts_staff(store: Store, clock: FixedClock) -> None:
    pid, _rx = enrol(store, clock, date(2026, 6, 9))
    clock.at = clock.at - timedelta(minutes=10)  # the clock jumped back
    view = DecideService(store, clock, SITE).decide(pid)
    assert view.refusal is not None
    assert view.refusal.reason is RefusalReason.CLOCK_UNTRUSTED
    assert [a[1] for a in store.open_alerts()] == ["clock"]


def test_only_a_nurse_or_pharmacist_may_release_a_hold(store: Store, clock: FixedClock) -> None:
    import pytest

    from kiosk.services.holds import HoldService, NotPermitted
    from kiosk.store.pins import hash_pin

    pid, rx = enrol(store, clock, date(2026, 6, 1))
    DecideService(store, clock, SITE).decide(pid)  # held for review
    worker = store.add_staff("Night worker", "staff", hash_pin("111111"), clock.now(), "test")
    pharmacist = store.add_staff(
        "Pharmacist", "pharmacist", hash_pin("222222"), clock.now(), "test"
    )
    holds = HoldService(store, clock)
    with pytest.raises(NotPermitted):
        holds.release(rx, worker, "asked nicely")
    assert store.prescriptions(pid)[0].status is PrescriptionStatus.ON_HOLD
    holds.release(rx, pharmacist, "prescriber confirmed by phone")
    assert store.prescriptions(pid)[0].status is PrescriptionStatus.ACTIVE
    actions = [r[0] for r in store.conn.execute("SELECT action FROM audit_log ORDER BY seq")]
    assert actions[-2:] == ["prescription.release_refused", "prescription.released"]


# ---------------------------------------------------------------- lanes: no promise unkept


def no_lane_alerts(store: Store) -> list[str]:
    return [subject for _id, kind, subject, _msg in store.open_alerts() if kind == "no_lane"]


def test_a_dose_without_a_ready_lane_is_set_apart_and_staff_are_told_once(
    store: Store, clock: FixedClock
) -> None:
    m = two_medications(store, clock, ALL_DAY)
    pid, srom = m.participant, m.morphine
    service = DecideService(store, clock, SITE)
    both = service.decide(pid)
    assert [d.prescription.medication.name for d in both.doses] == [
        "hydromorphone",
        "slow-release oral morphine",
    ]
    assert both.unavailable == () and no_lane_alerts(store) == []
    for state in ("jammed", "empty", "fault"):
        store.set_lane_state(2, state, clock.now(), "controller")
        view = service.decide(pid)
        assert [d.prescription.medication.name for d in view.doses] == ["hydromorphone"]
        assert [d.prescription.medication.name for d in view.unavailable] == [
            "slow-release oral morphine"
        ]
        assert view.refusal is None
    assert no_lane_alerts(store) == [f"medication:{srom}"]  # once, not once a decision
    store.set_lane_state(2, "ready", clock.now(), "controller")
    store.set_lane(2, srom, 0, clock.now(), "test")  # ready, but nothing in it
    assert len(service.decide(pid).unavailable) == 1
    store.set_lane(2, None, 0, clock.now(), "test")  # unassigned
    assert len(service.decide(pid).unavailable) == 1


def test_nothing_dispensable_needs_no_witness_and_explaining_ignores_lanes(
    store: Store, clock: FixedClock
) -> None:
    pid = two_medications(store, clock, ALL_DAY, witnessed_capsules=True).participant
    service = DecideService(store, clock, SITE)
    assert service.decide(pid).needs_witness  # the witnessed capsule can be given
    store.set_lane_state(2, "jammed", clock.now(), "controller")
    view = service.decide(pid)
    assert not view.needs_witness  # nobody is sent to a nurse for what cannot be given
    assert [d.prescription.witnessed for d in view.doses] == [False]
    store.set_lane_state(1, "jammed", clock.now(), "controller")
    nothing = service.decide(pid)
    assert (nothing.doses, len(nothing.unavailable), nothing.refusal) == ((), 2, None)
    assert not nothing.needs_witness
    # `kiosk explain` is about the rules: lanes are not looked at, nothing is written.
    entries = audit.verify_chain(store.conn).entries
    explained = service.decide(pid, at=clock.now())
    assert (len(explained.doses), explained.unavailable) == (2, ())
    assert audit.verify_chain(store.conn).entries == entries
