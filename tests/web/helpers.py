"""Helpers of the browser tests: sign in, and check a page (axe-core + a screenshot).

sign_in(browser, live_server, "nurse")                 # lands on the nurse's start page
check_accessible(browser, "reviews")                   # axe, console, docs/screenshots/hub/
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
# axe-core from npm (package.json, `npm ci`: run by .ci/run and `make setup`).
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots" / "hub"
PASSWORD = "a-demo-password-42"  # care_demo's users (tests/web/conftest.py)
FAILING_IMPACTS = ("serious", "critical")


def sign_in(driver: WebDriver, live_server: Any, username: str, password: str = PASSWORD) -> None:
    """Open the sign-in page, type the credentials, submit, wait for the next page."""
    driver.get(f"{live_server.url}/")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    before = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    wait_for_new_page(driver, before)


def wait_for_new_page(driver: WebDriver, old_html: Any) -> None:
    """Wait until the page that held ``old_html`` is replaced and the new one has loaded."""

    def replaced(d: WebDriver) -> bool:
        try:
            old_html.tag_name  # noqa: B018 (raises once the page is gone)
        except Exception:
            return d.execute_script("return document.readyState") == "complete"
        return False

    WebDriverWait(driver, 10).until(replaced)


def check_accessible(driver: WebDriver, name: str) -> list[dict[str, Any]]:
    """Save a full-page screenshot as docs/screenshots/hub/<name>.png, then run axe-core on the
    page: fail on any serious or critical violation (rule ids and nodes printed) and on any
    error in the browser console. Returns all violations (minor/moderate ones included)."""
    save_screenshot(driver, name)
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make setup does)", pytrace=False)
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    outcome = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ["violations"]})
           .then(r => done({violations: r.violations}))
           .catch(e => done({error: String(e)}));
        """
    )
    if "error" in outcome:
        pytest.fail(f"axe-core failed on {name}: {outcome['error']}", pytrace=False)
    violations: list[dict[str, Any]] = outcome["violations"]
    bad = [v for v in violations if v.get("impact") in FAILING_IMPACTS]
    if bad:
        lines = [f"{name} ({driver.current_url}): {len(bad)} serious/critical axe violation(s)"]
        for v in bad:
            lines.append(f"- {v['id']} [{v['impact']}]: {v['help']} ({v['helpUrl']})")
            for node in v["nodes"][:10]:
                lines.append(f"    {json.dumps(node['target'])}: {node['html'][:200]}")
        pytest.fail("\n".join(lines), pytrace=False)
    # The page's own status (a 403 or 404 page) is logged as an error too: not a fault.
    own = f"{driver.current_url} - "
    errors = [
        e
        for e in driver.get_log("browser")
        if e.get("level") == "SEVERE" and not str(e.get("message", "")).startswith(own)
    ]
    if errors:
        pytest.fail(f"{name}: errors in the browser console: {errors}", pytrace=False)
    return violations


def save_screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page (beyond the window's height) as a PNG, through Chromium's DevTools."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    width = max(int(size["width"]), 1)
    height = max(int(size["height"]), 1)
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
