"""The hub's HTTP API (docs/SYNC.md) over httpx: every call signed, every call with timeouts.

Errors become ``HubError`` subclasses whose text is staff wording with no personal data and
never the secret.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from kiosk import __version__
from kiosk.domain.text import clean_text
from kiosk.services.sync.anchor import valid
from kiosk.services.sync.credentials import (
    Credentials,
    credentials_path,
    save_credentials,
)
from kiosk.services.sync.signing import signed_headers
from kiosk.store.anchor import Anchor

log = logging.getLogger("kiosk.sync")

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class HubError(Exception):
    """A call to the hub failed. ``str()`` is staff wording, safe to store and show."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class HubUnreachable(HubError):
    """No answer: network down, DNS, TLS, timeout."""


class HubBusy(HubError):
    """The hub answered 429 or 5xx: try again later (Retry-After may say when)."""


class HubRefused(HubError):
    """The hub refused the request (400, 401, 403, 404): retrying the same will not help
    until something changes (credentials, clock, software)."""


class ClockSkew(HubRefused):
    """401 clock_skew: the kiosk clock and the hub's differ by more than 300 s."""

    def __init__(self, skew_seconds: float, retry_after: float | None = None) -> None:
        minutes = max(1, round(abs(skew_seconds) / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(
            f"the kiosk clock differs from the hub's by {minutes} {unit}",
            status=401,
            code="clock_skew",
            retry_after=retry_after,
        )
        self.skew_seconds = skew_seconds


_REFUSAL_TEXT = {
    "replay": "the hub refused a repeated request (replay); it will be retried",
    "bad_signature": "the hub did not accept this kiosk's signature (check its credentials)",
    "revoked": "the hub has revoked this kiosk; it must be enrolled again",
    "unknown_device": "the hub does not know this kiosk; it must be enrolled again",
}


@dataclass(frozen=True)
class Change:
    kind: str
    op: str
    key: str
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "op": self.op, "key": self.key, "data": self.data}


@dataclass(frozen=True)
class ChangesPage:
    cursor: int
    snapshot: bool
    more: bool
    changes: list[Change]


@dataclass(frozen=True)
class Quarantined:
    """One event of a push the hub set aside instead of storing (docs/SYNC.md)."""

    seq: int
    event_id: str | None  # as the hub read it (None: it could not)
    type: str | None
    reason: str  # the hub's words, without personal data; cleaned and cut here


@dataclass(frozen=True)
class Pushed:
    stored_through: int
    anchor: Anchor | None  # the audit anchor the hub holds for this kiosk (docs/SYNC.md)
    # The events of this push the hub set aside (their seqs count as held: stored_through
    # moves past them). Empty from an older hub, which does not send the field.
    quarantined: tuple[Quarantined, ...] = ()


def check_url(url: str) -> str:
    """TLS in production; plain HTTP only to a loopback address (tests, demo)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url.rstrip("/")
    raise ValueError("the hub url must be https:// (http:// only on loopback)")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _error_code(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return "", {}
    if isinstance(body, dict):
        return str(body.get("error", "")), body
    return "", {}


def raise_for_response(response: httpx.Response, now: datetime) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
    code, body = _error_code(response)
    if status == 401 and code == "clock_skew":
        try:
            server_time = float(body["server_time"])
        except (KeyError, TypeError, ValueError):
            server_time = now.timestamp()
        raise ClockSkew(now.timestamp() - server_time, retry_after)
    if status == 429 or status >= 500:
        raise HubBusy(
            f"the hub is busy or failing (HTTP {status})",
            status=status,
            code=code,
            retry_after=retry_after,
        )
    text = _REFUSAL_TEXT.get(code, f"the hub refused the request (HTTP {status} {code})".strip())
    raise HubRefused(text, status=status, code=code, retry_after=retry_after)


class HubClient:
    """Signed calls to one hub. Not thread-safe: one per sync thread."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        now: Callable[[], datetime],
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._credentials = credentials
        self._now = now
        self._http = httpx.Client(
            base_url=check_url(url), transport=transport, timeout=timeout, follow_redirects=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, payload: Any = None
    ) -> Any:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        # The version tells the hub's fleet page what each kiosk runs (docs/SYNC.md).
        headers = {"Accept": "application/json", "X-Kiosk-Version": __version__}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(
            method, path, params=params, content=body, headers=headers
        )
        # Sign exactly what goes on the wire: the path and query as encoded in the request.
        path_with_query = request.url.raw_path.decode("ascii")
        now = self._now()
        request.headers.update(
            signed_headers(
                self._credentials.device_id,
                self._credentials.secret,
                method,
                path_with_query,
                body,
                int(now.timestamp()),
            )
        )
        try:
            response = self._http.send(request)
        except httpx.TimeoutException as exc:
            raise HubUnreachable("the hub did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise HubUnreachable(f"the hub cannot be reached ({type(exc).__name__})") from exc
        raise_for_response(response, now)
        try:
            return response.json()
        except ValueError as exc:
            raise HubBusy("the hub sent an answer that is not JSON", status=200) from exc

    def push(self, events: list[dict[str, Any]], anchor: dict[str, Any] | None = None) -> Pushed:
        """POST /v1/sync/events, with the audit anchor when given."""
        payload: dict[str, Any] = {"events": events}
        if anchor is not None:
            payload["anchor"] = anchor
        answer = self._call("POST", "/v1/sync/events", payload=payload)
        try:
            stored_through = int(answer["stored_through"])
        except (KeyError, TypeError, ValueError) as exc:
            raise HubBusy("the hub's answer to a push lacks stored_through") from exc
        return Pushed(
            stored_through,
            _held_anchor(answer.get("anchor")),
            _set_aside(answer.get("quarantined")),
        )

    def pull(self, cursor: int) -> ChangesPage:
        """GET /v1/sync/changes?cursor=N."""
        answer = self._call("GET", "/v1/sync/changes", params={"cursor": cursor})
        try:
            changes = [
                Change(
                    str(item["kind"]),
                    str(item["op"]),
                    str(item["key"]),
                    dict(item.get("data") or {}),
                )
                for item in answer["changes"]
            ]
            return ChangesPage(
                int(answer["cursor"]), bool(answer["snapshot"]), bool(answer["more"]), changes
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HubBusy("the hub sent a page of changes this kiosk cannot read") from exc


def _held_anchor(raw: Any) -> Anchor | None:
    """The hub's ``anchor`` answer, or None: absent (an older hub) or not its shape (then it
    is only not remembered; the events were stored all the same)."""
    if not isinstance(raw, dict):
        return None
    entries, head = raw.get("entries"), raw.get("head")
    if type(entries) is not int or not isinstance(head, str):
        return None
    anchor = Anchor(entries, head)
    return anchor if valid(anchor) else None


MAX_REASON = 500  # characters of the hub's reason kept (it is shown on the Sync page)
MAX_NAME = 200  # an event id or type longer than this is not one this kiosk sent


def _set_aside(raw: Any) -> tuple[Quarantined, ...]:
    """The hub's ``quarantined`` answer. Absent (an older hub): none. An entry that is not
    its shape is left out with a log line (its position only: the hub's words stay out of
    the log); the rest are kept, and the push counts as made either way."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        log.warning("the hub's answer to a push lists set-aside events in a shape not read")
        return ()
    entries = []
    for index, item in enumerate(raw):
        entry = _set_aside_entry(item)
        if entry is None:
            log.warning("the hub's answer to a push: set-aside entry %d is malformed", index)
        else:
            entries.append(entry)
    return tuple(entries)


def _set_aside_entry(item: Any) -> Quarantined | None:
    if not isinstance(item, dict):
        return None
    seq, event_id, type_, reason = (item.get(k) for k in ("seq", "id", "type", "reason"))
    if type(seq) is not int or seq < 1 or not isinstance(reason, str):
        return None
    for name in (event_id, type_):
        if name is not None and not (isinstance(name, str) and len(name) <= MAX_NAME):
            return None
    reason = clean_text(reason)[:MAX_REASON] or "no reason given"
    return Quarantined(
        seq,
        None if event_id is None else clean_text(event_id),
        None if type_ is None else clean_text(type_),
        reason,
    )


def provision(
    url: str,
    code: str,
    data_dir: Path,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> Credentials:
    """Exchange a one-time enrollment code for a device id and secret, saved 0600 in
    ``<data_dir>/hub-credentials.json``. A kiosk already provisioned is refused."""
    path = credentials_path(data_dir)
    if path.exists():
        raise FileExistsError(f"this kiosk already holds hub credentials ({path})")
    with httpx.Client(
        base_url=check_url(url), transport=transport, timeout=timeout, follow_redirects=False
    ) as http:
        try:
            response = http.post("/v1/provision", json={"code": code})
        except httpx.TimeoutException as exc:
            raise HubUnreachable("the hub did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise HubUnreachable(f"the hub cannot be reached ({type(exc).__name__})") from exc
        now = datetime.now(UTC)
        if response.status_code in (400, 401, 403, 404, 410):
            code_text, _body = _error_code(response)
            raise HubRefused(
                "the hub refused the enrollment code (used, expired or wrong)",
                status=response.status_code,
                code=code_text,
            )
        raise_for_response(response, now)
        try:
            answer = response.json()
            credentials = Credentials(str(answer["device_id"]), str(answer["secret"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise HubBusy("the hub's answer to provisioning is malformed") from exc
    save_credentials(path, credentials)
    log.info("provisioned with the hub as device %s", credentials.device_id)
    return credentials
