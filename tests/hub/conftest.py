"""The hub's tests: Django (hub/hubsite/settings.py) against the real PostgreSQL, set up by
tests/hub_django.py (shared with the browser tests in tests/web)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

# First: importing it sets Django up, which the helpers' imports need.
from tests.hub_django import _postgresql_reachable, _unhashed_static

# isort: split
from tests.hub.helpers import Kiosk, provision_kiosk, reset_event_ids

__all__ = ["_postgresql_reachable", "_unhashed_static"]  # autouse fixtures, shared


@pytest.fixture
def provision(db: None, client: Client) -> Callable[..., Kiosk]:
    """Enroll (manage.py enroll_machine) and provision a machine; returns its kiosk."""

    def make(site: str = "Downtown", machine: str = "kiosk-1") -> Kiosk:
        return provision_kiosk(client, site, machine)

    return make


@pytest.fixture
def kiosk(provision: Callable[..., Kiosk]) -> Kiosk:
    return provision()


@pytest.fixture(autouse=True)
def _fresh_event_ids() -> None:
    reset_event_ids()
