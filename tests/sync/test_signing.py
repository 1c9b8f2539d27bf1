"""Signing vectors: the canonical string and HMAC of docs/SYNC.md, computed independently."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from kiosk.services.sync import Credentials, HubClient, canonical_string, sign, signed_headers
from kiosk.services.sync.signing import new_nonce
from tests.sync.fakehub import expected_signature

SECRET = "5f" * 32
BODY = b'{"events":[{"seq":1}]}'
TIMESTAMP = 1781118000
NONCE = "0123456789abcdef0123456789abcdef"


def independent(method: str, path: str, body: bytes) -> str:
    body_hex = hashlib.sha256(body).hexdigest()
    message = f"{method}\n{path}\n{TIMESTAMP}\n{NONCE}\n{body_hex}".encode()
    return hmac.new(bytes.fromhex(SECRET), message, hashlib.sha256).hexdigest()


def test_the_canonical_string_is_five_lines_without_a_trailing_newline() -> None:
    text = canonical_string("post", "/v1/sync/events", TIMESTAMP, NONCE, BODY)
    assert text.split("\n") == [
        "POST",
        "/v1/sync/events",
        str(TIMESTAMP),
        NONCE,
        hashlib.sha256(BODY).hexdigest(),
    ]


def test_a_fixed_vector_matches_an_independent_hmac() -> None:
    assert sign(SECRET, "POST", "/v1/sync/events", TIMESTAMP, NONCE, BODY) == independent(
        "POST", "/v1/sync/events", BODY
    )
    # An empty GET body hashes the empty string; the query is part of the signed path.
    get = sign(SECRET, "GET", "/v1/sync/changes?cursor=42", TIMESTAMP, NONCE, b"")
    assert get == independent("GET", "/v1/sync/changes?cursor=42", b"")
    assert hashlib.sha256(b"").hexdigest().startswith("e3b0c442")


def test_a_literal_vector_pins_the_key_as_the_decoded_secret() -> None:
    # Computed once with: hmac.new(bytes.fromhex("5f"*32), b"GET\n/v1/sync/changes?cursor=0\n"
    # b"1781118000\n0123456789abcdef0123456789abcdef\n" + sha256(b"").hexdigest(), sha256)
    expected = hmac.new(
        bytes.fromhex(SECRET),
        b"GET\n/v1/sync/changes?cursor=0\n1781118000\n0123456789abcdef0123456789abcdef\n"
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        hashlib.sha256,
    ).hexdigest()
    assert sign(SECRET, "GET", "/v1/sync/changes?cursor=0", TIMESTAMP, NONCE, b"") == expected
    # Using the hex text itself as the key would give another signature.
    wrong = hmac.new(SECRET.encode(), b"x", hashlib.sha256).hexdigest()
    assert expected != wrong


def test_headers_carry_device_timestamp_nonce_and_signature() -> None:
    headers = signed_headers("kiosk-1", SECRET, "POST", "/v1/sync/events", BODY, TIMESTAMP, NONCE)
    assert headers == {
        "X-Device-Id": "kiosk-1",
        "X-Timestamp": str(TIMESTAMP),
        "X-Nonce": NONCE,
        "X-Signature": independent("POST", "/v1/sync/events", BODY),
    }
    nonces = {new_nonce() for _ in range(50)}
    assert len(nonces) == 50
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in nonces)


def test_the_client_signs_exactly_what_it_sends(clock: object) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(
                200, json={"cursor": 7, "snapshot": False, "more": False, "changes": []}
            )
        return httpx.Response(200, json={"stored_through": 0})

    with HubClient(
        "https://hub.test/base/",
        Credentials("kiosk-1", SECRET),
        clock.now,  # type: ignore[attr-defined]
        transport=httpx.MockTransport(handler),
    ) as client:
        client.pull(7)
        client.push([])
    get, post = seen
    assert get.url.raw_path == b"/base/v1/sync/changes?cursor=7"
    assert get.headers["X-Signature"] == expected_signature(SECRET, get)
    assert post.headers["X-Signature"] == expected_signature(SECRET, post)
    assert post.headers["X-Timestamp"] == str(int(clock.now().timestamp()))  # type: ignore[attr-defined]
    assert SECRET not in repr(Credentials("kiosk-1", SECRET))
