"""fleet.signing (the canonical string of docs/SYNC.md), sealing of secrets, settings parsing.
No database."""

from __future__ import annotations

import pytest
from fleet import sealing, signing
from hubsite.settings import database_from_url

SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
NONCE = "0123456789abcdef0123456789abcdef"

# A fixed vector the kiosk's implementation can assert too (checked with
# `openssl dgst -sha256 -mac HMAC -macopt hexkey:<secret>`).
GET_VECTOR = "0864ee4a52896b6695ffb841521d2d9136d64611f5becf164c9a353ef3c29836"
POST_VECTOR = "9571796cf8614272a9da7ee3111cb9242a69300540c1f5d14529fa99facbd33d"


def test_the_canonical_string_is_five_lines() -> None:
    text = signing.canonical_string("post", "/v1/sync/events", 1781118000, NONCE, b"{}")
    assert text.split("\n") == [
        "POST",
        "/v1/sync/events",
        "1781118000",
        NONCE,
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",  # sha256("{}")
    ]
    assert not text.endswith("\n")


def test_known_vectors() -> None:
    get = signing.sign(SECRET, "GET", "/v1/sync/changes?cursor=42", 1781118000, NONCE, b"")
    post = signing.sign(SECRET, "POST", "/v1/sync/events", "1781118000", NONCE, b'{"events": []}')
    assert (get, post) == (GET_VECTOR, POST_VECTOR)


def test_verify_is_exact() -> None:
    args = ("GET", "/v1/sync/changes?cursor=42", 1781118000, NONCE, b"")
    assert signing.verify(SECRET, GET_VECTOR, *args)
    assert signing.verify(SECRET, GET_VECTOR.upper(), *args)
    assert not signing.verify(SECRET, GET_VECTOR[:-1] + "0", *args)
    assert not signing.verify("ff" * 32, GET_VECTOR, *args)
    assert not signing.verify(SECRET, GET_VECTOR, "GET", "/v1/sync/changes?cursor=43", *args[2:])


def test_signed_headers_and_nonces() -> None:
    headers = signing.signed_headers("kiosk-1", SECRET, "GET", "/x", b"", 1781118000, NONCE)
    assert headers == {
        "X-Device-Id": "kiosk-1",
        "X-Timestamp": "1781118000",
        "X-Nonce": NONCE,
        "X-Signature": signing.sign(SECRET, "GET", "/x", 1781118000, NONCE, b""),
    }
    nonce = signing.new_nonce()
    assert len(nonce) == 32 and int(nonce, 16) >= 0
    assert signing.new_nonce() != nonce


def test_sealed_secrets_round_trip_and_authenticate() -> None:
    sealed = sealing.seal(SECRET, "wrap-key")
    assert SECRET not in sealed
    assert sealing.seal(SECRET, "wrap-key") != sealed  # a fresh nonce each time
    assert sealing.unseal(sealed, "wrap-key") == SECRET
    with pytest.raises(sealing.SealError):
        sealing.unseal(sealed, "another-key")
    version, nonce, ciphertext, tag = sealed.split("$")
    flipped = f"{int(ciphertext[0], 16) ^ 1:x}" + ciphertext[1:]
    with pytest.raises(sealing.SealError):
        sealing.unseal("$".join((version, nonce, flipped, tag)), "wrap-key")
    with pytest.raises(sealing.SealError):
        sealing.unseal("garbage", "wrap-key")


def test_database_urls() -> None:
    assert database_from_url("postgresql://hub:p%40ss@db.example:6543/hub?sslmode=require") == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "hub",
        "USER": "hub",
        "PASSWORD": "p@ss",
        "HOST": "db.example",
        "PORT": "6543",
        "OPTIONS": {"sslmode": "require"},
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
    minimal = database_from_url("postgres://postgres@127.0.0.1/test")
    assert (minimal["USER"], minimal["PASSWORD"], minimal["PORT"]) == ("postgres", "", "")
    assert database_from_url("")["ENGINE"] == "django.db.backends.sqlite3"
    assert str(database_from_url("")["NAME"]).endswith("hub/hub.sqlite3")
    assert database_from_url("sqlite:////tmp/x.db")["NAME"] == "/tmp/x.db"
    assert database_from_url("sqlite:///x.db")["NAME"] == "x.db"
    with pytest.raises(ValueError):
        database_from_url("mysql://root@localhost/hub")
    with pytest.raises(ValueError):
        database_from_url("postgresql://postgres@127.0.0.1:5432/")
