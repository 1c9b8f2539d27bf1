"""My authenticator (/approvals/authenticator/, APPROVE_REMOTE): the signed-in clinician sets
up an authenticator app for approvals from afar, confirms it with one current code, or
resets it. The QR code is drawn on the server as SVG (segno). The work is
care/authenticator.py's (one transaction with the audit)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe

from care import authenticator
from care.authenticator import NotConfirmed
from care.permissions import Action, requires


class ConfirmForm(forms.Form):
    code = forms.CharField(max_length=8, label="The 6-digit code your app shows now")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["code"].widget.attrs.update(
            {"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "8"}
        )


@requires(Action.APPROVE_REMOTE)
def page(request: HttpRequest) -> HttpResponse:
    form = ConfirmForm()
    if request.method == "POST":
        step = request.POST.get("step")
        if step == "start":
            authenticator.start(request)
            return redirect("care:authenticator")
        if step == "reset":
            if authenticator.reset(request):
                messages.success(
                    request,
                    "Your app was reset. Machines stop taking its codes at their next sync.",
                )
            return redirect("care:authenticator")
        if step == "confirm":
            form = ConfirmForm(request.POST)
            if form.is_valid():
                try:
                    authenticator.confirm(request, form.cleaned_data["code"])
                except NotConfirmed as refused:
                    form.add_error("code", str(refused))
                else:
                    messages.success(
                        request,
                        "Your app is set up. Machines take its codes after their next sync.",
                    )
                    return redirect("care:authenticator")
    enrolment = authenticator.enrolment(request.user)
    context = {
        "enrolment": enrolment,
        # segno's own SVG markup, made here from the URI: nothing of the user's is in it raw.
        "qr_svg": mark_safe(enrolment.qr_svg) if enrolment and enrolment.qr_svg else "",
        "form": form,
    }
    return render(request, "care/approvals/authenticator.html", context)
