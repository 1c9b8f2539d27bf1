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

from fleet import changelog, ingest, schema, signing
from fleet.auth import AuthError, authenticate
from fleet.models import EnrollmentCode, hash_code

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
    """``{"code": ...}`` -> ``{"device_id": ..., "secret": <hex>}``. A code works once."""
    try:
        body = schema.load(request.body)
    except schema.NotJSON as exc:
        return _error(400, "bad_request", detail=str(exc))
    problems = schema.check(schema.PROVISION, body, "body")
    if problems:
        return _error(400, "bad_request", detail=f'{problems[0]} ({{"code": "<code>"}} expected)')
    code = body["code"]
    now = timezone.now()
    with transaction.atomic():
        row = (
            EnrollmentCode.objects.select_for_update()
            .select_related("machine")
            .filter(code_hash=hash_code(code))
            .first()
        )
        if row is None or row.used_at is not None or row.expires_at < now or row.machine.revoked:
            log.warning("provisioning refused (unknown, used, expired or revoked code)")
            return _error(401, "invalid_code")
        secret = signing.new_secret()
        machine = row.machine
        machine.set_secret(secret)
        machine.provisioned_at = now
        machine.last_contact = now
        machine.save(update_fields=["secret_sealed", "provisioned_at", "last_contact"])
        row.used_at = now
        row.save(update_fields=["used_at"])
    log.info("machine %s provisioned", machine.pk)
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
