"""The hub's one app: machines, hub-owned records, the change log, kiosk events, the sync API."""
