"""Request signing (docs/SYNC.md, "Authentication").

``X-Signature = hex(HMAC-SHA256(secret, METHOD \\n PATH_WITH_QUERY \\n TIMESTAMP \\n NONCE \\n
hex(SHA256(body))))``. The HMAC key is the secret's bytes: the hex text the hub sent at
provisioning, decoded (``bytes.fromhex``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

NONCE_BYTES = 16  # 32 hex characters


def canonical_string(
    method: str, path_with_query: str, timestamp: int, nonce: str, body: bytes
) -> str:
    return "\n".join(
        [
            method.upper(),
            path_with_query,
            str(timestamp),
            nonce,
            hashlib.sha256(body).hexdigest(),
        ]
    )


def sign(
    secret_hex: str, method: str, path_with_query: str, timestamp: int, nonce: str, body: bytes
) -> str:
    message = canonical_string(method, path_with_query, timestamp, nonce, body)
    return hmac.new(bytes.fromhex(secret_hex), message.encode("utf-8"), hashlib.sha256).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


def signed_headers(
    device_id: str,
    secret_hex: str,
    method: str,
    path_with_query: str,
    body: bytes,
    timestamp: int,
    nonce: str | None = None,
) -> dict[str, str]:
    nonce = nonce or new_nonce()
    return {
        "X-Device-Id": device_id,
        "X-Timestamp": str(timestamp),
        "X-Nonce": nonce,
        "X-Signature": sign(secret_hex, method, path_with_query, timestamp, nonce, body),
    }
