"""Notices and doses given by hand in a real browser (issue 17): a notice saved for a
participant and withdrawn; a dose by hand recorded for a witnessed prescription only with a
second nurse's password. axe on every page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from care.models import Membership
from care.roles import Role
from django.contrib.auth.models import User
from django.utils import timezone
from fleet.models import ManualDose, Notice, Prescription
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.web.helpers import PASSWORD, check_accessible, sign_in, wait_for_new_page


def _submit(browser: WebDriver, css: str = "form.form:not(.search) button[type=submit]") -> None:
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, css).click()
    wait_for_new_page(browser, old)


def test_a_notice_is_saved_and_withdrawn(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "nurse")
    browser.get(f"{live_server.url}/notices/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Notices"
    check_accessible(browser, "notices")
    _submit(browser)  # nothing filled in: said in the form
    assert (
        "Write the notice in one language"
        in browser.find_element(By.CSS_SELECTOR, ".error-summary").text
    )
    check_accessible(browser, "notices-error")
    Select(browser.find_element(By.ID, "id_site")).select_by_index(1)
    browser.find_element(By.ID, "id_participant").send_keys("P-0001")
    today = timezone.localdate()
    for field, day in (("id_starts_on", today), ("id_ends_on", today + timedelta(days=3))):
        browser.execute_script(
            "document.getElementById(arguments[0]).value = arguments[1]", field, day.isoformat()
        )
    browser.find_element(By.ID, "id_text_en").send_keys("The nurse is here Tuesdays 2-4 pm.")
    browser.find_element(By.ID, "id_text_fr_CA").send_keys("L'infirmière est ici le mardi.")
    _submit(browser)
    assert "Notice saved" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    notice = Notice.objects.get()
    assert notice.participant is not None and notice.participant.code == "P-0001"
    row = browser.find_element(By.CSS_SELECTOR, f"#notices tr[data-notice='{notice.uuid}']")
    assert "English, French (Canada)" in row.text
    _submit(browser, f"#notices tr[data-notice='{notice.uuid}'] button")
    notice.refresh_from_db()
    assert notice.withdrawn_at is not None
    assert not browser.find_elements(By.ID, "notices")


def test_a_witnessed_dose_by_hand_needs_a_second_nurse(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    rx = Prescription.objects.filter(participant__code="P-0001", status="active").first()
    assert rx is not None
    rx.witnessed = True
    # Past its last day (still active on the hub): the machine's rules would refuse it, so
    # the page asks for an override reason before it records anything.
    rx.start_date = timezone.localdate() - timedelta(days=10)
    rx.end_date = timezone.localdate() - timedelta(days=2)
    rx.save()
    site = rx.participant.machine.site
    second = User.objects.create_user("second-nurse", password=PASSWORD)
    Membership.objects.create(user=second, site=site, role=Role.NURSE)
    sign_in(browser, live_server, "nurse")
    browser.get(f"{live_server.url}/doses-by-hand/?q=P-0001")
    check_accessible(browser, "doses-by-hand")
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Record a dose").click()
    wait_for_new_page(browser, old)
    check_accessible(browser, "dose-by-hand")
    given = (timezone.now() - timedelta(minutes=20)).astimezone(ZoneInfo(site.timezone))
    browser.find_element(By.ID, "id_units").send_keys("2")
    browser.execute_script(
        "document.getElementById('id_given_at').value = arguments[0]",
        given.strftime("%Y-%m-%dT%H:%M"),
    )
    browser.find_element(By.CSS_SELECTOR, "input[name='source'][value='pharmacy_stock']").click()
    _submit(browser)
    assert "witnessed" in browser.find_element(By.ID, "id_witness_username-error").text
    check_accessible(browser, "dose-by-hand-error")
    assert not ManualDose.objects.exists()
    browser.find_element(By.ID, "id_witness_username").send_keys("second-nurse")
    browser.find_element(By.ID, "id_witness_password").send_keys(PASSWORD)
    browser.execute_script(
        "document.getElementById('id_given_at').value = arguments[0]",
        given.strftime("%Y-%m-%dT%H:%M"),
    )
    _submit(browser)
    error = browser.find_element(By.ID, "id_override_reason-error").text
    assert "would refuse this dose: the prescription is cancelled" in error or (
        "has ended" in error
    )
    assert not ManualDose.objects.exists()
    check_accessible(browser, "dose-by-hand-override")
    browser.find_element(By.ID, "id_override_reason").send_keys("Prescriber extended it by phone")
    browser.find_element(By.ID, "id_witness_username").clear()
    browser.find_element(By.ID, "id_witness_username").send_keys("second-nurse")
    browser.find_element(By.ID, "id_witness_password").send_keys(PASSWORD)
    browser.execute_script(
        "document.getElementById('id_given_at').value = arguments[0]",
        given.strftime("%Y-%m-%dT%H:%M"),
    )
    _submit(browser)
    assert "Dose by hand recorded" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    dose = ManualDose.objects.get()
    assert (dose.units, dose.source, dose.witness) == (2, "pharmacy_stock", f"hub_user:{second.pk}")
    assert browser.find_element(By.CSS_SELECTOR, f"#manual-doses tr[data-dose='{dose.uuid}']")
