"""Machine secrets at rest: sealed with a key only the hub's settings hold.

The hub needs each machine's raw secret to check HMACs, so it cannot store a one-way hash.
A database dump alone must not let anyone sign as a kiosk: the secret is stored encrypted
(``v1$<nonce>$<ciphertext>$<tag>``, hex) with HMAC-SHA256 in counter mode as the keystream
and an HMAC-SHA256 tag over nonce and ciphertext (encrypt-then-MAC), both keys derived from
``settings.HUB_SECRET_WRAP_KEY``. Only the standard library is used.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_VERSION = "v1"


class SealError(ValueError):
    """A sealed value that is malformed, tampered with or sealed under another key."""


def _keys(wrap_key: str) -> tuple[bytes, bytes]:
    root = hashlib.sha256(wrap_key.encode()).digest()
    enc = hmac.new(root, b"hub machine secret v1 encryption", hashlib.sha256).digest()
    mac = hmac.new(root, b"hub machine secret v1 authentication", hashlib.sha256).digest()
    return enc, mac


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = []
    for counter in range((length + 31) // 32):
        blocks.append(hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest())
    return b"".join(blocks)[:length]


def seal(plaintext: str, wrap_key: str) -> str:
    enc, mac = _keys(wrap_key)
    nonce = secrets.token_bytes(16)
    data = plaintext.encode()
    ciphertext = bytes(a ^ b for a, b in zip(data, _keystream(enc, nonce, len(data)), strict=True))
    tag = hmac.new(mac, nonce + ciphertext, hashlib.sha256).digest()
    return "$".join((_VERSION, nonce.hex(), ciphertext.hex(), tag.hex()))


def unseal(sealed: str, wrap_key: str) -> str:
    try:
        version, nonce_hex, ciphertext_hex, tag_hex = sealed.split("$")
        nonce, ciphertext, tag = (bytes.fromhex(p) for p in (nonce_hex, ciphertext_hex, tag_hex))
    except ValueError as exc:
        raise SealError("malformed sealed value") from exc
    if version != _VERSION:
        raise SealError(f"unknown sealing version {version!r}")
    enc, mac = _keys(wrap_key)
    expected = hmac.new(mac, nonce + ciphertext, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, tag):
        raise SealError("sealed value does not authenticate (tampered, or another key)")
    stream = _keystream(enc, nonce, len(ciphertext))
    return bytes(a ^ b for a, b in zip(ciphertext, stream, strict=True)).decode()


def unseal_any(sealed: str, wrap_keys: list[str]) -> str:
    """Unsealed with the first key that authenticates it (the current key, then fallbacks)."""
    error = SealError("no wrap key")
    for key in wrap_keys:
        try:
            return unseal(sealed, key)
        except SealError as exc:
            if str(exc) == "malformed sealed value" or str(exc).startswith("unknown sealing"):
                raise
            error = exc
    raise error
