"""Sync with the hub (docs/SYNC.md): signing, the HTTP client, provisioning, push and pull,
the sync thread and the admin facade."""

from kiosk.services.sync.backoff import backoff_ceiling, backoff_delay
from kiosk.services.sync.client import (
    Change,
    ChangesPage,
    ClockSkew,
    HubBusy,
    HubClient,
    HubError,
    HubRefused,
    HubUnreachable,
    Pushed,
    Quarantined,
    provision,
)
from kiosk.services.sync.credentials import Credentials, credentials_path, load_credentials
from kiosk.services.sync.facade import SyncFacade, SyncStatus
from kiosk.services.sync.service import SyncReport, SyncService
from kiosk.services.sync.signing import canonical_string, sign, signed_headers
from kiosk.services.sync.thread import SyncThread, hub_factory

__all__ = [
    "Change",
    "ChangesPage",
    "ClockSkew",
    "Credentials",
    "HubBusy",
    "HubClient",
    "HubError",
    "HubRefused",
    "HubUnreachable",
    "Pushed",
    "Quarantined",
    "SyncFacade",
    "SyncReport",
    "SyncService",
    "SyncStatus",
    "SyncThread",
    "backoff_ceiling",
    "backoff_delay",
    "canonical_string",
    "credentials_path",
    "hub_factory",
    "load_credentials",
    "provision",
    "sign",
    "signed_headers",
]
