"""Staff PIN hashes in the kiosk's format (kiosk/store/pins.py): ``scrypt$N$r$p$salt$digest``.

The hub only ever stores and sends the hash; the kiosk verifies PINs. Same parameters as the
kiosk so a hash made here verifies there.
"""

from __future__ import annotations

import hashlib
import secrets

_N, _R, _P = 2**14, 8, 1


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"
