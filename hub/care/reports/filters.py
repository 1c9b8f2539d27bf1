"""The reports' filters: site, machine, dosing days (in each site's own time zone), and for the
dispense log a participant code. A GET form: a bad value is an error shown on the page."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from fleet.models import Machine, Site

from care.reports.data import Scope

MAX_DAYS = 366  # longer ranges: ask twice (keeps every page and file fast)


class ReportFilters(forms.Form):
    site = forms.ModelChoiceField(
        queryset=Site.objects.none(),
        required=False,
        empty_label="All my sites",
        error_messages={"invalid_choice": "Choose one of your sites."},
    )
    machine = forms.ModelChoiceField(
        queryset=Machine.objects.none(),
        required=False,
        empty_label="All machines",
        error_messages={"invalid_choice": "Choose one of your sites' machines."},
    )
    start = forms.DateField(
        label="From (dosing day)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter the date as year-month-day, for example 2025-03-09."},
    )
    end = forms.DateField(
        label="To (dosing day, included)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter the date as year-month-day, for example 2025-03-09."},
    )

    def __init__(self, data: Any, sites: Any, *, one_day: bool = False) -> None:
        super().__init__(data)
        self.one_day = one_day
        self.fields["site"].queryset = sites
        self.fields["machine"].queryset = Machine.objects.filter(site__in=sites).select_related(
            "site"
        )
        self.fields["machine"].label_from_instance = lambda m: f"{m.site.name} – {m.name}"
        if one_day:
            self.fields["start"].label = "Dosing day"
            del self.fields["end"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        today = timezone.localdate()
        start = data.get("start") or today
        end = start if self.one_day else (data.get("end") or start)
        if "start" in self.errors or "end" in self.errors:
            return data
        if end < start:
            self.add_error("end", "The last day must be on or after the first day.")
        elif (end - start) > timedelta(days=MAX_DAYS):
            self.add_error("end", f"Choose at most {MAX_DAYS} days at a time.")
        site, machine = data.get("site"), data.get("machine")
        if site and machine and machine.site_id != site.pk:
            self.add_error("machine", "That machine is at another site: choose one of this site's.")
        data["start"], data["end"] = start, end
        return data

    def scope(self) -> Scope:
        """The machines and days chosen (only valid forms)."""
        machines = self.fields["machine"].queryset
        if self.cleaned_data.get("site"):
            machines = machines.filter(site=self.cleaned_data["site"])
        if self.cleaned_data.get("machine"):
            machines = machines.filter(pk=self.cleaned_data["machine"].pk)
        return Scope(tuple(machines), self.cleaned_data["start"], self.cleaned_data["end"])

    def audit_detail(self) -> dict[str, Any]:
        """The filters as ids and dates, for the audit (never a name)."""
        data = self.cleaned_data
        return {
            "site_id": data["site"].pk if data.get("site") else None,
            "machine_id": data["machine"].pk if data.get("machine") else None,
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
        }


class DispenseLogFilters(ReportFilters):
    code = forms.CharField(
        label="Participant code",
        max_length=32,
        required=True,
        error_messages={"required": "Enter the participant's code, for example P-0001."},
    )

    def clean_code(self) -> str:
        return str(self.cleaned_data["code"]).strip().upper()

    def audit_detail(self) -> dict[str, Any]:
        return {**super().audit_detail(), "participant": self.cleaned_data["code"]}


def default_day() -> date:
    return timezone.localdate()
