"""The care app's audit: every write, sign-in and sign-out goes through ``record``.

    audit.record(request, AuditAction.PRESCRIPTION_VERIFIED, obj=prescription,
                 reason=form.cleaned_data["note"], draft=draft.pk)

``detail`` is ids and codes only (``prescription=12``, ``participant="P-0001"``), never a name:
a key that mentions a name is refused. Refused sign-ins are recorded by django-axes
(AccessAttempt / AccessFailureLog, in /admin/axes/): a CareAudit row needs a real user.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import models
from django.http import HttpRequest
from fleet.models import Site

from care.models import AuditAction, CareAudit
from care.sites import site_of

# Set on the request by care.middleware when it ends a session, so the sign-out is recorded as
# that and not as the person's own.
SESSION_END_ATTRIBUTE = "care_session_end_reason"


def record(
    request_or_user: HttpRequest | AbstractBaseUser,
    action: AuditAction | str,
    /,
    obj: models.Model | None = None,
    site: Site | None = None,
    reason: str = "",
    **detail: Any,
) -> CareAudit:
    """Write one audit row and return it. ``site`` defaults to the object's own site."""
    action = AuditAction(action)  # ValueError for an undeclared action
    user = getattr(request_or_user, "user", request_or_user)
    if not getattr(user, "is_authenticated", False):
        raise ValueError("audit.record needs a signed-in user")
    for key in detail:
        if "name" in key.lower():
            raise ValueError(f"audit detail {key!r}: ids and codes only, never names")
    json.dumps(detail)  # TypeError now rather than at save
    if site is None and obj is not None:
        site = site_of(obj)
    return CareAudit.objects.create(
        user=user,
        action=action.value,
        site=site,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        reason=reason,
        detail=detail,
    )


def _where(request: HttpRequest | None) -> str:
    if request is None:
        return "other"
    return "admin" if request.path.startswith("/admin/") else "care"


def _signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    record(user, AuditAction.SIGN_IN, via=_where(request))


def _signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:  # signing out without a session
        return
    ended = getattr(request, SESSION_END_ATTRIBUTE, "") if request is not None else ""
    if ended:
        record(user, AuditAction.SESSION_ENDED, reason=ended, via=_where(request))
    else:
        record(user, AuditAction.SIGN_OUT, via=_where(request))


def connect_signals() -> None:
    user_logged_in.connect(_signed_in, dispatch_uid="care.audit.signed_in")
    user_logged_out.connect(_signed_out, dispatch_uid="care.audit.signed_out")
