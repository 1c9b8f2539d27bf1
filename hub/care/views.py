"""The care app's pages. Each one: a view behind ``requires(action)``, a template extending
care/base.html, writes through ``audit.record``, a browser test in tests/web (docs/CARE.md).

The start pages below are the shells later work fills (prescriptions, verification, reviews,
transfers, fleet, reports); participants already lists the user's sites' participants.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET

from care import permissions
from care.permissions import Action, requires

# ---------------------------------------------------------------- signing in and out


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "That username and password do not match. Check both and try again: after "
            "%(limit)s wrong tries in a row, signing in from this device is locked for a while."
        ),
    }

    def get_invalid_login_error(self) -> forms.ValidationError:
        from django.conf import settings

        return forms.ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={"limit": settings.AXES_FAILURE_LIMIT},
        )


class SignIn(auth_views.LoginView):
    """Django's login (``authenticate()``, so django-axes counts and locks failures)."""

    template_name = "care/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("care:home")


class SignOut(auth_views.LogoutView):
    """POST only (Django's rule): the header's Sign out button."""

    next_page = reverse_lazy("care:sign-in")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            messages.success(request, "You are signed out.")
        return response


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Each person's start page: their first role's page, or a page saying they have none."""
    if not request.user.is_authenticated:
        return redirect("care:sign-in")
    target = permissions.start_url(request.user)
    if target is not None:
        return HttpResponseRedirect(target)
    return render(request, "care/no_role.html")


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' lock-out page (AXES_LOCKOUT_CALLABLE), for the care sign-in and /admin/."""
    from django.conf import settings

    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return render(request, "care/locked_out.html", {"minutes": minutes}, status=429)


# ---------------------------------------------------------------- the start pages


def _shell(action: Action, title: str, empty: str) -> Callable[[HttpRequest], HttpResponse]:
    """A page that has a heading and its empty state so far (replaced by its real view)."""

    @requires(action)
    @require_GET
    def view(request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "care/shell.html",
            {
                "title": title,
                "empty": empty,
                "can_write_prescription": permissions.can(request.user, Action.WRITE_PRESCRIPTION),
                "is_prescriptions": action == Action.VIEW_PRESCRIPTIONS,
            },
        )

    return view


# ---------------------------------------------------------------- error pages (hubsite/urls.py)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return permissions.forbidden(request)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "care/404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No request context: the failure may be in the database or a context processor.
    return HttpResponse(loader.get_template("care/500.html").render(), status=500)
