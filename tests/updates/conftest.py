"""The live hub the update tests share within a module (tests/updates/live.py). Imported
lazily: the tests without a hub (test_install, test_launcher) run without PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.sync.test_live_hub import Hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    from tests.updates.live import updates_hub

    with updates_hub(tmp_path_factory.mktemp("hub")) as server:
        yield server
