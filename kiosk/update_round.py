"""``kiosk update``: the kiosk's update duties without its screen (docs/UPDATES.md).

At every start a kiosk reports what runs (or the rollback the launcher made), checks that it is
healthy and, when it was just switched to, confirms it; then a sync round with the hub, and the
hub's offer is acted on. With ``--from-folder`` the release comes from a repository copy (a USB
stick) instead. A staged release is switched to at once when nothing is going on (no screen:
never mid-flow; an open vend, an untrusted clock or the site's hours still hold it back); the
exit code is then 75 and deploy/kiosk-launcher starts the new version.

Exit codes: 0 done, 1 not healthy (the launcher counts it), 75 switched.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from kiosk import __version__
from kiosk.app import StoreUnavailable, open_store
from kiosk.services.clock import SystemClock
from kiosk.services.config import Config
from kiosk.services.sync import HubClient, HubError, SyncService
from kiosk.services.sync.credentials import credentials_path, load_credentials
from kiosk.services.updates import SWITCH_EXIT_CODE, ReleaseLayout, ScreenState, UpdateAgent
from kiosk.services.updates.health import boot_problems
from kiosk.services.updates.sources import hub_updater_factory
from kiosk.services.updates.usb import UsbOutcome, install_from_folder

log = logging.getLogger("kiosk.updates")

EXIT_UNHEALTHY = 1


def run_round(config: Config, from_folder: Path | None = None) -> int:
    if config.releases_dir is None:
        print("kiosk update: [updates] releases_dir is not set; updates are off", file=sys.stderr)
        return 2
    layout = ReleaseLayout(config.releases_dir)
    clock = SystemClock()
    try:
        conn, store = open_store(config)
    except StoreUnavailable as exc:
        print(f"kiosk update: out of service: {exc}", file=sys.stderr)
        return EXIT_UNHEALTHY
    try:
        agent = UpdateAgent(
            store,
            layout,
            clock,
            timezone=config.timezone,
            database_path=config.database_path,
            health_seconds=config.update_health_seconds,
            max_starts=config.update_max_starts,
        )
        agent.at_start()
        problems = boot_problems(store, clock, None)
        if problems:
            print(
                f"kiosk update: {__version__} is not healthy: {'; '.join(problems)}",
                file=sys.stderr,
            )
            return EXIT_UNHEALTHY
        agent.confirm_healthy()
        running_dir = layout.folder(__version__)
        if from_folder is not None:
            return switch_from_folder(agent, from_folder)
        if config.hub_url is None or not credentials_path(config.data_dir).exists():
            return 0
        make_updater, _fetchers = hub_updater_factory(
            layout, config.hub_url, config.data_dir, clock, config.update_kib_per_second
        )
        credentials = load_credentials(credentials_path(config.data_dir))
        with HubClient(config.hub_url, credentials, clock.now) as hub:
            sync = SyncService(conn, hub, clock)
            try:
                sync.run_once()
            except HubError as exc:
                print(f"kiosk update: sync: {exc}", file=sys.stderr)
            staged = agent.check(make_updater, running_dir)
            if (
                staged
                and agent.try_switch(ScreenState(idle=True, participant_mid_flow=False)) is None
            ):
                sync.run_once()  # tell the hub before going (best effort)
                return SWITCH_EXIT_CODE
        return 0
    finally:
        conn.close()


def switch_from_folder(agent: UpdateAgent, folder: Path) -> int:
    result = install_from_folder(agent, folder)
    if result.outcome is UsbOutcome.NOTHING_NEWER:
        print("kiosk update: the folder holds no release newer than this one", file=sys.stderr)
        return 0
    if result.outcome is not UsbOutcome.STAGED:
        print(f"kiosk update: {result.detail or result.outcome.value}", file=sys.stderr)
        return 2
    if agent.try_switch(ScreenState(idle=True, participant_mid_flow=False)) is None:
        return SWITCH_EXIT_CODE
    return 0
