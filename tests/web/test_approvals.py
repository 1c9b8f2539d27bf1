"""The approvals pages in a real browser: a kiosk's request with its machine's state, approved
by the nurse; "Approve by phone" showing a response. Both pass axe-core and are saved in
docs/screenshots/hub/."""

from __future__ import annotations

import uuid
from typing import Any

import pyotp
from care.models import ApprovalRequest
from django.utils import timezone
from fleet.models import Event, Machine
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.web.helpers import check_accessible, sign_in, wait_for_new_page


def _request(machine: Machine) -> ApprovalRequest:
    now = timezone.now()
    Event.objects.create(
        machine=machine, seq=1, type="alert.raised", payload={"kind": "door"}, created_at=now
    )
    return ApprovalRequest.objects.create(
        machine=machine,
        request_id=uuid.uuid4(),
        action="clear_door_lockout",
        subject="machine",
        requested_by="staff:3",
        challenge="04815162",
        requested_at=now,
    )


def test_a_request_is_approved_from_the_page(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    machine = Machine.objects.filter(site=care_demo.site).order_by("name").first()
    assert machine is not None
    found = _request(machine)
    sign_in(browser, live_server, "nurse")
    browser.get(f"{live_server.url}/approvals/")
    section = browser.find_element(By.ID, f"approval-{found.pk}").text
    assert "Clear a service-door lockout" in section and "staff:3" in section
    assert "Alert raised" in section
    check_accessible(browser, "approvals")
    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, f"#approval-{found.pk} button[value=approve]").click()
    wait_for_new_page(browser, before)
    assert "Approved." in browser.find_element(By.TAG_NAME, "main").text
    found.refresh_from_db()
    assert found.state == "approved"


def test_approve_by_phone_shows_the_response(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "pharmacist")
    browser.get(f"{live_server.url}/approvals/phone/")
    Select(browser.find_element(By.ID, "id_action")).select_by_value("release_hold")
    browser.find_element(By.ID, "id_challenge").send_keys("12345678")
    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for_new_page(browser, before)
    code = browser.find_element(By.CSS_SELECTOR, ".approval-code").text
    assert len(code.replace(" ", "")) == 8
    check_accessible(browser, "approvals-phone")


def test_my_authenticator_shows_a_qr_code_and_confirms_the_app(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "nurse")
    browser.get(f"{live_server.url}/approvals/authenticator/")
    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "authenticator-start").click()
    wait_for_new_page(browser, before)
    qr = browser.find_element(By.CSS_SELECTOR, "figure.qr svg")
    assert qr.size["width"] >= 150  # big enough to scan
    key = browser.find_element(By.ID, "authenticator-key").text
    check_accessible(browser, "approvals-authenticator")
    browser.find_element(By.ID, "id_code").send_keys(pyotp.TOTP(key).now())
    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "authenticator-confirm").click()
    wait_for_new_page(browser, before)
    assert "Your app is set up" in browser.find_element(By.TAG_NAME, "main").text
    check_accessible(browser, "approvals-authenticator-active")
