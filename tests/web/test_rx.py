"""Participants and prescriptions in a real browser, and the issue's "done means": a prescriber
writes a prescription, a pharmacist verifies it, it reaches a LIVE KIOSK by sync (the kiosk's
own provision, HubClient and SyncService against the live server) and the participant gets the
dose through the kiosk's own decide and dispense path on the controller emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from care.models import Membership, PrescriptionDraft
from care.roles import Role
from fleet.models import EnrollmentCode, Event, Machine, Participant
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from kiosk.domain.model import SiteClock
from kiosk.services.clock import SystemClock
from kiosk.services.decide import DecideService
from kiosk.services.dispense import DispenseService
from kiosk.services.sync import HubClient, SyncService, provision
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file
from kiosk.store.repository import Store
from tests.web.helpers import check_accessible, sign_in, wait_for_new_page


def _click(browser: WebDriver, text: str) -> None:
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(
        By.XPATH, f"//*[self::a or self::button][normalize-space()={text!r}]"
    ).click()
    wait_for_new_page(browser, old)


def _type(browser: WebDriver, field: str, value: str) -> None:
    element = browser.find_element(By.NAME, field)
    element.clear()
    element.send_keys(value)


def _switch_user(browser: WebDriver, live_server: Any, username: str) -> None:
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    sign_in(browser, live_server, username)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[ControllerEmulator]:
    emu = ControllerEmulator(
        lanes=2,
        unit_seconds=0.01,
        jam_seconds=0.05,
        boot_seconds=0.02,
        nvram_path=tmp_path / "nvram.json",
        stock=10,
    )
    emu.start()
    yield emu
    emu.stop()


def test_search_live_results_and_the_profile(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "nurse")
    browser.get(f"{live_server.url}/participants/")
    check_accessible(browser, "participants-search")
    box = browser.find_element(By.ID, "id_q")
    box.send_keys("tremblay")  # htmx: results as you type, no page load
    WebDriverWait(browser, 5).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results tbody tr")) == 2
    )
    assert "q=tremblay" in browser.current_url
    browser.find_element(By.LINK_TEXT, "P-0002").click()
    WebDriverWait(browser, 5).until(lambda d: "P-0002" in d.find_element(By.TAG_NAME, "h1").text)
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "kiosk-1 at Demo Downtown" in text and "never synced" in text
    check_accessible(browser, "participant-profile")


def test_a_prescription_written_verified_synced_and_dispensed(
    browser: WebDriver,
    live_server: Any,
    care_demo: Any,
    tmp_path: Path,
    emulator: ControllerEmulator,
    request: pytest.FixtureRequest,
) -> None:
    machine = Machine.objects.get(site=care_demo.site, name="kiosk-1")
    person = Participant(machine=machine, code="P-0500", display_name="Robin Case")
    person.save()
    # The prescriber is a pharmacist too: still not allowed to verify their own.
    Membership.objects.create(
        user=care_demo.users["prescriber"], site=care_demo.site, role=Role.PHARMACIST
    )

    # The kiosk: enrolled with a code, provisioned against the live hub, first sync.
    _, code = EnrollmentCode.issue(machine)
    credentials = provision(live_server.url, code, tmp_path)
    conn = connect(tmp_path / "kiosk.db", create_key_file(tmp_path / "db.key"))
    store, clock = Store(conn), SystemClock()
    client = HubClient(live_server.url, credentials, clock.now)
    request.addfinalizer(client.close)
    request.addfinalizer(conn.close)
    sync = SyncService(conn, client, clock)
    sync.run_once()
    assert store.participant_by_code("P-0500") is not None

    # The prescriber writes it.
    sign_in(browser, live_server, "prescriber")
    browser.get(f"{live_server.url}/participants/?q=P-0500")
    browser.find_element(By.LINK_TEXT, "P-0500").click()
    WebDriverWait(browser, 5).until(lambda d: "P-0500" in d.find_element(By.TAG_NAME, "h1").text)
    _click(browser, "New prescription here")
    _type(browser, "medication_name", "hydromorphone")
    _type(browser, "medication_strength", "8 mg")
    Select(browser.find_element(By.NAME, "medication_form")).select_by_value("tablet")
    _type(browser, "units_per_dose", "2")
    _type(browser, "daily_max_units", "1")  # too low: a clear error next to the field
    _type(browser, "interval_minutes", "60")
    _type(browser, "note", "Starting safer supply")
    _click(browser, "Send for verification")
    error = browser.find_element(By.ID, "id_daily_max_units-error").text
    assert "at least the units per dose" in error
    assert browser.find_element(By.NAME, "daily_max_units").get_attribute("aria-invalid") == "true"
    check_accessible(browser, "prescription-form-errors")
    _type(browser, "daily_max_units", "4")
    _click(browser, "Send for verification")
    draft = PrescriptionDraft.objects.get(participant=person)
    assert draft.status == "submitted"
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "another pharmacist must verify" in main
    assert not browser.find_elements(By.XPATH, "//button[starts-with(normalize-space(), 'Verify')]")
    check_accessible(browser, "prescription-draft-own")

    # A pharmacist verifies it.
    _switch_user(browser, live_server, "pharmacist")
    assert browser.current_url == f"{live_server.url}/verify/"
    check_accessible(browser, "verify-queue")
    browser.find_element(By.PARTIAL_LINK_TEXT, "for P-0500").click()
    WebDriverWait(browser, 5).until(lambda d: "draft" in d.find_element(By.TAG_NAME, "h1").text)
    check_accessible(browser, "prescription-draft-review")
    _click(browser, "Verify: send to the machine")
    assert "next sync" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    check_accessible(browser, "prescription-detail")
    draft.refresh_from_db()
    assert draft.status == "verified" and draft.result is not None

    # The kiosk pulls it, decides with its own rules and dispenses on the emulator.
    sync.run_once()
    local = store.participant_by_code("P-0500")
    assert local is not None
    [rx] = store.prescriptions(local.id)
    assert (rx.units_per_dose, rx.interval_minutes) == (2, 60)
    store.set_lane(1, rx.medication.id, 10, clock.now(), "staff:1")
    site = care_demo.site
    decide = DecideService(
        store, clock, SiteClock(site.timezone, site.day_start_hour, site.missed_dose_days)
    )
    view = decide.decide(local.id)
    [dose] = view.doses
    assert dose.units == 2
    driver = SerialController(emulator.port)
    driver.open()
    try:
        result = DispenseService(store, driver, clock).vend(local.id, dose.prescription, dose.units)
    finally:
        driver.close()
    assert (result.dropped, result.outcome) == (2, "complete")
    assert decide.decide(local.id).doses == ()  # 60 minutes before the next

    # The dispense reaches the hub, whose profile explains the kiosk's next refusal.
    sync.run_once()
    assert Event.objects.filter(machine=machine, type="dispense.result").count() == 1
    browser.get(f"{live_server.url}/participants/{person.pk}/")
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "as of the last sync at" in text and "Refused" in text
    assert "2 of 4 units given today" in text or "60 minutes apart" in text
    check_accessible(browser, "participant-profile-after-dose")


def test_a_viewer_sees_no_write_links(browser: WebDriver, live_server: Any, care_demo: Any) -> None:
    sign_in(browser, live_server, "viewer")
    participant = Participant.objects.get(
        machine__site=care_demo.site, machine__name="kiosk-1", code="P-0001"
    )
    browser.get(f"{live_server.url}/participants/{participant.pk}/")
    assert not browser.find_elements(By.PARTIAL_LINK_TEXT, "New prescription")
    rx = participant.prescriptions.get()
    browser.get(f"{live_server.url}/prescriptions/{rx.pk}/")
    assert not browser.find_elements(By.CSS_SELECTOR, "main form")
    assert not browser.find_elements(By.LINK_TEXT, "Change")
    check_accessible(browser, "prescription-viewer")
