"""Notices and doses given by hand (issue 17 items 3 and 4; docs/CARE.md, docs/SYNC.md).

Notices: a message for one participant (shown at their kiosk after their scan until they
press "OK") or for a whole site (shown at idle), with a first and a last day, written per
language or marked "one language only". Doses by hand: while a machine cannot dispense, a
nurse or pharmacist records a dose they gave (units, when, where the stock came from; a
witnessed prescription needs a second nurse or pharmacist, who confirms with their own
password). Both become hub records the machines pull; every write is audited (ids only:
the notice text and the people's names stay out of the audit detail)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.timezone import now
from django.views.decorators.http import require_POST
from fleet import downtime
from fleet.models import ManualDose, Notice, Participant, Prescription, Site

from care import audit, kiosk_rules
from care.models import AuditAction
from care.permissions import Action, can, in_sites, requires
from kiosk.services.explain import reason_text

# The kiosk's participant languages (kiosk.i18n.PARTICIPANT_LOCALES), as staff read them.
LANGUAGES = (
    ("en", "English"),
    ("fr_CA", "French (Canada)"),
    ("es", "Spanish"),
    ("zh_Hant", "Chinese (traditional)"),
    ("pa", "Punjabi"),
)
MAX_TEXT = 500
MAX_DAYS = 366
MANUAL_MAX_AGE = timedelta(hours=24)  # as the kiosk (kiosk.domain.manual_doses.MAX_AGE)
SHOWN = 100


# ---------------------------------------------------------------- notices


class NoticeForm(forms.Form):
    site = forms.ModelChoiceField(
        queryset=Site.objects.none(),
        label="Site",
        empty_label="Choose a site",
        error_messages={"required": "Choose the site."},
    )
    participant = forms.CharField(
        label="Participant code (leave empty for the whole site)", max_length=32, required=False
    )
    starts_on = forms.DateField(
        label="First day",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Give the first day.", "invalid": "Give a date."},
    )
    ends_on = forms.DateField(
        label="Last day",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Give the last day.", "invalid": "Give a date."},
    )
    one_language = forms.ChoiceField(
        label="Language",
        choices=(("", "Each language as written below"), *((k, f"{v} only") for k, v in LANGUAGES)),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, name in LANGUAGES:
            self.fields[f"text_{code}"] = forms.CharField(
                label=f"Text in {name}",
                max_length=MAX_TEXT,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def texts(self) -> dict[str, str]:
        return {
            code: self.cleaned_data[f"text_{code}"].strip()
            for code, _ in LANGUAGES
            if self.cleaned_data.get(f"text_{code}", "").strip()
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends:
            if ends < starts:
                self.add_error("ends_on", "The last day is before the first day.")
            elif (ends - starts).days > MAX_DAYS:
                self.add_error("ends_on", "A notice lasts a year at most.")
            elif ends < date.today():
                self.add_error("ends_on", "The last day is over already.")
        texts = {
            code: str(data.get(f"text_{code}") or "").strip()
            for code, _ in LANGUAGES
            if str(data.get(f"text_{code}") or "").strip()
        }
        if not texts:
            self.add_error(None, "Write the notice in one language at least.")
        one = data.get("one_language")
        if one and one not in texts:
            self.add_error("one_language", "Write the text in that language.")
        site, code = data.get("site"), str(data.get("participant") or "").strip()
        if site and code:
            found = Participant.objects.filter(
                code=code, machine__site=site, status="active"
            ).first()
            if found is None:
                self.add_error("participant", "No active participant with that code at this site.")
            data["participant_row"] = found
        return data


def _mark_errors(form: forms.Form) -> None:
    for name in form.errors:
        if name in form.fields:
            form.fields[name].widget.attrs.update(
                {"aria-invalid": "true", "aria-describedby": f"id_{name}-error"}
            )


@requires(Action.MANAGE_NOTICES)
def notices(request: HttpRequest) -> HttpResponse:
    """The current and coming notices of the user's sites, and a form for a new one."""
    sites = request.care_sites  # type: ignore[attr-defined]
    form = NoticeForm(request.POST or None)
    form.fields["site"].queryset = sites.order_by("name")  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        participant = data.get("participant_row")
        with transaction.atomic():
            notice = Notice(
                site=data["site"],
                scope=Notice.Scope.PARTICIPANT if participant else Notice.Scope.SITE,
                participant=participant,
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                texts=form.texts(),
                one_language=data.get("one_language") or "",
                origin=Notice.Origin.HUB,
                created_by=f"hub_user:{request.user.pk}",
            )
            notice.save()
            audit.record(
                request,
                AuditAction.NOTICE_CREATED,
                obj=notice,
                notice=str(notice.uuid),
                scope=notice.scope,
                code=participant.code if participant else None,
                starts_on=notice.starts_on.isoformat(),
                ends_on=notice.ends_on.isoformat(),
                languages=sorted(notice.texts),
            )
        messages.success(request, "Notice saved. The kiosks show it after their next sync.")
        return redirect("care:notices")
    _mark_errors(form)
    rows = (
        in_sites(Notice.objects.filter(withdrawn_at__isnull=True), request)
        .filter(ends_on__gte=date.today())
        .select_related("site", "participant", "origin_machine")
        .order_by("ends_on", "pk")[:SHOWN]
    )
    context = {
        "form": form,
        "rows": [_notice_row(n) for n in rows],
        "language_fields": [form[f"text_{code}"] for code, _ in LANGUAGES],
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "care/downtime/notices.html", context, status=status)


def _notice_row(notice: Notice) -> dict[str, Any]:
    names = dict(LANGUAGES)
    if notice.one_language:
        languages = f"{names.get(notice.one_language, notice.one_language)} only"
    else:
        languages = ", ".join(names.get(k, k) for k in sorted(notice.texts))
    return {
        "notice": notice,
        "who": notice.participant.code if notice.participant_id else "Whole site",
        "languages": languages,
        "text": next(iter(notice.texts.values()), ""),
        "made_at": (
            f"kiosk {notice.origin_machine.name}"
            if notice.origin == Notice.Origin.KIOSK and notice.origin_machine
            else "hub"
        ),
        "seen": notice.acknowledged_at is not None,
    }


@require_POST
@requires(Action.MANAGE_NOTICES)
def notice_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    notice = get_object_or_404(in_sites(Notice.objects.all(), request), pk=pk)
    if notice.withdrawn_at is None:
        with transaction.atomic():
            notice.withdrawn_at = now()
            notice.save()
            audit.record(request, AuditAction.NOTICE_WITHDRAWN, obj=notice, notice=str(notice.uuid))
        messages.success(request, "Notice withdrawn. The kiosks drop it at their next sync.")
    return redirect("care:notices")


# ---------------------------------------------------------------- doses given by hand


class ManualDoseForm(forms.Form):
    units = forms.IntegerField(
        label="Units given",
        min_value=1,
        max_value=20,
        error_messages={"required": "Give the units.", "min_value": "At least 1 unit."},
    )
    given_at = forms.DateTimeField(
        label="Given at (the site's time)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        error_messages={"required": "Give the time.", "invalid": "Give a date and time."},
    )
    source = forms.ChoiceField(
        label="Stock taken from", choices=ManualDose.Source.choices, widget=forms.RadioSelect
    )
    lane = forms.IntegerField(
        label="Lane (stock from the machine)", min_value=1, max_value=32767, required=False
    )
    witness_username = forms.CharField(label="Witness's user name", max_length=150, required=False)
    witness_password = forms.CharField(
        label="Witness's password",
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False),
    )
    # Asked for only when the machine's rules would refuse the dose (kiosk_rules).
    override_reason = forms.CharField(
        label="Why it was given anyway (the rules would refuse it)",
        max_length=500,
        required=False,
    )

    def __init__(
        self, *args: Any, prescription: Prescription, request: HttpRequest, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.prescription = prescription
        self.request = request
        self.witness: Any = None
        self.zone = ZoneInfo(prescription.participant.machine.site.timezone)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        given: datetime | None = data.get("given_at")
        if given is not None:
            given = given.replace(tzinfo=None).replace(tzinfo=self.zone)
            data["given_at"] = given
            if given > now() + timedelta(minutes=5):
                self.add_error("given_at", "That time is still to come.")
            elif given < now() - MANUAL_MAX_AGE:
                self.add_error("given_at", "More than 24 hours ago: report it to the pharmacy.")
        if data.get("source") == ManualDose.Source.MACHINE_LANE and not data.get("lane"):
            self.add_error("lane", "Give the lane the stock came from.")
        username = str(data.get("witness_username") or "").strip()
        if username or self.prescription.witnessed:
            self._check_witness(username, str(data.get("witness_password") or ""))
        return data

    def _check_witness(self, username: str, password: str) -> None:
        site = self.prescription.participant.machine.site
        # Through django-axes, as a sign-in: wrong witness passwords lock like wrong sign-ins.
        user = (
            authenticate(self.request, username=username, password=password) if username else None
        )
        if user is None or not can(user, Action.RECORD_MANUAL_DOSE, site):
            self.add_error(
                "witness_username",
                "This prescription is witnessed: a second nurse or pharmacist at this site"
                " confirms with their user name and password.",
            )
            return
        self.witness = user


@requires(Action.RECORD_MANUAL_DOSE)
def manual_doses(request: HttpRequest) -> HttpResponse:
    """Find the participant's prescription; the doses given by hand of the last days."""
    query = request.GET.get("q", "").strip()[:32]
    prescriptions: list[Prescription] = []
    if query:
        prescriptions = list(
            in_sites(Prescription.objects.filter(status__in=("active", "on_hold")), request)
            .filter(participant__code__iexact=query)
            .select_related("participant__machine__site")
            .order_by("participant__machine__name", "pk")
        )
    doses = (
        in_sites(ManualDose.objects.all(), request)
        .filter(given_at__gte=now() - timedelta(days=7))
        .select_related("machine__site")
        .order_by("-given_at")[:SHOWN]
    )
    context = {"query": query, "prescriptions": prescriptions, "doses": doses}
    return render(request, "care/downtime/manual_doses.html", context)


@requires(Action.RECORD_MANUAL_DOSE)
def manual_dose_new(request: HttpRequest, pk: int) -> HttpResponse:
    prescription = get_object_or_404(
        in_sites(
            Prescription.objects.filter(status__in=("active", "on_hold")), request
        ).select_related("participant__machine__site"),
        pk=pk,
    )
    form = ManualDoseForm(request.POST or None, prescription=prescription, request=request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        witness = f"hub_user:{form.witness.pk}" if form.witness is not None else ""
        concern = kiosk_rules.manual_dose_concern(prescription, data["units"], data["given_at"])
        override = " ".join(str(data.get("override_reason") or "").split())
        if witness == f"hub_user:{request.user.pk}":
            form.add_error("witness_username", "The witness is someone other than you.")
        elif concern is not None and not override:
            form.add_error(
                "override_reason",
                f"The machine's rules would refuse this dose: {reason_text(concern)}. It was"
                " not recorded. To record it anyway, write why here and record it again.",
            )
        else:
            with transaction.atomic():
                dose = downtime.record_manual_dose(
                    prescription,
                    units=data["units"],
                    given_at=data["given_at"],
                    source=data["source"],
                    lane=data.get("lane"),
                    recorded_by=f"hub_user:{request.user.pk}",
                    witness=witness,
                )
                audit.record(
                    request,
                    AuditAction.MANUAL_DOSE_RECORDED,
                    obj=prescription,
                    dose=str(dose.uuid),
                    code=prescription.participant.code,
                    units=dose.units,
                    source=dose.source,
                    lane=dose.lane,
                    witness=witness or None,
                    rules_override=None
                    if concern is None
                    else {"refusal": concern.value, "reason": override},
                )
            messages.success(
                request,
                f"Dose by hand recorded for {prescription.participant.code}. The machine counts"
                " it at its next sync.",
            )
            return redirect("care:manual-doses")
    _mark_errors(form)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "rx": prescription}
    return render(request, "care/downtime/manual_dose_new.html", context, status=status)
