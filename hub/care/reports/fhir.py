"""The HL7 FHIR export: a Bundle (type collection) of MedicationRequest (prescriptions) and
MedicationDispense (vends), built with the ``fhir.resources`` models so that building them
validates them (pydantic): a value FHIR does not allow raises here, never reaches a file.

Version: FHIR R4B (4.3.0) from ``fhir.resources`` 8.x (``fhir.resources.R4B``). The package's
root is R5; strict R4 (4.0.1) models exist only in its 6.x line (pydantic 1, unmaintained).
R4B is the R4-compatible technical correction: MedicationRequest and MedicationDispense have
the same elements and codes as in R4, so an R4 server reads what this writes.

No names: a participant is the subject only as a Reference by identifier (their code on their
machine, ``urn:x-kiosk-hub:machine:<device id>:participant``); no Patient resource with a name
is included. A clinical exchange that needs names must be arranged separately.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.medicationdispense import MedicationDispense
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fleet.models import Prescription

from care.reports.data import DispenseRow, medication_text

FHIR_VERSION = "4.3.0"
CONTENT_TYPE = "application/fhir+json"
_NS = uuid.UUID("6f1c0d9e-6a7b-4f55-9a55-4a3c7f0e2b11")  # names this hub's resources' uuids

# Prescription.status -> MedicationRequest.status (R4 codes)
REQUEST_STATUS = {
    "active": "active",
    "on_hold": "on-hold",
    "ended": "completed",
    "cancelled": "stopped",
}
COMPLETE = "complete"


def _full_url(kind: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, f'{kind}/{key}')}"


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _subject(device_id: str, code: str) -> dict[str, Any]:
    return {
        "type": "Patient",
        "identifier": {"system": f"urn:x-kiosk-hub:machine:{device_id}:participant", "value": code},
    }


def _medication(p: Prescription | None) -> dict[str, Any]:
    return {"text": medication_text(p)}


def request_of(p: Prescription) -> MedicationRequest:
    """A prescription as a MedicationRequest (needs ``participant__machine`` loaded)."""
    form = {"value": p.units_per_dose, "unit": p.medication_form}
    bounds: dict[str, str] = {"start": p.start_date.isoformat()}
    if p.end_date:
        bounds["end"] = p.end_date.isoformat()
    dosages = []
    for n, (start, end) in enumerate(p.windows or [], start=1):
        dosages.append(
            {
                "sequence": n,
                "text": f"{p.units_per_dose} {p.medication_form} between {start} and {end}",
                "timing": {
                    "repeat": {
                        "boundsPeriod": bounds,
                        "frequency": 1,
                        "period": 1,
                        "periodUnit": "d",
                        "timeOfDay": [f"{start}:00"],
                    }
                },
                "doseAndRate": [{"doseQuantity": form}],
                "maxDosePerPeriod": {
                    "numerator": {"value": p.daily_max_units, "unit": p.medication_form},
                    "denominator": {
                        "value": 1,
                        "unit": "d",
                        "system": "http://unitsofmeasure.org",
                        "code": "d",
                    },
                },
                **({"additionalInstruction": [{"text": "witnessed dose"}]} if p.witnessed else {}),
            }
        )
    return MedicationRequest(
        id=f"rx-{p.pk}",
        identifier=[{"system": "urn:x-kiosk-hub:prescription", "value": str(p.pk)}],
        status=REQUEST_STATUS.get(p.status, "unknown"),
        intent="order",
        medicationCodeableConcept=_medication(p),
        subject=_subject(p.participant.machine.device_id, p.participant.code),
        dosageInstruction=dosages or None,
        dispenseRequest={"validityPeriod": bounds},
    )


def dispense_status(row: DispenseRow) -> str:
    """completed: units handed over (all, or some before a jam); declined: none given;
    unknown: the kiosk has not reported the result yet (unsettled)."""
    if row.dropped is None:
        return "unknown"
    if row.dropped > 0:
        return "completed"
    return "declined"


def dispense_of(row: DispenseRow) -> MedicationDispense:
    status = dispense_status(row)
    fields: dict[str, Any] = {
        "id": f"vend-{row.machine.pk}-{row.vend_id}",
        "identifier": [
            {
                "system": f"urn:x-kiosk-hub:machine:{row.machine.device_id}:vend",
                "value": str(row.vend_id),
            }
        ],
        "status": status,
        "medicationCodeableConcept": _medication(row.prescription),
        "whenPrepared": _instant(row.at),
    }
    if row.prescription is not None:
        fields["subject"] = _subject(row.machine.device_id, row.participant_code)
        fields["authorizingPrescription"] = [
            {"reference": _full_url("MedicationRequest", str(row.prescription.pk))}
        ]
    if row.dropped is not None:
        unit = row.prescription.medication_form if row.prescription else "unit"
        fields["quantity"] = {"value": row.dropped, "unit": unit}
        if row.dropped > 0 and row.result_at is not None:
            fields["whenHandedOver"] = _instant(row.result_at)
    if status != "completed" or (row.outcome and row.outcome != COMPLETE):
        fields["note"] = [{"text": f"kiosk outcome: {row.outcome or 'not reported yet'}"}]
    return MedicationDispense(**fields)


def bundle(
    prescriptions: Iterable[Prescription], rows: Iterable[DispenseRow], at: datetime
) -> Bundle:
    entries = [
        BundleEntry(fullUrl=_full_url("MedicationRequest", str(p.pk)), resource=request_of(p))
        for p in prescriptions
    ]
    entries += [
        BundleEntry(
            fullUrl=_full_url("MedicationDispense", f"{r.machine.pk}/{r.vend_id}"),
            resource=dispense_of(r),
        )
        for r in rows
    ]
    return Bundle(
        type="collection",
        timestamp=_instant(at),
        meta={"tag": [{"system": "urn:x-kiosk-hub:fhir-version", "code": FHIR_VERSION}]},
        entry=entries or None,
    )
