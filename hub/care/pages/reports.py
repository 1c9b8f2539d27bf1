"""The reports pages (issue 14 item 7), all behind VIEW_REPORTS and limited to the user's
sites: daily reconciliation, the controlled-substance register, a participant's dispense log;
each also as CSV (``?download=csv``, same filters), and the FHIR export. Every download is
audited with its filters (ids and dates only). docs/CARE.md, "Reports"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from fleet.models import Prescription

from care import audit
from care.models import AuditAction
from care.permissions import Action, requires
from care.reports import csvfile, data, days, fhir
from care.reports.filters import DispenseLogFilters, ReportFilters

PAGE_SIZE = 50


def _wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("download") == "csv"


def _query_without(request: HttpRequest, *keys: str) -> str:
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


def _record_download(
    request: HttpRequest, action: AuditAction, form: ReportFilters, **more: Any
) -> None:
    site = form.cleaned_data.get("site")
    with transaction.atomic():
        audit.record(request, action, site=site, **form.audit_detail(), **more)


def _page(request: HttpRequest, rows: list[Any]) -> Any:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _span(scope: data.Scope) -> str:
    return f"{scope.first.isoformat()}-{scope.last.isoformat()}"


def _listing(
    request: HttpRequest,
    form: ReportFilters,
    scope: data.Scope,
    report: str,
    filename: str,
    header: tuple[str, ...],
    rows: list[list[Any]],
    **context: Any,
) -> HttpResponse:
    """A long report: the CSV (every row, audited) or one page of the table."""
    if _wants_csv(request):
        _record_download(request, AuditAction.REPORT_DOWNLOADED, form, report=report)
        return csvfile.response(filename, header, rows)
    page = _page(request, rows)
    query = _query_without(request, "download", "page")
    return render(
        request,
        f"care/reports/{report}.html",
        {
            "form": form,
            "page": page,
            "scope": scope,
            "csv_query": query,
            "page_query": query,
            **context,
        },
    )


@requires(Action.VIEW_REPORTS)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "care/reports/index.html")


# ---------------------------------------------------------------- daily reconciliation

RECONCILIATION_HEADER = (
    "dosing_day",
    "site",
    "machine",
    "lane",
    "medication_ids",
    "opening",
    "received",
    "dispensed",
    "returned",
    "wasted",
    "expected_closing",
    "counted_closing",
    "difference",
    "counts",
    "discrepancies",
    "vends_started",
    "vends_failed",
    "vends_unsettled",
)


def _reconciliation_cells(day: Any, row: data.ReconciliationRow) -> list[Any]:
    d = row.day
    return [
        day.isoformat(),
        row.site.name,
        row.machine.name if row.machine else "all machines",
        row.lane if row.lane is not None else "all lanes",
        " ".join(str(i) for i in sorted(d.medication_ids)),
        d.opening,
        d.received,
        d.dispensed,
        d.returned,
        d.wasted,
        d.expected_closing,
        d.counted_closing,
        d.difference,
        d.counts,
        d.discrepancies,
        d.vends_started,
        d.vends_failed,
        d.vends_unsettled,
    ]


@requires(Action.VIEW_REPORTS)
@require_GET
def reconciliation(request: HttpRequest) -> HttpResponse:
    form = ReportFilters(request.GET, request.care_sites, one_day=True)  # type: ignore[attr-defined]
    if not form.is_valid():
        return render(request, "care/reports/reconciliation.html", {"form": form}, status=400)
    scope = form.scope()
    rows = data.reconciliation(scope)
    if _wants_csv(request):
        _record_download(request, AuditAction.REPORT_DOWNLOADED, form, report="reconciliation")
        return csvfile.response(
            f"reconciliation-{scope.first.isoformat()}.csv",
            RECONCILIATION_HEADER,
            (_reconciliation_cells(scope.first, r) for r in rows),
        )
    return render(
        request,
        "care/reports/reconciliation.html",
        {
            "form": form,
            "rows": rows,
            "day": scope.first,
            "csv_query": _query_without(request, "download"),
        },
    )


# ---------------------------------------------------------------- the register

REGISTER_HEADER = (
    "time_local",
    "site",
    "machine",
    "lane",
    "medication_id",
    "lot",
    "movement",
    "units_in",
    "units_out",
    "expected",
    "counted",
    "balance_after",
    "who",
    "vend_id",
)


REGISTER_TITLES = (
    "Time",
    "Site",
    "Machine",
    "Lane",
    "Medication (kiosk id)",
    "Lot",
    "Movement",
    "In",
    "Out",
    "Expected",
    "Counted",
    "Balance",
    "Who",
    "Vend",
)


def _register_cells(row: data.RegisterRow) -> list[Any]:
    return [
        days.local_text(row.site, row.at),
        row.site.name,
        row.machine.name,
        row.lane,
        row.medication_id,
        row.lot,
        row.kind,
        row.units_in,
        row.units_out,
        row.expected,
        row.counted,
        row.balance,
        row.who,
        row.vend_id,
    ]


@requires(Action.VIEW_REPORTS)
@require_GET
def register(request: HttpRequest) -> HttpResponse:
    form = ReportFilters(request.GET, request.care_sites)  # type: ignore[attr-defined]
    if not form.is_valid():
        return render(request, "care/reports/register.html", {"form": form}, status=400)
    scope = form.scope()
    return _listing(
        request,
        form,
        scope,
        "register",
        f"register-{_span(scope)}.csv",
        REGISTER_HEADER,
        [_register_cells(r) for r in data.register(scope)],
        headers=REGISTER_TITLES,
    )


# ---------------------------------------------------------------- one participant's dispenses

DISPENSE_HEADER = (
    "time_local",
    "site",
    "machine",
    "participant_code",
    "medication",
    "lane",
    "units_asked",
    "units_given",
    "vend_id",
    "result",
)


DISPENSE_TITLES = (
    "Time",
    "Site",
    "Machine",
    "Participant",
    "Medication",
    "Lane",
    "Units asked",
    "Units given",
    "Vend",
    "Result",
)


def _result_text(row: data.DispenseRow) -> str:
    if row.dropped is None:
        return "no result yet (unsettled)"
    return row.outcome or "unknown"


def _dispense_cells(row: data.DispenseRow) -> list[Any]:
    site = row.machine.site
    return [
        days.local_text(site, row.at),
        site.name,
        row.machine.name,
        row.participant_code,
        data.medication_text(row.prescription),
        row.lane,
        row.units,
        row.dropped,
        row.vend_id,
        _result_text(row),
    ]


@requires(Action.VIEW_REPORTS)
@require_GET
def dispense_log(request: HttpRequest) -> HttpResponse:
    sites = request.care_sites  # type: ignore[attr-defined]
    if "code" not in request.GET:
        return render(
            request, "care/reports/dispenses.html", {"form": DispenseLogFilters(None, sites)}
        )
    form = DispenseLogFilters(request.GET, sites)
    if form.is_valid():
        scope = form.scope()
        code = form.cleaned_data["code"]
        if not data.participant_exists(scope.machines, code):
            form.add_error("code", "No participant with that code at the sites and machine chosen.")
    if not form.is_valid():
        return render(request, "care/reports/dispenses.html", {"form": form}, status=400)
    rows = data.dispenses(scope, data.participant_prescriptions(scope.machines, code))
    return _listing(
        request,
        form,
        scope,
        "dispenses",
        f"dispenses-{code}-{_span(scope)}.csv",
        DISPENSE_HEADER,
        [_dispense_cells(r) for r in rows],
        code=code,
        headers=DISPENSE_TITLES,
    )


# ---------------------------------------------------------------- FHIR


def _prescriptions(scope: data.Scope) -> Iterator[Prescription]:
    """The prescriptions of the scope's machines in force at some time in the range."""
    rows = Prescription.objects.filter(
        participant__machine__in=scope.machines, start_date__lte=scope.last
    ).exclude(end_date__lt=scope.first)
    return rows.select_related("participant__machine").order_by("pk").iterator(chunk_size=500)


@requires(Action.VIEW_REPORTS)
@require_GET
def fhir_export(request: HttpRequest) -> HttpResponse:
    form = ReportFilters(request.GET, request.care_sites)  # type: ignore[attr-defined]
    if "start" not in request.GET or not form.is_valid():
        status = 400 if "start" in request.GET else 200
        return render(request, "care/reports/fhir.html", {"form": form}, status=status)
    scope = form.scope()
    prescriptions = list(_prescriptions(scope))
    rows = data.dispenses(scope)
    result = fhir.bundle(prescriptions, rows, timezone.now())
    _record_download(
        request,
        AuditAction.REPORT_FHIR_EXPORTED,
        form,
        requests=len(prescriptions),
        dispenses=len(rows),
        fhir=fhir.FHIR_VERSION,
    )
    response = HttpResponse(
        result.model_dump_json(exclude_none=True), content_type=fhir.CONTENT_TYPE
    )
    name = f"medications-{scope.first.isoformat()}-{scope.last.isoformat()}.fhir.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
