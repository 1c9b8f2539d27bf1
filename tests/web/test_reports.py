"""The reports in a real browser with the demo's kiosk events: each page passes axe-core and is
saved in docs/screenshots/hub/; a CSV download link works with the session's cookie."""

from __future__ import annotations

from typing import Any

import pytest
from care import demo
from care.reports import days
from django.test import Client
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.helpers import check_accessible, sign_in


@pytest.fixture(autouse=True)
def _reports_day(care_demo: demo.Seeded) -> None:
    demo.seed_reports(care_demo)


def _today(care_demo: Any) -> str:
    return days.dosing_day(care_demo.site, timezone.now()).isoformat()


def test_each_report_page_is_accessible_with_data(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "pharmacist")
    day = _today(care_demo)
    browser.get(f"{live_server.url}/reports/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Reports"
    check_accessible(browser, "reports")

    browser.get(f"{live_server.url}/reports/reconciliation/?start={day}")
    cells = browser.find_element(By.CSS_SELECTOR, "table.report tbody").text
    assert "1 count off" in cells
    check_accessible(browser, "reports-reconciliation")

    browser.get(f"{live_server.url}/reports/register/?start={day}")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.report tbody tr")
    assert len(rows) == 7  # restock, 3 results, return, waste, count
    assert "not recorded" in rows[0].text
    check_accessible(browser, "reports-register")

    browser.get(f"{live_server.url}/reports/dispenses/?code=P-0001&start={day}")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.report tbody tr")) == 4
    check_accessible(browser, "reports-dispenses")

    browser.get(f"{live_server.url}/reports/dispenses/?code=P-9999&start=not-a-date")
    assert "year-month-day" in browser.find_element(By.CSS_SELECTOR, ".error-summary").text
    check_accessible(browser, "reports-dispenses-error")

    browser.get(f"{live_server.url}/reports/fhir/")
    check_accessible(browser, "reports-fhir")


def test_the_csv_link_downloads_with_the_session(
    browser: WebDriver, live_server: Any, care_demo: Any
) -> None:
    sign_in(browser, live_server, "manager")
    browser.get(f"{live_server.url}/reports/register/?start={_today(care_demo)}")
    link = browser.find_element(By.LINK_TEXT, "Download CSV (every row)").get_attribute("href")
    client = Client()
    client.cookies["sessionid"] = browser.get_cookie("sessionid")["value"]
    response = client.get(link.removeprefix(live_server.url))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufefftime_local,site,machine,lane")
    assert len(body.strip().splitlines()) == 8
