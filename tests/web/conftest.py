"""The care app's browser tests: headless Chromium (Debian's `chromium` and `chromium-driver`,
installed by .ci/run) driven by Selenium against pytest-django's ``live_server`` on the same
PostgreSQL test database as tests/hub (tests/hub_django.py). Chromium or its driver missing
fails the run, as PostgreSQL missing does: these tests are never skipped.

Fixtures: ``browser`` (the session's Chromium, cookies cleared, for a test that also gets
``live_server``), ``care_demo`` (care/demo.py's site, users and participants; every user's
password is ``PASSWORD``). Helpers in tests/web/helpers.py: ``sign_in``, ``check_accessible``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# First: importing it sets Django up.
from tests.hub_django import _postgresql_reachable, _unhashed_static

# isort: split
from care import demo
from django.conf import settings
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.helpers import PASSWORD

__all__ = ["_postgresql_reachable", "_unhashed_static"]  # autouse fixtures, shared

# The live server answers each browser connection (HTTP keep-alive) in its own thread: with
# persistent database connections (CONN_MAX_AGE) such a thread would still hold one when the
# test database is dropped. Closed after every request instead.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1366, 900)


@pytest.fixture(scope="session")
def _chromium() -> Iterator[WebDriver]:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            pytest.fail(
                f"{path} is missing: install Debian's {package} (.ci/run does);"
                " the browser tests are never skipped",
                pytrace=False,
            )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--lang=en-US",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    # The console's errors (a missing static file, a script error) fail check_accessible.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(_chromium: WebDriver, live_server: Any) -> WebDriver:
    """The session's Chromium with no cookies (no session) left by an earlier test."""
    _chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    _chromium.get_log("browser")  # drop what earlier tests left in the console
    return _chromium


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The demo's five users are hashed again for every test (the live server's database is
    # emptied after each one): MD5 for speed, in tests only.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def care_demo(transactional_db: None) -> demo.Seeded:
    return demo.seed(PASSWORD)
