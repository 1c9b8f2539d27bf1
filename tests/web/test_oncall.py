"""The on-call pages in a real browser: the roster and chains of a site (program manager), the
Alerts page with who has been told, and the page an acknowledgement link opens (no sign-in).
Each passes axe-core and is saved in docs/screenshots/hub/."""

from __future__ import annotations

from typing import Any

from care import demo
from django.utils import timezone
from fleet import oncall
from fleet.models import Alert, Delivery, EscalationStep, Machine, OnCallContact
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.web.helpers import check_accessible, sign_in, wait_for_new_page


def _roster(seeded: demo.Seeded) -> tuple[OnCallContact, Alert]:
    contact = OnCallContact(
        site=seeded.site,
        name="Maria Lopez",
        role="pharmacist",
        email="maria@example.org",
        phone="+15550002",
        hours="nights",
    )
    contact.save()
    machine = Machine.objects.filter(site=seeded.site).order_by("pk").first()
    alert = Alert.objects.create(machine=machine, kind="kiosk:door", subject="door", message="-")
    Delivery.objects.create(alert=alert, step=0, recipient=contact, channel="email",
                            status="sent", at=timezone.now())  # fmt: skip
    return contact, alert


def test_the_roster_and_chains_page(
    browser: WebDriver, live_server: Any, care_demo: demo.Seeded
) -> None:
    _roster(care_demo)
    sign_in(browser, live_server, "manager")
    browser.get(f"{live_server.url}/oncall/{care_demo.site.pk}/")
    assert "Maria Lopez" in browser.find_element(By.TAG_NAME, "table").text
    check_accessible(browser, "oncall-site")


def test_the_alerts_page_and_acknowledging_there(
    browser: WebDriver, live_server: Any, care_demo: demo.Seeded
) -> None:
    _, alert = _roster(care_demo)
    sign_in(browser, live_server, "nurse")
    browser.get(f"{live_server.url}/alerts/")
    assert "Maria Lopez" in browser.find_element(By.TAG_NAME, "table").text
    check_accessible(browser, "alerts")
    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "table button[type=submit]").click()
    wait_for_new_page(browser, before)  # a loaded machine: never read the old page
    assert "Acknowledged" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    alert.refresh_from_db()
    assert alert.acknowledged


def test_the_acknowledgement_link_page(
    browser: WebDriver, live_server: Any, care_demo: demo.Seeded
) -> None:
    contact, alert = _roster(care_demo)
    token = oncall.ack_token(alert, contact, timezone.now())
    browser.get(f"{live_server.url}/ack/{token}/")
    check_accessible(browser, "ack-link")
    alert.refresh_from_db()
    assert not alert.acknowledged  # a GET never acknowledges
    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for_new_page(browser, before)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Acknowledged"
    alert.refresh_from_db()
    assert alert.acknowledged


def test_a_step_is_added_to_a_chain_and_the_chain_reset(
    browser: WebDriver, live_server: Any, care_demo: demo.Seeded
) -> None:
    sign_in(browser, live_server, "manager")
    browser.get(f"{live_server.url}/oncall/{care_demo.site.pk}/")
    Select(browser.find_element(By.ID, "role-jam-3")).select_by_value("pharmacist")
    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "role-jam-3").find_element(
        By.XPATH, "ancestor::form//button[@type='submit']"
    ).click()
    wait_for_new_page(browser, before)
    steps = EscalationStep.objects.filter(site=care_demo.site, kind="jam").order_by("position")
    assert steps.last().role == "pharmacist"  # type: ignore[union-attr]
    check_accessible(browser, "oncall-site-custom-chain")
    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(
        By.CSS_SELECTOR, "form[action$='/chains/jam/reset/'] button[type=submit]"
    ).click()
    wait_for_new_page(browser, before)
    assert "default chain again" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    assert not EscalationStep.objects.filter(site=care_demo.site, kind="jam").exists()
