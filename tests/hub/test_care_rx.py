"""Prescriptions with pharmacist verification and the participant profile, without a browser:
the kiosk's and the hub's validation agree (one table through both), the author never verifies
their own draft, verification writes the synced prescription and the audit, pause and end
follow the permission table, other sites are a 404, the explanation counts dispenses as the
kiosk does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from care import demo, drafts
from care.kiosk_rules import explain
from care.models import AuditAction, CareAudit, Membership, PrescriptionDraft
from care.prescription_form import PrescriptionForm
from care.roles import Role
from django.contrib.auth.models import User
from django.test import Client
from fleet.models import ChangeLog, Event, Participant, Prescription

from kiosk.domain.model import Window
from kiosk.services.errors import InvalidInput
from kiosk.services.prescriptions import PrescriptionSpec

PASSWORD = "a-long-password-1"
D = date(2026, 6, 1)
W = ((time(8), time(11)),)
# (units, daily max, end date, windows, interval, doses a day, missed limit) -> first problem
SPECS: list[tuple[tuple[Any, ...], str | None]] = [
    ((2, 4, None, W, None, None, None), None),
    ((20, 20, None, W, None, None, 60), None),
    ((2, 4, None, (), 60, 4, None), None),
    ((2, 4, None, (), 0, None, 1), None),
    ((0, 4, None, W, None, None, None), "units_per_dose"),
    ((21, 40, None, W, None, None, None), "units_per_dose"),
    ((3, 2, None, W, None, None, None), "daily_max_units"),
    ((2, 4, D - timedelta(days=1), W, None, None, None), "end_date"),
    ((2, 4, None, (), None, None, None), "windows"),
    ((2, 4, None, W, None, 3, None), "max_doses_per_day"),
    ((2, 4, None, W, 60, None, None), "interval_minutes"),
    ((2, 4, None, (), -5, None, None), "interval_minutes"),
    ((2, 4, None, (), 60, 0, None), "max_doses_per_day"),
    ((2, 4, None, W, None, None, 0), "missed_dose_limit"),
    ((2, 4, None, W, None, None, 61), "missed_dose_limit"),
]
FIELD_OF = {"windows": "window_1_start"}


def _form_data(spec: tuple[Any, ...]) -> dict[str, Any]:
    units, daily, end, windows, interval, per_day, missed = spec
    data = {
        "medication_name": "hydromorphone",
        "medication_strength": "8 mg",
        "medication_form": "tablet",
        "units_per_dose": units,
        "daily_max_units": daily,
        "start_date": D.isoformat(),
        "end_date": end.isoformat() if end else "",
        "interval_minutes": "" if interval is None else interval,
        "max_doses_per_day": "" if per_day is None else per_day,
        "missed_dose_limit": "" if missed is None else missed,
        "note": "a test prescription",
    }
    for row, (start, stop) in enumerate(windows, start=1):
        data[f"window_{row}_start"] = start.strftime("%H:%M")
        data[f"window_{row}_end"] = stop.strftime("%H:%M")
    return data


@pytest.mark.parametrize(("spec", "problem"), SPECS)
def test_the_kiosk_and_the_hub_accept_and_refuse_the_same_terms(
    spec: tuple[Any, ...], problem: str | None
) -> None:
    units, daily, end, windows, interval, per_day, missed = spec
    kiosk_spec = PrescriptionSpec(
        1,
        units,
        daily,
        D,
        end,
        tuple(Window(*w) for w in windows),
        interval,
        per_day,
        missed_dose_limit=missed,
    )
    if problem is None:
        kiosk_spec.validate()
    else:
        with pytest.raises(InvalidInput) as refused:
            kiosk_spec.validate()
        assert refused.value.code == problem
    form = PrescriptionForm(_form_data(spec))
    assert form.is_valid() == (problem is None), form.errors
    if problem is not None:
        assert FIELD_OF.get(problem, problem) in form.errors
        field = form.fields[FIELD_OF.get(problem, problem)]
        assert field.widget.attrs["aria-invalid"] == "true"


def test_a_window_with_both_times_missing_one_or_equal_is_a_clear_error() -> None:
    data = _form_data((2, 4, None, (), None, None, None))
    data |= {"window_1_start": "08:00", "window_2_start": "09:00", "window_2_end": "09:00"}
    form = PrescriptionForm(data)
    assert not form.is_valid()
    assert "needs both times" in str(form.errors["window_1_start"])
    assert "same time" in str(form.errors["window_2_start"])


@pytest.fixture
def seeded(db: None) -> demo.Seeded:
    return demo.seed(PASSWORD)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _participant(seeded: demo.Seeded) -> Participant:
    return Participant.objects.get(
        machine__site=seeded.site, machine__name="kiosk-1", code="P-0001"
    )


def _post_new(client: Client, participant: Participant, **extra: Any) -> Any:
    data = _form_data((2, 4, None, W, None, None, None)) | {
        "participant": participant.pk,
        "submit": "1",
        **extra,
    }
    return client.post("/prescriptions/new/", data)


def test_a_prescriber_drafts_and_a_pharmacist_verifies_into_the_synced_prescription(
    seeded: demo.Seeded,
) -> None:
    participant = _participant(seeded)
    prescriber, pharmacist = seeded.users["prescriber"], seeded.users["pharmacist"]
    response = _post_new(_client(prescriber), participant)
    assert response.status_code == 302
    draft = PrescriptionDraft.objects.get()
    assert draft.status == "submitted" and draft.author == prescriber
    before = ChangeLog.objects.count()
    count = Prescription.objects.count()
    assert Prescription.objects.count() == count  # a draft never reaches a machine

    page = _client(pharmacist).get("/verify/")
    assert page.status_code == 200 and f"/prescriptions/drafts/{draft.pk}/" in page.content.decode()
    response = _client(pharmacist).post(f"/prescriptions/drafts/{draft.pk}/verify/")
    assert response.status_code == 302
    draft.refresh_from_db()
    rx = draft.result
    assert draft.status == "verified" and draft.reviewed_by == pharmacist and rx is not None
    assert (rx.participant, rx.windows, rx.status) == (participant, [["08:00", "11:00"]], "active")
    assert ChangeLog.objects.filter(kind="prescription", key=str(rx.pk)).count() == 1
    assert ChangeLog.objects.count() == before + 1
    row = CareAudit.objects.get(action=AuditAction.PRESCRIPTION_VERIFIED)
    assert row.user == pharmacist and row.detail["author"] == prescriber.pk
    assert row.object_id == str(rx.pk) and row.site == seeded.site
    assert "Alex" not in str(row.detail)  # ids and codes only


def test_the_author_never_verifies_their_own_even_holding_both_roles(seeded: demo.Seeded) -> None:
    participant = _participant(seeded)
    both = seeded.users["prescriber"]
    Membership.objects.create(user=both, site=seeded.site, role=Role.PHARMACIST)
    _post_new(_client(both), participant)
    draft = PrescriptionDraft.objects.get()
    client = _client(both)
    page = client.get(f"/prescriptions/drafts/{draft.pk}/").content.decode()
    assert "another pharmacist must verify" in page and f"{draft.pk}/verify/" not in page
    assert client.post(f"/prescriptions/drafts/{draft.pk}/verify/").status_code == 403
    assert (
        client.post(f"/prescriptions/drafts/{draft.pk}/return/", {"reason": "x" * 5}).status_code
        == 403
    )
    draft.refresh_from_db()
    assert draft.status == "submitted" and draft.result is None

    class Request:  # the rule itself, below the page
        user = User.objects.get(pk=both.pk)

    with pytest.raises(drafts.Refused, match="another pharmacist"):
        drafts.verify(Request(), draft.pk)  # type: ignore[arg-type]
    assert not Prescription.objects.filter(verified_drafts=draft).exists()


def test_a_pharmacist_returns_a_draft_with_a_reason_and_the_prescriber_sees_it(
    seeded: demo.Seeded,
) -> None:
    _post_new(_client(seeded.users["prescriber"]), _participant(seeded))
    draft = PrescriptionDraft.objects.get()
    pharmacist = _client(seeded.users["pharmacist"])
    response = pharmacist.post(
        f"/prescriptions/drafts/{draft.pk}/return/", {"reason": ""}, follow=True
    )
    assert "Say why you are returning it" in response.content.decode()
    pharmacist.post(f"/prescriptions/drafts/{draft.pk}/return/", {"reason": "Daily max too low"})
    draft.refresh_from_db()
    assert (draft.status, draft.return_reason) == ("returned", "Daily max too low")
    start = _client(seeded.users["prescriber"]).get("/prescriptions/").content.decode()
    assert "Daily max too low" in start
    assert CareAudit.objects.filter(
        action=AuditAction.DRAFT_RETURNED, reason="Daily max too low"
    ).exists()


def test_a_viewer_cannot_write_and_sees_no_link(seeded: demo.Seeded) -> None:
    participant = _participant(seeded)
    viewer = _client(seeded.users["viewer"])
    profile = viewer.get(f"/participants/{participant.pk}/").content.decode()
    assert "/prescriptions/new/" not in profile
    assert _post_new(viewer, participant).status_code == 403
    rx = participant.prescriptions.get()
    for action in ("pause", "end", "resume"):
        assert (
            viewer.post(f"/prescriptions/{rx.pk}/{action}/", {"reason": "xyz"}).status_code == 403
        )
    assert not PrescriptionDraft.objects.exists()


def test_pause_by_a_pharmacist_end_only_by_a_prescriber(seeded: demo.Seeded) -> None:
    rx = _participant(seeded).prescriptions.get()
    pharmacist = _client(seeded.users["pharmacist"])
    assert (
        pharmacist.post(
            f"/prescriptions/{rx.pk}/pause/", {"reason": "Concern at counter"}
        ).status_code
        == 302
    )
    rx.refresh_from_db()
    assert (rx.status, rx.hold_kind, rx.hold_reason) == ("on_hold", "staff", "Concern at counter")
    assert pharmacist.post(f"/prescriptions/{rx.pk}/end/", {"reason": "x" * 5}).status_code == 403
    prescriber = _client(seeded.users["prescriber"])
    response = prescriber.post(
        f"/prescriptions/{rx.pk}/end/", {"last_day": "2026-02-31", "reason": "done"}, follow=True
    )
    assert (
        response.status_code == 200 and "Give the last day as a date" in response.content.decode()
    )
    prescriber.post(
        f"/prescriptions/{rx.pk}/end/",
        {"last_day": date.today().isoformat(), "reason": "Tapered off"},
    )
    rx.refresh_from_db()
    assert (rx.status, rx.end_date) == ("ended", date.today())
    actions = set(CareAudit.objects.values_list("action", flat=True))
    assert {AuditAction.PRESCRIPTION_PAUSED, AuditAction.PRESCRIPTION_ENDED} <= actions
    # Ended: on the renewal list, whose Renew starts a draft replacing it.
    start = prescriber.get("/prescriptions/").content.decode()
    assert f"renew={rx.pk}" in start
    form = prescriber.get(f"/prescriptions/new/?participant={rx.participant_id}&renew={rx.pk}")
    assert form.status_code == 200 and f'name="replaces" value="{rx.pk}"' in form.content.decode()


def test_another_sites_participant_draft_and_prescription_are_404(seeded: demo.Seeded) -> None:
    other_machine = seeded.other_site.machines.get()
    stranger = Participant(machine=other_machine, code="P-9001", display_name="Far Away")
    stranger.save()
    rx = Prescription(
        participant=stranger,
        medication_name="m",
        medication_strength="1 mg",
        medication_form="tablet",
        units_per_dose=1,
        windows=[["08:00", "09:00"]],
        daily_max_units=1,
        start_date=D,
    )
    rx.save()
    draft = PrescriptionDraft.objects.create(
        author=seeded.users["manager"],
        participant=stranger,
        medication_name="m",
        medication_strength="1",
        medication_form="tablet",
        units_per_dose=1,
        daily_max_units=1,
        start_date=D,
        status="submitted",
    )
    pharmacist = _client(seeded.users["pharmacist"])
    for url in (
        f"/participants/{stranger.pk}/",
        f"/prescriptions/{rx.pk}/",
        f"/prescriptions/drafts/{draft.pk}/",
    ):
        assert pharmacist.get(url).status_code == 404, url
    assert pharmacist.post(f"/prescriptions/drafts/{draft.pk}/verify/").status_code == 404
    assert "P-9001" not in pharmacist.get("/verify/").content.decode()
    assert "P-9001" not in pharmacist.get("/participants/?q=P-9").content.decode()
    prescriber = _client(seeded.users["prescriber"])
    assert _post_new(prescriber, stranger).status_code == 404
    assert prescriber.get("/prescriptions/new/?participant=abc").status_code == 404


def test_search_by_code_name_machine_and_htmx_gets_the_results_only(seeded: demo.Seeded) -> None:
    client = _client(seeded.users["nurse"])
    page = client.get("/participants/?q=p-0101").content.decode()
    assert "P-0101" in page and "P-0001" not in page and "<h1>" in page
    assert "Sam Tremblay" in client.get("/participants/?q=tremblay").content.decode()
    assert client.get("/participants/?q=kiosk-2").content.decode().count("P-01") == 3
    partial = client.get("/participants/?q=P-0001", HTTP_HX_REQUEST="true").content.decode()
    assert "P-0001" in partial and "<h1>" not in partial
    assert (
        "No participant at your sites matches"
        in client.get("/participants/?q=zzz").content.decode()
    )
    assert client.get("/participants/?page=999").status_code == 200


def _event(
    participant: Participant, seq: int, type_: str, payload: dict[str, Any], at: datetime
) -> None:
    Event(machine=participant.machine, seq=seq, type=type_, payload=payload, created_at=at).save()


def test_the_profile_explains_like_the_kiosk_counting_an_unsettled_vend_as_asked(
    seeded: demo.Seeded,
) -> None:
    participant = _participant(seeded)
    rx = participant.prescriptions.get()
    rx.windows, rx.interval_minutes, rx.max_doses_per_day, rx.daily_max_units = [], 60, 4, 4
    rx.start_date = D - timedelta(days=1)
    rx.save()
    at = datetime(2026, 6, 1, 19, 0, tzinfo=UTC)  # noon in the site's default zone or near
    _event(
        participant,
        1,
        "dispense.intent",
        {"vend_id": 7, "prescription_hub_id": rx.pk, "units": 2},
        at - timedelta(hours=3),
    )
    _event(
        participant,
        2,
        "dispense.result",
        {"vend_id": 7, "dropped": 1, "units": 2},
        at - timedelta(hours=3),
    )
    _event(
        participant,
        3,
        "dispense.intent",
        {"vend_id": 8, "prescription_hub_id": rx.pk, "units": 2},
        at - timedelta(minutes=90),
    )
    [body] = explain(participant, [rx], at).prescriptions
    assert body["allowed_units"] < 2  # 1 unit left today at most
    texts = [c["text"] for c in body["checks"]]
    assert any("3 of 4 units given today" in t for t in texts), texts  # 1 dropped + 2 asked


def test_a_draft_older_than_the_prescriptions_last_change_is_not_verified(
    seeded: demo.Seeded,
) -> None:
    """Two changes of one prescription verified in the wrong order must not undo the newer
    one: the older draft is refused, the prescription keeps the newer terms."""
    participant = _participant(seeded)
    prescriber, pharmacist = seeded.users["prescriber"], seeded.users["pharmacist"]
    rx = Prescription.objects.filter(participant=participant).first()
    assert rx is not None
    writer, checker = _client(prescriber), _client(pharmacist)
    assert _post_new(writer, participant, replaces=rx.pk, units_per_dose=1).status_code == 302
    assert _post_new(writer, participant, replaces=rx.pk, units_per_dose=3).status_code == 302
    older, newer = PrescriptionDraft.objects.order_by("created_at", "pk")
    assert checker.post(f"/prescriptions/drafts/{newer.pk}/verify/").status_code == 302
    rx.refresh_from_db()
    assert rx.units_per_dose == 3

    response = checker.post(f"/prescriptions/drafts/{older.pk}/verify/", follow=True)
    assert "changed after the draft was written" in response.content.decode()
    rx.refresh_from_db()
    older.refresh_from_db()
    assert rx.units_per_dose == 3 and older.status == "submitted"
