"""Serving the signed update repository (hub/fleet/updates_serving.py, docs/UPDATES.md): only
to a signed, enrolled machine, only files inside the repository, with Range for resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings

from tests.hub.helpers import Kiosk


@pytest.fixture
def repository(tmp_path: Path) -> Any:
    repo = tmp_path / "updates"
    (repo / "metadata").mkdir(parents=True)
    (repo / "targets" / "files").mkdir(parents=True)
    (repo / "metadata" / "timestamp.json").write_text('{"signed": {}}')
    (repo / "targets" / "files" / "abc.abc").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "secret.txt").write_text("outside the repository")
    with override_settings(UPDATES_REPOSITORY=repo):
        yield repo


def get(kiosk: Kiosk, path: str, **extra: str) -> Any:
    return kiosk.client.get(path, **kiosk.headers("GET", path, b""), **extra)


def test_a_signed_machine_gets_metadata_and_targets(kiosk: Kiosk, repository: Path) -> None:
    response = get(kiosk, "/v1/updates/metadata/timestamp.json")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b'{"signed": {}}'
    response = get(kiosk, "/v1/updates/targets/files/abc.abc")
    assert response.status_code == 200 and response["Accept-Ranges"] == "bytes"
    assert b"".join(response.streaming_content) == bytes(range(256)) * 40


def test_range_resumes_a_download(kiosk: Kiosk, repository: Path) -> None:
    whole = bytes(range(256)) * 40
    response = get(kiosk, "/v1/updates/targets/files/abc.abc", HTTP_RANGE="bytes=1000-")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 1000-{len(whole) - 1}/{len(whole)}"
    assert b"".join(response.streaming_content) == whole[1000:]
    response = get(kiosk, "/v1/updates/targets/files/abc.abc", HTTP_RANGE="bytes=10-19")
    assert b"".join(response.streaming_content) == whole[10:20]
    response = get(kiosk, "/v1/updates/targets/files/abc.abc", HTTP_RANGE="bytes=999999-")
    assert response.status_code == 416 and response["Content-Range"] == f"bytes */{len(whole)}"


def test_an_unsigned_or_unknown_caller_gets_401(
    client: Client, kiosk: Kiosk, repository: Path
) -> None:
    assert client.get("/v1/updates/metadata/timestamp.json").status_code == 401
    stranger = Kiosk(client, "no-such-device", "00" * 32)
    assert get(stranger, "/v1/updates/metadata/timestamp.json").status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/v1/updates/metadata/../secret.txt",
        "/v1/updates/metadata/..%2Fsecret.txt",
        "/v1/updates/targets/../../secret.txt",
        "/v1/updates/targets/.hidden",
        "/v1/updates/metadata/missing.json",
        "/v1/updates/targets/files",
    ],
)
def test_nothing_outside_the_repository_and_404_for_a_missing_file(
    kiosk: Kiosk, repository: Path, path: str
) -> None:
    response = get(kiosk, path)
    # 404; an encoded slash is not the path that was signed, so it is already refused (401).
    assert response.status_code == (401 if "%2F" in path else 404)
    assert b"outside" not in response.content


def test_only_get(kiosk: Kiosk, repository: Path) -> None:
    response = kiosk.post("/v1/updates/metadata/timestamp.json", b"")
    assert response.status_code == 405
