"""The care app in a real browser: sign-in, each role's start page, a viewer's limits, sign-out
and session expiry. Every page visited passes axe-core and is saved in docs/screenshots/hub/."""

from __future__ import annotations

import time
from typing import Any

from care.models import AuditAction, CareAudit
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.helpers import check_accessible, sign_in, wait_for_new_page

START_PAGES = {
    "prescriber": ("/prescriptions/", "Prescriptions"),
    "pharmacist": ("/verify/", "Verification queue"),
    "nurse": ("/reviews/", "Review queues"),
    "manager": ("/fleet/", "Fleet"),
    "viewer": ("/participants/", "Participants"),
}


def _heading(browser: WebDriver) -> str:
    return browser.find_element(By.TAG_NAME, "h1").text


def _nav(browser: WebDriver) -> list[str]:
    return [a.text for a in browser.find_elements(By.CSS_SELECTOR, "nav.site-nav a")]


def test_the_sign_in_page_is_accessible(browser: WebDriver, live_server: Any) -> None:
    browser.get(f"{live_server.url}/")
    assert _heading(browser) == "Sign in"
    check_accessible(browser, "sign-in")


def test_a_wrong_password_says_so_clearly(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "nurse", "not-the-password")
    assert browser.current_url == f"{live_server.url}/"
    error = browser.find_element(By.CSS_SELECTOR, ".error-summary[role=alert]").text
    assert "username and password do not match" in error
    assert browser.find_element(By.ID, "id_username").get_attribute("value") == "nurse"
    check_accessible(browser, "sign-in-wrong-password")


def test_each_role_lands_on_its_start_page(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    for username, (path, heading) in START_PAGES.items():
        browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
        sign_in(browser, live_server, username)
        assert browser.current_url == f"{live_server.url}{path}", username
        assert _heading(browser) == heading
        assert "Signed in as" in browser.find_element(By.CSS_SELECTOR, ".who").text
        # A real page: its empty state, or (the participants) their table.
        assert browser.find_elements(By.CSS_SELECTOR, "p.empty, table.table")
        check_accessible(browser, f"start-{username}")
    signed_in = CareAudit.objects.filter(action=AuditAction.SIGN_IN).count()
    assert signed_in == len(START_PAGES)


def test_a_prescriber_sees_the_write_link(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "prescriber")
    assert _nav(browser)[0] == "Prescriptions"
    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.LINK_TEXT, "New prescription").click()
    wait_for_new_page(browser, before)
    assert _heading(browser) == "New prescription"
    check_accessible(browser, "prescription-new")


def test_a_viewer_reads_but_never_writes(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "viewer")
    assert _nav(browser) == ["Prescriptions", "Participants"]
    rows = browser.find_elements(By.CSS_SELECTOR, "table.table tbody tr")
    assert len(rows) == 6  # both machines of the viewer's site, none of the other site
    check_accessible(browser, "participants")

    browser.get(f"{live_server.url}/prescriptions/")
    assert not browser.find_elements(By.LINK_TEXT, "New prescription")

    browser.get(f"{live_server.url}/prescriptions/new/")
    assert _heading(browser) == "You cannot open this page"
    assert "write and change prescriptions" in browser.find_element(By.CSS_SELECTOR, ".empty").text
    check_accessible(browser, "forbidden")
    assert CareAudit.objects.filter(
        action=AuditAction.ACCESS_DENIED, user=care_demo.users["viewer"]
    ).exists()


def test_an_unknown_address_shows_the_styled_not_found_page(
    browser: WebDriver, live_server: Any
) -> None:
    browser.get(f"{live_server.url}/no-such-page/")
    assert _heading(browser) == "Page not found"
    check_accessible(browser, "not-found")


def test_signing_out_returns_to_the_sign_in_page(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "pharmacist")
    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.XPATH, "//button[normalize-space()='Sign out']").click()
    wait_for_new_page(browser, before)
    assert _heading(browser) == "Sign in"
    assert "You are signed out." in browser.find_element(By.CSS_SELECTOR, ".messages").text
    check_accessible(browser, "signed-out")
    browser.get(f"{live_server.url}/verify/")
    assert browser.current_url.startswith(f"{live_server.url}/?next=")
    assert CareAudit.objects.filter(action=AuditAction.SIGN_OUT).count() == 1


def test_an_idle_session_ends_and_sends_back_to_sign_in(
    browser: WebDriver, live_server: Any, care_demo: Any, settings: Any
) -> None:
    settings.CARE_SESSION_IDLE_SECONDS = 2
    sign_in(browser, live_server, "nurse")
    assert _heading(browser) == "Review queues"
    time.sleep(2.5)
    browser.get(f"{live_server.url}/reviews/")
    assert _heading(browser) == "Sign in"
    assert browser.current_url == f"{live_server.url}/?next=/reviews/"
    assert "without activity" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    check_accessible(browser, "session-ended")
    ended = CareAudit.objects.get(action=AuditAction.SESSION_ENDED)
    assert ended.reason == "idle"
