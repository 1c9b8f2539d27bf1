"""Device ports, drivers and emulators. Knows nothing of the kiosk (no Qt, no ``kiosk``)."""
