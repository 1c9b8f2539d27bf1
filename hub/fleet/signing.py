"""Request signing of sync protocol v1 (docs/SYNC.md, "Authentication"). Pure functions.

The signed message is five lines joined by ``\\n`` (no trailing newline)::

    METHOD            upper case: GET, POST
    PATH_WITH_QUERY   exactly as sent, e.g. /v1/sync/changes?cursor=42
    TIMESTAMP         the X-Timestamp header: unix seconds, decimal
    NONCE             the X-Nonce header: 32 lower-case hex characters (16 random bytes)
    BODY_SHA256       hex(SHA256(body)); the body is empty for a GET

``X-Signature = hex(HMAC-SHA256(key, message))`` where ``key = bytes.fromhex(secret)``: the
secret is the hex text ``POST /v1/provision`` returned, and the HMAC key is its decoded bytes.

The kiosk implements the same few lines itself (it never imports hub code); this module is
what the hub verifies with and what the hub's tests sign with.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

NONCE_HEX_CHARS = 32
SIGNATURE_HEX_CHARS = 64


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_string(
    method: str, path_with_query: str, timestamp: int | str, nonce: str, body: bytes
) -> str:
    """The message that is signed (see the module doc)."""
    return "\n".join((method.upper(), path_with_query, str(timestamp), nonce, body_hash(body)))


def sign(
    secret_hex: str,
    method: str,
    path_with_query: str,
    timestamp: int | str,
    nonce: str,
    body: bytes,
) -> str:
    """hex(HMAC-SHA256(bytes.fromhex(secret_hex), canonical_string(...)))."""
    message = canonical_string(method, path_with_query, timestamp, nonce, body).encode()
    return hmac.new(bytes.fromhex(secret_hex), message, hashlib.sha256).hexdigest()


def verify(
    secret_hex: str,
    signature: str,
    method: str,
    path_with_query: str,
    timestamp: int | str,
    nonce: str,
    body: bytes,
) -> bool:
    """Constant-time check of a signature (hex, either case)."""
    expected = sign(secret_hex, method, path_with_query, timestamp, nonce, body)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def new_nonce() -> str:
    return secrets.token_hex(NONCE_HEX_CHARS // 2)


def new_secret() -> str:
    """A machine's secret as provisioning returns it: 32 random bytes, hex."""
    return secrets.token_hex(32)


def signed_headers(
    device_id: str,
    secret_hex: str,
    method: str,
    path_with_query: str,
    body: bytes,
    timestamp: int,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four headers of a signed request."""
    nonce = nonce or new_nonce()
    return {
        "X-Device-Id": device_id,
        "X-Timestamp": str(timestamp),
        "X-Nonce": nonce,
        "X-Signature": sign(secret_hex, method, path_with_query, timestamp, nonce, body),
    }
