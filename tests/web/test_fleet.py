"""The fleet pages in a real browser with the demo's machines: the list (grouped by site, the
silent machine and the low/empty lanes flagged in words), the filter, one machine's page.
Both pass axe-core and are saved in docs/screenshots/hub/."""

from __future__ import annotations

from typing import Any

import pytest
from care import demo
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.web.helpers import check_accessible, sign_in, wait_for_new_page


@pytest.fixture(autouse=True)
def _fleet_demo(care_demo: demo.Seeded) -> None:
    demo.seed_fleet(care_demo)


def test_the_fleet_list_flags_what_needs_attention(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "manager")
    assert browser.current_url == f"{live_server.url}/fleet/"
    sites = [h.text for h in browser.find_elements(By.CSS_SELECTOR, ".site-group h2")]
    assert sites == ["Demo Downtown", "Demo Eastside"]
    table = browser.find_element(By.ID, "fleet-table").text
    assert "Silent for 3 h" in table
    assert "Lane 2: 12, low" in table and "Lane 3: 0, empty" in table
    assert "Lane empty" in table  # kiosk-1's worst open alert
    assert browser.find_element(By.ID, "fleet-table").get_attribute("hx-trigger") == "every 60s"
    check_accessible(browser, "fleet")

    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "id_attention").click()
    Select(browser.find_element(By.ID, "id_sort")).select_by_visible_text("Longest silent first")
    browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait_for_new_page(browser, before)
    names = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "table.fleet th a")]
    assert names == ["kiosk-2", "kiosk-1"]  # Eastside's machine needs nothing
    check_accessible(browser, "fleet-needs-attention")


def test_one_machine_in_detail(browser: WebDriver, live_server: Any, care_demo: Any) -> None:
    sign_in(browser, live_server, "nurse")
    browser.get(f"{live_server.url}/fleet/")
    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.LINK_TEXT, "kiosk-1").click()
    wait_for_new_page(browser, before)
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("kiosk-1")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Dispense finished" in page and "P-0001" in page
    assert "Alex Morgan" not in page  # participants by code only
    assert "0.1.0" in page
    check_accessible(browser, "fleet-machine")
