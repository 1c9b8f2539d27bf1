"""Installing a release from a repository copy in a folder (a USB stick): the same python-tuf
verification as over the hub, against the trusted root already on this kiosk; no network."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from kiosk.domain.update_plan import UpdateState
from kiosk.services.updates.agent import UpdateAgent
from kiosk.services.updates.install import UpdateFailed, UpdateRefused, stage
from kiosk.services.updates.sources import folder_updater, newest_release

USB_DETAIL = "from a USB folder"


class UsbOutcome(Enum):
    STAGED = "staged"  # verified and unpacked: switched to at the next quiet moment
    NOTHING_NEWER = "nothing_newer"
    REFUSED = "refused"  # verification failed (detail says why)
    FAILED = "failed"
    UPDATES_OFF = "updates_off"
    NO_FOLDER = "no_folder"


@dataclass(frozen=True)
class UsbResult:
    outcome: UsbOutcome
    version: str | None = None
    detail: str | None = None


def install_from_folder(agent: UpdateAgent, folder: Path) -> UsbResult:
    """Verify and unpack the newest release in ``folder`` newer than the running one."""
    if not (folder / "metadata").is_dir():
        return UsbResult(UsbOutcome.NO_FOLDER)
    layout = agent.layout
    try:
        client = folder_updater(layout, folder)
        version = newest_release(layout, client, agent.running)
        if version is None:
            return UsbResult(UsbOutcome.NOTHING_NEWER)
        agent.report(UpdateState.DOWNLOADING, version, detail=USB_DETAIL)
        staged = stage(client, version, layout, layout.folder(agent.running), refreshed=True)
    except UpdateRefused as exc:
        agent.report(UpdateState.REFUSED, None, detail=str(exc))
        return UsbResult(UsbOutcome.REFUSED, detail=str(exc))
    except UpdateFailed as exc:
        agent.report(UpdateState.FAILED, None, detail=str(exc))
        return UsbResult(UsbOutcome.FAILED, detail=str(exc))
    agent.report(UpdateState.STAGED, staged.version, detail=USB_DETAIL)
    return UsbResult(UsbOutcome.STAGED, staged.version)
