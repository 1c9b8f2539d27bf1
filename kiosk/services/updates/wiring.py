"""Building the update agent from the configuration (the app and ``kiosk update`` share it)."""

from __future__ import annotations

from collections.abc import Callable

from kiosk import __version__
from kiosk.services.clock import Clock
from kiosk.services.config import Config
from kiosk.services.updates.agent import UpdateAgent
from kiosk.services.updates.layout import ReleaseLayout
from kiosk.services.updates.sources import hub_updater_factory
from kiosk.store.db import Connection
from kiosk.store.repository import Store


def make_agent(config: Config, store: Store, clock: Clock) -> UpdateAgent | None:
    """None when this kiosk does not install updates ([updates] releases_dir unset)."""
    if config.releases_dir is None:
        return None
    return UpdateAgent(
        store,
        ReleaseLayout(config.releases_dir),
        clock,
        timezone=config.timezone,
        database_path=config.database_path,
        health_seconds=config.update_health_seconds,
        max_starts=config.update_max_starts,
    )


def after_sync_round(config: Config, clock: Clock) -> Callable[[Connection], None] | None:
    """The sync thread's step after each complete round: act on the hub's offer (download,
    verify, stage). The switch itself waits for the screen's quiet moment (kiosk.ui)."""
    if config.releases_dir is None or config.hub_url is None:
        return None
    layout = ReleaseLayout(config.releases_dir)
    make_updater, _fetchers = hub_updater_factory(
        layout, config.hub_url, config.data_dir, clock, config.update_kib_per_second
    )

    def after(conn: Connection) -> None:
        agent = make_agent(config, Store(conn), clock)
        if agent is not None:
            agent.check(make_updater, layout.folder(__version__))

    return after
