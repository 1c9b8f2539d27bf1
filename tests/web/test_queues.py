"""The review queues in a real browser: a nurse releases a missed-dose hold through the inline
htmx form and sees it leave the queue; each queue page, with the demo's items in it, passes
axe-core and is saved in docs/screenshots/hub/."""

from __future__ import annotations

from typing import Any

import pytest
from care import demo
from care.models import AuditAction, CareAudit
from fleet.models import Prescription
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.helpers import check_accessible, sign_in


@pytest.fixture
def queues_demo(care_demo: Any) -> Any:
    demo.seed_queues(care_demo)
    return care_demo


def test_a_nurse_releases_a_hold_inline_and_it_leaves_the_queue(
    browser: WebDriver, live_server: Any, queues_demo: Any
) -> None:
    held = Prescription.objects.get(participant__code="P-0005")
    sign_in(browser, live_server, "nurse")
    assert browser.current_url == f"{live_server.url}/reviews/"
    form = browser.find_element(By.ID, f"hold-{held.pk}")
    # No reason: the form says so in place.
    form.find_element(By.CSS_SELECTOR, "button[value=release]").click()
    alert = WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f"#hold-{held.pk} .error-summary[role=alert]")
    )
    assert "Write a reason" in alert.text
    check_accessible(browser, "reviews-holds-reason-missing")
    browser.find_element(By.ID, f"hold-{held.pk}-reason").send_keys("Spoke with them; back today")
    browser.find_element(By.CSS_SELECTOR, f"#hold-{held.pk} button[value=release]").click()
    outcome = WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "p.outcome[role=status]")
    )
    assert "released" in outcome.text and "P-0005" in outcome.text
    assert not browser.find_elements(By.ID, f"hold-{held.pk}")
    held.refresh_from_db()
    assert held.status == "active"
    assert CareAudit.objects.filter(action=AuditAction.HOLD_RELEASED).count() == 1
    browser.get(f"{live_server.url}/reviews/")
    assert browser.find_element(By.CSS_SELECTOR, "p.empty").text.startswith("No prescriptions")


@pytest.mark.parametrize(
    ("path", "name", "expected"),
    [
        ("/reviews/", "reviews-holds", "P-0005"),
        ("/reviews/absences/", "reviews-absences", "Not seen for 4 days — consider outreach"),
        ("/reviews/stock/", "reviews-stock", "Kiosk edit not applied"),
        ("/reviews/set-aside/", "reviews-set-aside", "payload.dropped: an integer expected"),
    ],
)
def test_each_queue_page_is_accessible_with_items_in_it(
    browser: WebDriver, live_server: Any, queues_demo: Any, path: str, name: str, expected: str
) -> None:
    sign_in(browser, live_server, "nurse")
    browser.get(f"{live_server.url}{path}")
    main = browser.find_element(By.ID, "main").text
    assert expected in main
    current = browser.find_element(By.CSS_SELECTOR, ".queue-tabs a[aria-current=page]")
    assert current.find_element(By.CSS_SELECTOR, ".count").text != "0"
    if name == "reviews-set-aside":
        browser.find_element(By.CSS_SELECTOR, "details summary").click()
    check_accessible(browser, name)
