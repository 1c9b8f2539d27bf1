"""The sync API, protocol v1 (docs/SYNC.md). JSON in, JSON out; kiosks authenticate by HMAC
(fleet.auth), never by cookie, so the views are exempt from CSRF."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from fleet import changelog, clientip, ingest, schema, signing, throttle
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
        body = schema.load(request.body)
    except schema.NotJSON as exc:
        return _error(400, "bad_request", detail=str(exc))
    problems = schema.check(schema.PROVISION, body, "body")
    if problems:
        return _error(400, "bad_request", detail=f'{problems[0]} ({{"code": "<code>"}} expected)')
    code = body["code"]
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
    """``{"events": [...], "anchor": {...}}`` ->
    ``{"stored_through": N, "anchor": {...}, "quarantined": [...]}`` (``anchor`` optional both
    ways: the reply has it once the hub holds one; ``quarantined`` lists the push's events the
    hub holds in quarantine, docs/SYNC.md)."""
    try:
        push = ingest.parse_push(request.body, machine)
    except ingest.BadBody as exc:
        return _error(exc.status, exc.error, detail=exc.detail)
    stored = ingest.store(machine, push)
    reply: dict[str, Any] = {"stored_through": stored.through}
    if stored.anchor is not None:
        reply["anchor"] = stored.anchor.as_json()
    reply["quarantined"] = [
        {"seq": row.seq, "id": row.event_id, "type": row.type, "reason": row.reason}
        for row in stored.quarantined
    ]
    return JsonResponse(reply)


@_api("GET")
def pull_changes(request: HttpRequest, machine: Any) -> HttpResponse:
    """``?cursor=N`` -> ``{"cursor", "snapshot", "more", "changes"}``."""
    query = {key: request.GET.get(key) for key in schema.PULL_QUERY.fields if key in request.GET}
    problems = schema.check(schema.PULL_QUERY, query, "query")
    if problems:
        return _error(400, "bad_request", detail=problems[0])
    page = changelog.changes_for(machine, int(query["cursor"]), settings.HUB_PULL_PAGE)
    return JsonResponse(page)
