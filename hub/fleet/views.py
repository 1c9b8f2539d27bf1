"""The sync API, protocol v1 (docs/SYNC.md). JSON in, JSON out; kiosks authenticate by HMAC
(fleet.auth), never by cookie, so the views are exempt from CSRF."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from fleet import changelog, clientip, ingest, signing, throttle
from fleet.auth import AuthError, authenticate
from fleet.models import Alert, EnrollmentCode, hash_code

log = logging.getLogger("fleet.api")

View = Callable[[HttpRequest], HttpResponse]


def _error(status: int, error: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": error, **extra}, status=status)


def _api(method: str, *, signed: bool = True) -> Callable[[Callable[..., HttpResponse]], View]:
    """One method, JSON errors, HMAC authentication (the machine is passed to the view)."""

    def decorate(view: Callable[..., HttpResponse]) -> View:
        @csrf_exempt
        def wrapper(request: HttpRequest) -> HttpResponse:
            if request.method != method:
                response = _error(405, "method_not_allowed")
                response["Allow"] = method
                return response
            try:
                request.body  # noqa: B018 - read it now so a body too large is a JSON error
            except RequestDataTooBig:
                return _error(413, "body_too_large")
            if not signed:
                return view(request)
            try:
                machine = authenticate(request)
            except AuthError as exc:
                return JsonResponse(exc.body, status=exc.status)
            return view(request, machine)

        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return wrapper

    return decorate


@_api("POST", signed=False)
def provision(request: HttpRequest) -> HttpResponse:
    """``{"code": ...}`` -> ``{"device_id": ..., "secret": <hex>}``. A code works once.

    Wrong codes count against the client's address (fleet.throttle): past the limit it gets
    429 with Retry-After, whatever it sends, until the lock-out ends."""
    address = clientip.client_ip(request)
    now = timezone.now()
    with transaction.atomic():
        wait = throttle.retry_after(address, now)
    if wait is not None:
        response = _error(429, "too_many_attempts", retry_after=wait)
        response["Retry-After"] = str(wait)
        return response
    try:
        body = json.loads(request.body)
    except (UnicodeDecodeError, ValueError):
        return _error(400, "bad_request", detail="body: not JSON")
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str) or not 0 < len(code) <= 64:
        return _error(400, "bad_request", detail='body: {"code": "<code>"} expected')
    with transaction.atomic():
        row = (
            EnrollmentCode.objects.select_for_update()
            .select_related("machine")
            .filter(code_hash=hash_code(code))
            .first()
        )
        if row is None or not row.usable or row.machine.revoked:
            # Counted (and committed) whatever the code was: unknown, used, revoked, expired.
            throttle.failed(address, now)
            return _error(401, "invalid_code")
        secret = signing.new_secret()
        machine = row.machine
        replaced = machine.provisioned
        machine.set_secret(secret)
        machine.provisioned_at = now
        machine.last_contact = now
        machine.save(update_fields=["secret_sealed", "provisioned_at", "last_contact"])
        row.used_at = now
        row.save(update_fields=["used_at"])
        if replaced:
            # Legitimate after a kiosk's disk was replaced, but never silent: the kiosk that
            # held the old secret stops syncing from this moment.
            Alert.objects.create(
                machine=machine,
                kind="machine_reprovisioned",
                message="machine re-provisioned with a new enrollment code; the previous"
                " kiosk's credentials stop working",
                created_at=now,
            )
        throttle.succeeded(address)
    if replaced:
        log.warning("machine %s re-provisioned from client %s", machine.pk, address)
    else:
        log.info("machine %s provisioned from client %s", machine.pk, address)
    return JsonResponse({"device_id": machine.device_id, "secret": secret})


@_api("POST")
def push_events(request: HttpRequest, machine: Any) -> HttpResponse:
    """``{"events": [...], "anchor": {...}}`` -> ``{"stored_through": N, "anchor": {...}}``
    (``anchor`` optional both ways: the reply has it once the hub holds one)."""
    try:
        push = ingest.parse_push(request.body, machine)
    except ingest.BadBody as exc:
        return _error(exc.status, exc.error, detail=exc.detail)
    stored = ingest.store(machine, push)
    reply: dict[str, Any] = {"stored_through": stored.through}
    if stored.anchor is not None:
        reply["anchor"] = stored.anchor.as_json()
    return JsonResponse(reply)


@_api("GET")
def pull_changes(request: HttpRequest, machine: Any) -> HttpResponse:
    """``?cursor=N`` -> ``{"cursor", "snapshot", "more", "changes"}``."""
    raw = request.GET.get("cursor", "")
    if not raw.isdigit() or len(raw) > 18:
        return _error(400, "bad_request", detail="cursor: a non-negative integer expected")
    page = changelog.changes_for(machine, int(raw), settings.HUB_PULL_PAGE)
    return JsonResponse(page)
