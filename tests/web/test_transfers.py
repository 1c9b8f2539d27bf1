"""Transfers and guest days in a real browser: a transfer works; a guest day shows "waiting for
the home machine" and is not usable at the guest machine until the home machine's
``guest.blocked`` arrives (a real push through fleet.ingest), then it is. axe on every page."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone
from fleet import ingest, moves
from fleet.models import GuestPass, Machine, Participant, Prescription
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.web.helpers import check_accessible, sign_in, wait_for_new_page


def _submit(browser: WebDriver, form_css: str) -> None:
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, f"{form_css} button[type=submit]").click()
    wait_for_new_page(browser, old)


def _open(browser: WebDriver, live_server: Any, code: str) -> None:
    browser.get(f"{live_server.url}/transfers/?q={code}")
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Move or guest day").click()
    wait_for_new_page(browser, old)
    assert browser.find_element(By.TAG_NAME, "h1").text == f"{code}: move or guest day"


def test_a_transfer_works(browser: WebDriver, live_server: Any, care_demo: Any) -> None:
    sign_in(browser, live_server, "prescriber")
    browser.get(f"{live_server.url}/transfers/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Transfers and guest days"
    check_accessible(browser, "transfers")
    _open(browser, live_server, "P-0001")
    check_accessible(browser, "transfers-participant")
    # No machine chosen: said in the form, nothing moved.
    browser.find_element(By.ID, "id_move-reason").send_keys("Moved closer to the clinic")
    _submit(browser, "#move-heading + p + form")
    assert (
        "Choose the machine to move to."
        in browser.find_element(By.ID, "move-to_machine-error").text
    )
    check_accessible(browser, "transfers-participant-error")
    Select(browser.find_element(By.ID, "id_move-to_machine")).select_by_visible_text(
        "Demo Downtown — kiosk-2"
    )
    _submit(browser, "#move-heading + p + form")
    assert (
        "P-0001 moved to Demo Downtown — kiosk-2"
        in browser.find_element(By.CSS_SELECTOR, ".messages").text
    )
    moved = Participant.objects.get(code="P-0001", machine__name="kiosk-2")
    assert moved.status == "active"
    assert Prescription.objects.filter(participant=moved, status="active").count() == 1
    old = Participant.objects.get(code="P-0001", machine__name="kiosk-1")
    assert old.status == "inactive"


def test_a_guest_day_waits_for_the_home_machine_then_is_usable(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "pharmacist")
    _open(browser, live_server, "P-0002")
    Select(browser.find_element(By.ID, "id_guest-guest_machine")).select_by_visible_text(
        "Demo Downtown — kiosk-2"
    )
    home = Machine.objects.get(name="kiosk-1", site=care_demo.site)
    day = moves.dosing_day(home.site)
    browser.execute_script(
        "document.getElementById('id_guest-day').value = arguments[0]", day.isoformat()
    )
    browser.find_element(By.CSS_SELECTOR, "input[name='guest-prescriptions']").click()
    browser.find_element(By.ID, "id_guest-reason").send_keys("Visiting family downtown")
    _submit(browser, "#guest-heading + p + form")
    row = browser.find_element(By.CSS_SELECTOR, "#guest-passes tr.pass")
    assert "Waiting for the home machine to confirm. Not usable yet." in row.text
    check_accessible(browser, "transfers-guest-waiting")
    # Not usable: the guest machine has no participant, nothing to give.
    guest_pass = GuestPass.objects.get()
    assert not Participant.objects.filter(code="P-0002", machine__name="kiosk-2").exists()

    # The home machine pushes its acknowledgement, as the kiosk does after storing the block.
    blocked = ingest.IncomingEvent(
        seq=1,
        id=uuid.uuid4(),
        type="guest.blocked",
        created_at=timezone.now(),
        payload={"guest_pass": str(guest_pass.pk), "subject": "P-0002", "day": str(day)},
    )
    ingest.store(home, ingest.Push([blocked], None))
    browser.refresh()
    row = browser.find_element(By.CSS_SELECTOR, "#guest-passes tr.pass")
    assert "Confirmed. Usable at the guest machine that day." in row.text
    assert not row.find_elements(By.TAG_NAME, "button")  # no cancel once confirmed
    guest = Participant.objects.get(code="P-0002", machine__name="kiosk-2")
    rx = Prescription.objects.get(participant=guest)
    assert (rx.start_date, rx.end_date, rx.status) == (day, day, "active")
    check_accessible(browser, "transfers-guest-confirmed")
