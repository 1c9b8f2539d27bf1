"""Sessions end after an idle spell and after a shift's length, whatever the person does.

The idle limit is also Django's own (SESSION_COOKIE_AGE with SESSION_SAVE_EVERY_REQUEST, so an
abandoned session dies in the database too); this middleware adds the shift's length and says
why the person is back at the sign-in page. Settings: CARE_SESSION_IDLE_SECONDS,
CARE_SESSION_MAX_SECONDS (hubsite/settings.py, from HUB_SESSION_IDLE_MINUTES and
HUB_SESSION_MAX_HOURS).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from care.audit import SESSION_END_ATTRIBUTE

STARTED = "care_started_at"
LAST_SEEN = "care_last_seen_at"


class SessionLimits:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.setdefault(STARTED, now)
            last_seen = request.session.get(LAST_SEEN, now)
            reason = ""
            if now - last_seen > settings.CARE_SESSION_IDLE_SECONDS:
                reason = "idle"
            elif now - started > settings.CARE_SESSION_MAX_SECONDS:
                reason = "shift"
            if reason:
                setattr(request, SESSION_END_ATTRIBUTE, reason)
                logout(request)
                messages.info(
                    request,
                    "You were signed out after a while without activity. Please sign in again."
                    if reason == "idle"
                    else "Your session reached its maximum length. Please sign in again.",
                )
                return redirect_to_login(request.get_full_path(), reverse("care:sign-in"))
            request.session[LAST_SEEN] = now
        return self.get_response(request)
