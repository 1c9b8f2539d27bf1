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

SITE = SiteClock("America/Vancouver", 4, 3)
ALL_DAY = (Window(time(4), time(3, 59)),)


def enrol(store: Store, clock: FixedClock, start: date, **extra: object) -> tuple[int, int]:
    now = clock.now()
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
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
