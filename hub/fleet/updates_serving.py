"""Serving the signed update repository (issue 16, docs/UPDATES.md) to enrolled machines.

``GET /v1/updates/metadata/<path>`` and ``GET /v1/updates/targets/<path>``: files from inside
``settings.UPDATES_REPOSITORY`` only, to a machine that signs its request like a sync call
(fleet.auth: an unknown or unenrolled machine gets 401). ``Range: bytes=N-`` / ``bytes=N-M``
answers 206 so a kiosk on a poor link resumes a download; a missing file is 404. The content
itself needs no trust here: the kiosk verifies every byte against the TUF metadata.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from fleet.auth import AuthError, authenticate

log = logging.getLogger("fleet.updates")

_RANGE = re.compile(r"^bytes=(\d{1,15})-(\d{0,15})$")
_PART = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,199}$")
CHUNK = 256 * 1024


def _error(status: int, error: str) -> JsonResponse:
    return JsonResponse({"error": error}, status=status)


def _resolve(area: str, path: str) -> Path | None:
    """The file under ``<repo>/<area>/`` named by ``path``, or None. Every part is checked
    (no ``..``, no hidden files, no absolute path) and the result must stay inside."""
    parts = path.split("/")
    if not path or len(parts) > 4 or not all(_PART.match(p) and ".." not in p for p in parts):
        return None
    base = (Path(settings.UPDATES_REPOSITORY) / area).resolve()
    candidate = base.joinpath(*parts).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate


def _chunks(handle: object, remaining: int) -> Iterator[bytes]:
    with handle:  # type: ignore[attr-defined]
        while remaining > 0:
            block = handle.read(min(CHUNK, remaining))  # type: ignore[attr-defined]
            if not block:
                return
            remaining -= len(block)
            yield block


def _serve(request: HttpRequest, area: str, path: str) -> HttpResponse:
    if request.method != "GET":
        response = _error(405, "method_not_allowed")
        response["Allow"] = "GET"
        return response
    try:
        machine = authenticate(request)
    except AuthError as exc:
        return JsonResponse(exc.body, status=exc.status)
    found = _resolve(area, path)
    if found is None:
        log.info("machine %s asked for an update file that is not there", machine.pk)
        return _error(404, "not_found")
    size = found.stat().st_size
    wanted = request.headers.get("Range", "")
    if not wanted:
        response: HttpResponse = FileResponse(
            found.open("rb"), content_type="application/octet-stream"
        )
        response["Accept-Ranges"] = "bytes"
        return response
    match = _RANGE.match(wanted.strip())
    start = int(match.group(1)) if match else size
    end = int(match.group(2)) if match and match.group(2) else size - 1
    if match is None or start >= size or end < start:
        response = _error(416, "range_not_satisfiable")
        response["Content-Range"] = f"bytes */{size}"
        return response
    end = min(end, size - 1)
    handle = found.open("rb")
    handle.seek(start)
    response = StreamingHttpResponse(
        _chunks(handle, end - start + 1), status=206, content_type="application/octet-stream"
    )
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


@csrf_exempt
def metadata(request: HttpRequest, path: str) -> HttpResponse:
    return _serve(request, "metadata", path)


@csrf_exempt
def targets(request: HttpRequest, path: str) -> HttpResponse:
    return _serve(request, "targets", path)
