"""The updates pages in a real browser: a campaign's stages and machines (the demo's pilot, one
machine healthy, one rolled back), pausing it with the big button, and the maintenance hours
form. Each passes axe-core and is saved in docs/screenshots/hub/."""

from __future__ import annotations

from typing import Any

from care import demo, demo_updates
from fleet.models import Campaign
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.helpers import check_accessible, sign_in, wait_for_new_page


def test_the_campaign_page_and_pausing_it(
    browser: WebDriver, live_server: Any, care_demo: demo.Seeded
) -> None:
    demo_updates.seed_updates(care_demo)
    campaign = Campaign.objects.get()
    sign_in(browser, live_server, "manager")
    browser.get(f"{live_server.url}/updates/")
    check_accessible(browser, "updates")
    browser.get(f"{live_server.url}/updates/campaigns/{campaign.pk}/")
    machines = browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=machines-heading]")
    assert "Rolled back" in machines.text and "Healthy" in machines.text
    check_accessible(browser, "campaign")
    pause = browser.find_element(By.XPATH, "//button[normalize-space()='Pause']")
    assert pause.size["height"] >= 44  # a big target
    before = browser.find_element(By.TAG_NAME, "html")
    pause.click()
    wait_for_new_page(browser, before)
    assert "Campaign paused" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED

    browser.get(f"{live_server.url}/updates/sites/{care_demo.site.pk}/hours/")
    check_accessible(browser, "maintenance-hours")
    browser.get(f"{live_server.url}/updates/campaigns/new/")
    check_accessible(browser, "campaign-new")
