"""The hub's Django set up for the tests: hub/hubsite/settings.py against the real PostgreSQL.

Imported by the conftest of each folder that tests the hub (tests/hub, tests/web), never by the
rest of the suite: importing it configures Django. pytest-django creates the test database
(``test_hub_<pid>``) on the server named by HUB_DATABASE_URL (default: the CI's PostgreSQL on
127.0.0.1:5432). An unreachable server fails the run: these tests are never skipped and never
fall back to SQLite. The two autouse fixtures below are imported into each such conftest.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HUB_DIR = Path(__file__).resolve().parents[1] / "hub"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"

if str(HUB_DIR) not in sys.path:
    sys.path.insert(0, str(HUB_DIR))
os.environ.setdefault("HUB_DATABASE_URL", DEFAULT_DATABASE_URL)
# Created and dropped by pytest-django; named per run so runs in parallel never collide.
os.environ.setdefault("HUB_TEST_DATABASE_NAME", f"test_hub_{os.getpid()}")
os.environ["DJANGO_SETTINGS_MODULE"] = "hubsite.settings"
# DEBUG is off in tests, as in production: the hub then needs its keys (hubsite/keys.py).
os.environ.setdefault("HUB_SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("HUB_SECRET_WRAP_KEY", "test-wrap-key-" + "y" * 40)
# Never a developer's hub/secrets.toml: the keys above are the tests' only ones.
os.environ["HUB_SECRETS_FILE"] = os.devnull

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402


def _require_postgresql() -> None:
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail(
            f"the hub tests run on PostgreSQL only; HUB_DATABASE_URL names {database['ENGINE']}",
            pytrace=False,
        )
    import psycopg

    try:
        psycopg.connect(
            host=database["HOST"],
            port=database["PORT"] or 5432,
            user=database["USER"],
            password=database["PASSWORD"] or None,
            dbname=database["NAME"],
            connect_timeout=5,
        ).close()
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {database['HOST']}:{database['PORT']}"
            f" ({exc}). Start it (see .ci/run) or set HUB_DATABASE_URL.",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def _postgresql_reachable(django_db_blocker: Any) -> Iterator[None]:
    _require_postgresql()
    # Tests that do not ask for the database must not reach it (nor the real `test` db).
    with django_db_blocker.block():
        yield


@pytest.fixture(autouse=True)
def _unhashed_static(settings: Any) -> None:
    # The manifest storage needs `collectstatic` first; the admin pages rendered in-process use
    # plain names (tests/hub/test_serving.py checks the real storage under gunicorn).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
