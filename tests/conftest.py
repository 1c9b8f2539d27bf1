"""Shared fixtures. Qt warnings fail tests (qutebrowser's and napari's model)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from kiosk.services.clock import FixedClock
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file
from kiosk.store.repository import Store

NOON = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)  # 12:00 in Vancouver


def pytest_xvfb_disable(config: pytest.Config) -> bool:
    """pytest-xvfb's X server only for a run on Qt's xcb platform (`make test-xcb`); the
    offscreen runs need none (tests/ui/test_real_display.py starts its own per size)."""
    return os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] != "xcb"


@pytest.fixture(scope="session")
def qapp(qapp_args: list[str]) -> object:
    """pytest-qt's application, themed as every entry point themes it (palette, Fusion,
    fonts): the tests see the screens the kiosk shows."""
    from kiosk.ui import theme

    return theme.application(qapp_args)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOON)


@pytest.fixture
def key(tmp_path: Path) -> bytes:
    return create_key_file(tmp_path / "db.key")


@pytest.fixture
def store(tmp_path: Path, key: bytes) -> Iterator[Store]:
    conn = connect(tmp_path / "kiosk.db", key)
    yield Store(conn)
    conn.close()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder with a key file in it, and no database yet."""
    folder = tmp_path / "data"
    folder.mkdir()
    create_key_file(folder / "db.key")
    return folder
