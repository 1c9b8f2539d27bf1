"""The forms of the updates pages (care/pages/updates.py): what a person may type, checked here
with a clear message before anything reaches fleet.rollouts."""

from __future__ import annotations

from typing import Any

from django import forms
from fleet import releases, rollouts
from fleet.models import Machine, Release, Site


class ReleaseForm(forms.Form):
    version = forms.CharField(
        max_length=64,
        label="Version (already signed into the update repository)",
        help_text="For example 0.2.0. Versions only go up.",
    )
    notes = forms.CharField(
        required=False,
        max_length=2000,
        label="What changed (for staff)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_version(self) -> str:
        version: str = self.cleaned_data["version"].strip()
        try:
            releases.parse_version(version)
        except releases.ReleaseError as exc:
            raise forms.ValidationError(str(exc)) from None
        return version


def _percents(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.replace("%", "").replace(" ", "").split(",") if part]
    except ValueError:
        raise forms.ValidationError(
            "Whole numbers separated by commas, e.g. 10, 50, 100."
        ) from None
    problem = rollouts.check_percents(values)
    if problem:
        raise forms.ValidationError(f"The stages: {problem}.")
    return values


class CampaignForm(forms.Form):
    release = forms.ModelChoiceField(
        queryset=Release.objects.filter(state=Release.State.PUBLISHED),
        label="Release",
        empty_label="Choose a release",
    )
    sites = forms.ModelMultipleChoiceField(
        queryset=Site.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Sites whose machines get it",
    )
    pilot_machines = forms.ModelMultipleChoiceField(
        queryset=Machine.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Pilot machines",
    )
    pilot_site = forms.ModelChoiceField(
        queryset=Site.objects.none(),
        required=False,
        label="Or: every machine of a pilot site",
        empty_label="No pilot site",
    )
    stages = forms.CharField(
        initial="10, 50, 100",
        label="Stages after the pilot, in % of the machines",
        help_text="Each larger than the one before, the last 100.",
    )
    failure_count = forms.IntegerField(
        min_value=1, max_value=10_000, initial=1, label="Pause when this many machines fail"
    )
    failure_percent = forms.IntegerField(
        min_value=1,
        max_value=100,
        required=False,
        label="Or: pause when this % of a stage's machines fail (empty: use the count)",
    )
    soak_minutes = forms.IntegerField(
        min_value=0,
        max_value=60 * 24 * 30,
        initial=60,
        label="Wait at least this many minutes at each stage",
    )

    def __init__(self, data: Any, sites: list[Site], machines: list[Machine]) -> None:
        super().__init__(data)
        site_ids = [s.pk for s in sites]
        self.fields["sites"].queryset = Site.objects.filter(pk__in=site_ids)
        self.fields["pilot_site"].queryset = Site.objects.filter(pk__in=site_ids)
        pilot_field = self.fields["pilot_machines"]
        pilot_field.queryset = Machine.objects.filter(pk__in=[m.pk for m in machines])
        pilot_field.label_from_instance = lambda m: f"{m.site.name} / {m.name}"

    def clean_stages(self) -> list[int]:
        return _percents(self.cleaned_data["stages"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = {s.pk for s in data.get("sites") or []}
        pilots = list(data.get("pilot_machines") or [])
        pilot_site = data.get("pilot_site")
        if not pilots and pilot_site is None:
            raise forms.ValidationError("Choose pilot machines or a pilot site.")
        if pilots and pilot_site is not None:
            raise forms.ValidationError("Choose pilot machines or a pilot site, not both.")
        if any(m.site_id not in chosen for m in pilots) or (
            pilot_site is not None and pilot_site.pk not in chosen
        ):
            raise forms.ValidationError("The pilot must be among the campaign's sites.")
        if "stages" in data:
            data["percents"] = data["stages"]
        return data


class MaintenanceForm(forms.Form):
    any_time = forms.BooleanField(required=False, label="No set hours: update at any quiet moment")
    start = forms.TimeField(
        required=False,
        label="From (site time)",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    end = forms.TimeField(
        required=False,
        label="Until (site time; earlier than From means past midnight)",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("any_time"):
            data["start"] = data["end"] = None
            return data
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            raise forms.ValidationError("Give both times, or choose no set hours.")
        if start == end:
            raise forms.ValidationError("From and Until must differ.")
        return data
