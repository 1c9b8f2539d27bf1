"""The review queues (/reviews/, the nurse's start page): missed-dose holds, participants not
seen lately, stock counts and sync exceptions, events set aside. One tab each, with its count.

Reading and acting both need REVIEW_QUEUES (nurses, pharmacists); every list is limited to the
sites where the user holds it (``request.care_sites``). Actions are forms posted inline with
htmx (the row is replaced by the outcome) and work without it too (redirect with a message).
The queries are in care/pages/queue_lists.py, the writes in care/pages/queue_actions.py.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.timezone import now
from django.views.decorators.http import require_GET, require_POST

from care.pages import queue_actions, queue_lists
from care.pages.queue_actions import END, RELEASE, NotApplied
from care.permissions import Action, can, requires

PER_PAGE = 25

TABS = (
    ("holds", "care:reviews", "Missed-dose holds"),
    ("absences", "care:reviews-absences", "Not seen lately"),
    ("stock", "care:reviews-stock", "Stock and sync"),
    ("quarantined", "care:reviews-set-aside", "Set-aside events"),
)


# ---------------------------------------------------------------- forms


class HoldDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=((RELEASE, "Release hold"), (END, "End prescription")))
    reason = forms.CharField(
        max_length=1000,
        error_messages={"required": "Write a reason: it is kept with the decision."},
    )


class ContactForm(forms.Form):
    until = forms.ChoiceField(
        choices=(("today", "For the rest of today"), ("pickup", "Until their next pickup")),
        initial="today",
    )
    note = forms.CharField(
        max_length=1000,
        error_messages={"required": "Write a short note of the outreach (how, outcome)."},
    )


class ReviewForm(forms.Form):
    note = forms.CharField(
        max_length=1000,
        error_messages={"required": "Write a short note of what you found or did."},
    )


class AbsenceFilter(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=60, initial=queue_lists.DEFAULT_ABSENT_DAYS)


# ---------------------------------------------------------------- shared


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _min_days(request: HttpRequest) -> tuple[int, AbsenceFilter]:
    data = request.GET if "days" in request.GET else None
    form = AbsenceFilter(data, initial={"days": queue_lists.DEFAULT_ABSENT_DAYS})
    if data is not None and form.is_valid():
        return form.cleaned_data["days"], form
    return queue_lists.DEFAULT_ABSENT_DAYS, form


def _render(
    request: HttpRequest, tab: str, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    sites = request.care_sites  # type: ignore[attr-defined]
    counts = queue_lists.counts(sites, now(), context.get("min_days", _min_days(request)[0]))
    tabs = [
        {"key": key, "url_name": url_name, "label": label, "count": counts[key]}
        for key, url_name, label in TABS
    ]
    return render(
        request,
        template,
        {**context, "tabs": tabs, "tab": tab, "count": counts[tab]},
        status=status,
    )


def _page(request: HttpRequest, rows: Any, param: str = "page") -> Any:
    return Paginator(rows, PER_PAGE).get_page(request.GET.get(param))


def _done(request: HttpRequest, sentence: str, ok: bool, back: str, columns: int) -> HttpResponse:
    """The row's outcome: in place of the row (htmx), or a message on the list."""
    if _is_htmx(request):
        return render(
            request,
            "care/queues/done_row.html",
            {"sentence": sentence, "ok": ok, "columns": columns},
        )
    (messages.success if ok else messages.error)(request, sentence)
    return redirect(back)


# ---------------------------------------------------------------- missed-dose holds


def _holds_context(request: HttpRequest, bad: dict[str, Any] | None = None) -> dict[str, Any]:
    page = _page(request, queue_lists.holds(request.care_sites))  # type: ignore[attr-defined]
    rows = list(page.object_list)
    missed = queue_lists.days_missed(rows, now())
    return {
        "page": page,
        "rows": [{"rx": rx, "missed": missed[rx.pk]} for rx in rows],
        "bad": bad or {},
    }


@requires(Action.REVIEW_QUEUES)
@require_GET
def holds(request: HttpRequest) -> HttpResponse:
    return _render(request, "holds", "care/queues/holds.html", _holds_context(request))


@requires(Action.REVIEW_QUEUES)
@require_POST
def decide_hold(request: HttpRequest, pk: int) -> HttpResponse:
    queue_actions.check_item(request, "hold", pk)
    form = HoldDecisionForm(request.POST)
    if not form.is_valid():
        return _hold_form_again(request, pk, form)
    try:
        sentence = queue_actions.decide_hold(
            request, pk, form.cleaned_data["decision"], form.cleaned_data["reason"]
        )
    except NotApplied as refused:
        return _done(request, str(refused), False, "care:reviews", 6)
    return _done(request, sentence, True, "care:reviews", 6)


def _hold_form_again(request: HttpRequest, pk: int, form: HoldDecisionForm) -> HttpResponse:
    if _is_htmx(request):
        return _form_again(request, "care/queues/hold_form.html", f"hold-{pk}", {"pk": pk}, form)
    context = _holds_context(request, {"id": pk, "form": form})
    return _render(request, "holds", "care/queues/holds.html", context, status=400)


def _form_again(
    request: HttpRequest, template: str, form_id: str, context: dict[str, Any], form: forms.Form
) -> HttpResponse:
    """An htmx form with errors: the form alone is replaced (the row stays as it was)."""
    response = render(request, template, {**context, "form": form, "form_id": form_id})
    response["HX-Retarget"] = f"#{form_id}"
    response["HX-Reswap"] = "outerHTML"
    return response


# ---------------------------------------------------------------- absences


def _absences_context(request: HttpRequest, bad: dict[str, Any] | None = None) -> dict[str, Any]:
    min_days, filter_form = _min_days(request)
    rows = queue_lists.absences(request.care_sites, now(), min_days)  # type: ignore[attr-defined]
    return {
        "page": _page(request, rows),
        "min_days": min_days,
        "min_days_text": str(min_days),
        "filter": filter_form,
        "bad": bad or {},
    }


@requires(Action.REVIEW_QUEUES)
@require_GET
def absences(request: HttpRequest) -> HttpResponse:
    return _render(request, "absences", "care/queues/absences.html", _absences_context(request))


@requires(Action.REVIEW_QUEUES)
@require_POST
def contacted(request: HttpRequest, site: int, code: str) -> HttpResponse:
    if not can(request.user, Action.REVIEW_QUEUES, site):
        raise Http404
    form = ContactForm(request.POST)
    if not form.is_valid():
        if _is_htmx(request):
            context = {"site_id": site, "code": code}
            return _form_again(
                request, "care/queues/contact_form.html", f"contact-{site}-{code}", context, form
            )
        bad = {"site": site, "code": code, "form": form}
        context = _absences_context(request, bad)
        return _render(request, "absences", "care/queues/absences.html", context, status=400)
    sentence = queue_actions.note_contact(
        request, site, code, form.cleaned_data["until"] == "pickup", form.cleaned_data["note"]
    )
    return _done(request, sentence, True, "care:reviews-absences", 5)


# ---------------------------------------------------------------- stock and sync


def _stock_context(request: HttpRequest, bad: dict[str, Any] | None = None) -> dict[str, Any]:
    sites = request.care_sites  # type: ignore[attr-defined]
    return {
        "counts_page": _page(request, queue_lists.count_mismatches(sites), "counts_page"),
        "exceptions_page": _page(request, queue_lists.sync_exceptions(sites), "exceptions_page"),
        "bad": bad or {},
    }


@requires(Action.REVIEW_QUEUES)
@require_GET
def stock(request: HttpRequest) -> HttpResponse:
    return _render(request, "stock", "care/queues/stock.html", _stock_context(request))


# ---------------------------------------------------------------- set-aside events


def _quarantined_context(request: HttpRequest, bad: dict[str, Any] | None = None) -> dict[str, Any]:
    page = _page(request, queue_lists.quarantined(request.care_sites))  # type: ignore[attr-defined]
    return {"page": page, "bad": bad or {}}


@requires(Action.REVIEW_QUEUES)
@require_GET
def set_aside(request: HttpRequest) -> HttpResponse:
    return _render(
        request, "quarantined", "care/queues/quarantined.html", _quarantined_context(request)
    )


# ---------------------------------------------------------------- "reviewed" (both tabs)

_REVIEW_PAGES = {
    "count": ("stock", "care:reviews-stock", "care/queues/stock.html", _stock_context, 6),
    "exception": ("stock", "care:reviews-stock", "care/queues/stock.html", _stock_context, 5),
    "quarantined": (
        "quarantined",
        "care:reviews-set-aside",
        "care/queues/quarantined.html",
        _quarantined_context,
        6,
    ),
}


@requires(Action.REVIEW_QUEUES)
@require_POST
def reviewed(request: HttpRequest, what: str, pk: int) -> HttpResponse:
    if what not in _REVIEW_PAGES:
        raise Http404
    tab, back, template, build, columns = _REVIEW_PAGES[what]
    queue_actions.check_item(request, what, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        if _is_htmx(request):
            context = {"what": what, "pk": pk}
            return _form_again(
                request, "care/queues/review_form.html", f"review-{what}-{pk}", context, form
            )
        context = build(request, {"what": what, "id": pk, "form": form})
        return _render(request, tab, template, context, status=400)
    try:
        sentence = queue_actions.mark_reviewed(request, what, pk, form.cleaned_data["note"])
    except NotApplied as refused:
        return _done(request, str(refused), False, back, columns)
    return _done(request, sentence, True, back, columns)
