"""The prescription form: every rule the kiosk knows, checked by the kiosk's own function
(``kiosk.domain.prescription_rules.problems``), with plain errors next to the fields.

Windows are rows of start/end times (no JSON to type). An empty interval means a windowed
schedule, as on the kiosk.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django import forms
from fleet.models import Prescription

from care.models import PrescriptionDraft
from kiosk.domain import prescription_rules
from kiosk.domain.dosing import MAX_UNITS_PER_VEND

WINDOW_ROWS = 4
MAX_MISSED = prescription_rules.MAX_MISSED_DOSE_LIMIT
FORMS = (("tablet", "tablet"), ("capsule", "capsule"))  # the kiosk's add_medication accepts these


def _messages(data: dict[str, Any]) -> dict[str, str]:
    interval = data.get("interval_minutes") is not None
    return {
        "units_per_dose": f"Units per dose must be between 1 and {MAX_UNITS_PER_VEND}.",
        "daily_max_units": "The daily maximum must be at least the units per dose.",
        "end_date": "The end date must be on or after the start date.",
        "windows": "Give at least one dose window, or minutes between doses.",
        "max_doses_per_day": (
            "Doses per day must be at least 1."
            if interval
            else "Doses per day is for an interval schedule: leave it empty with dose windows."
        ),
        "interval_minutes": (
            "With minutes between doses, leave the dose windows empty (and use 0 or more)."
        ),
        "missed_dose_limit": (
            f"The missed-dose limit must be between 1 and {MAX_MISSED} days,"
            " or empty for the site's."
        ),
    }


class PrescriptionForm(forms.Form):
    medication_name = forms.CharField(label="Medication", max_length=100)
    medication_strength = forms.CharField(label="Strength (for example 8 mg)", max_length=50)
    medication_form = forms.ChoiceField(label="Form", choices=FORMS)
    units_per_dose = forms.IntegerField(label="Units per dose")
    daily_max_units = forms.IntegerField(label="Most units in one day")
    interval_minutes = forms.IntegerField(
        label="Minutes between doses (leave empty to use dose windows)", required=False
    )
    max_doses_per_day = forms.IntegerField(
        label="Most doses in one day (interval schedule only)", required=False
    )
    accumulate = forms.BooleanField(
        label="Missed windows may be picked up later that day", required=False
    )
    witnessed = forms.BooleanField(
        label="Each dose is witnessed by a nurse or pharmacist", required=False
    )
    missed_dose_limit = forms.IntegerField(
        label="Days without a pickup before a review hold (empty: the site's)", required=False
    )
    start_date = forms.DateField(label="First day", widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(
        label="Last day (empty: no end)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(
        label="Reason for this prescription or change",
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=3,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in range(1, WINDOW_ROWS + 1):
            for end in ("start", "end"):
                name = f"window_{row}_{end}"
                label = f"Window {row} {'opens' if end == 'start' else 'closes'}"
                self.fields[name] = forms.TimeField(
                    label=label,
                    required=False,
                    widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                )

    def window_rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [
            (row, self[f"window_{row}_start"], self[f"window_{row}_end"])
            for row in range(1, WINDOW_ROWS + 1)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        windows: list[list[str]] = []
        for row in range(1, WINDOW_ROWS + 1):
            start: time | None = data.get(f"window_{row}_start")
            end: time | None = data.get(f"window_{row}_end")
            if start is None and end is None:
                continue
            if start is None or end is None:
                self.add_error(f"window_{row}_start", f"Window {row} needs both times.")
            elif start == end:
                # The hub's own rule (fleet.Prescription's windows validator).
                self.add_error(
                    f"window_{row}_start", f"Window {row} opens and closes at the same time."
                )
            else:
                windows.append([start.strftime("%H:%M"), end.strftime("%H:%M")])
        data["windows"] = windows
        needed = ("units_per_dose", "daily_max_units", "start_date")
        if all(data.get(name) is not None for name in needed):
            messages = _messages(data)
            for field in prescription_rules.problems(
                units_per_dose=data["units_per_dose"],
                daily_max_units=data["daily_max_units"],
                start_date=data["start_date"],
                end_date=data.get("end_date"),
                window_count=len(windows),
                interval_minutes=data.get("interval_minutes"),
                max_doses_per_day=data.get("max_doses_per_day"),
                missed_dose_limit=data.get("missed_dose_limit"),
            ):
                target = "window_1_start" if field == "windows" else field
                self.add_error(target, messages[field])
        return data

    def full_clean(self) -> None:
        super().full_clean()
        # Screen readers: each field with an error says so and reads its message.
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": f"id_{name}-error"}
                )

    def terms(self) -> dict[str, Any]:
        """The cleaned terms, as PrescriptionDraft and fleet.Prescription store them."""
        return {name: self.cleaned_data.get(name) for name in PrescriptionDraft.TERMS}


def initial_from(source: Prescription | PrescriptionDraft) -> dict[str, Any]:
    """The form's initial values from a prescription (a change, a renewal) or a draft."""
    initial = {name: getattr(source, name) for name in PrescriptionDraft.TERMS if name != "windows"}
    for row, (start, end) in enumerate(source.windows[:WINDOW_ROWS], start=1):
        initial[f"window_{row}_start"] = start
        initial[f"window_{row}_end"] = end
    return initial
