"""How TUF's updater gets its bytes: over the machine's signed hub session (resume, bandwidth
cap) or from a folder (a USB stick). TUF verifies every byte afterwards, so neither needs to
be trusted; the hub still serves only to enrolled machines."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from tuf.api.exceptions import DownloadHTTPError
from tuf.ngclient.fetcher import FetcherInterface

from kiosk import __version__
from kiosk.services.sync.credentials import Credentials
from kiosk.services.sync.signing import signed_headers

CHUNK = 64 * 1024
USB_SCHEME = "usb"


class HubFetcher(FetcherInterface):
    """Signed GETs to the hub's /v1/updates/ (docs/UPDATES.md). A download cut off is kept in
    ``partial_dir`` and resumed with ``Range`` on the next try; ``kib_per_second`` > 0 caps
    the rate. ``received`` counts the bytes that crossed the link (the bench reads it)."""

    def __init__(
        self,
        http: httpx.Client,
        credentials: Credentials,
        now: Callable[[], datetime],
        partial_dir: Path,
        kib_per_second: int = 0,
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._now = now
        self._partial_dir = partial_dir
        self._rate = kib_per_second * 1024
        self.received = 0

    def _fetch(self, url: str) -> Iterator[bytes]:
        self._partial_dir.mkdir(parents=True, exist_ok=True)
        partial = self._partial_dir / hashlib.sha256(url.encode()).hexdigest()
        # Only targets resume: their names carry their hash, so a kept part is of the same
        # file. timestamp.json keeps its name from one version to the next.
        resumable = "/targets/" in url
        have = partial.stat().st_size if resumable and partial.exists() else 0
        request = self._http.build_request("GET", url, headers={"X-Kiosk-Version": __version__})
        if have:
            request.headers["Range"] = f"bytes={have}-"
        path = request.url.raw_path.decode("ascii")
        request.headers.update(
            signed_headers(
                self._credentials.device_id,
                self._credentials.secret,
                "GET",
                path,
                b"",
                int(self._now().timestamp()),
            )
        )
        response = self._http.send(request, stream=True)
        if response.status_code == 416:  # what we hold is already whole (or stale)
            response.close()
            partial.unlink(missing_ok=True)
            raise DownloadHTTPError("range not satisfiable; starting over", 416)
        if response.status_code not in (200, 206):
            response.close()
            raise DownloadHTTPError(
                f"the hub answered HTTP {response.status_code}", response.status_code
            )
        return self._stream(response, partial, resumed=response.status_code == 206)

    def _stream(self, response: httpx.Response, partial: Path, *, resumed: bool) -> Iterator[bytes]:
        try:
            with partial.open("ab" if resumed else "wb") as keep:
                if resumed:
                    with partial.open("rb") as held:
                        while block := held.read(CHUNK):
                            yield block
                started, sent = time.monotonic(), 0
                for block in response.iter_bytes(CHUNK):
                    keep.write(block)
                    keep.flush()
                    self.received += len(block)
                    sent += len(block)
                    self._throttle(started, sent)
                    yield block
        finally:
            response.close()
        partial.unlink(missing_ok=True)  # whole: TUF checks it; a bad copy is fetched anew

    def _throttle(self, started: float, sent: int) -> None:
        if self._rate <= 0:
            return
        ahead = sent / self._rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)  # the cap itself: this is a background download thread


class FolderFetcher(FetcherInterface):
    """A release repository copied to a folder (USB stick): ``usb://metadata/x`` → folder."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder.resolve()

    def _fetch(self, url: str) -> Iterator[bytes]:
        parts = urlsplit(url)
        relative = (parts.netloc + parts.path).lstrip("/")
        path = (self._folder / relative).resolve()
        if not path.is_relative_to(self._folder) or not path.is_file():
            raise DownloadHTTPError("not on the stick", 404)
        return self._read(path)

    @staticmethod
    def _read(path: Path) -> Iterator[bytes]:
        with path.open("rb") as stream:
            while block := stream.read(CHUNK):
                yield block
