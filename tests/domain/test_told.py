"""The honest wording of "staff have been told": every situation, without Qt."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.domain.told import (
    NOT_RECORDED,
    Acknowledgement,
    AlertNotice,
    AlertRecord,
    Channel,
    HubLink,
    NoticeRole,
    ParticipantMessage,
    StaffMessage,
    Told,
    ToldPerson,
    participant_message,
    staff_message,
)

AT = datetime(2026, 6, 3, 7, 12, tzinfo=UTC)
RECORDED = Told(AlertRecord.RECORDED)
NURSE_TOLD = Told(AlertRecord.RECORDED, NoticeRole.NURSE, AT)
NO_ALERT = Told(AlertRecord.NONE)

PARTICIPANT_TABLE = [
    # (what the kiosk knows, the site has an on-call contact) -> the message
    (None, False, ParticipantMessage.SEE_STAFF),
    (None, True, ParticipantMessage.CALL_ON_CALL),
    (NO_ALERT, False, ParticipantMessage.SEE_STAFF),
    (NO_ALERT, True, ParticipantMessage.CALL_ON_CALL),
    (NOT_RECORDED, False, ParticipantMessage.SEE_STAFF),
    (NOT_RECORDED, True, ParticipantMessage.CALL_ON_CALL),
    (RECORDED, False, ParticipantMessage.STAFF_TOLD),
    (RECORDED, True, ParticipantMessage.STAFF_TOLD),
    (NURSE_TOLD, False, ParticipantMessage.ROLE_TOLD_AT),
    (NURSE_TOLD, True, ParticipantMessage.ROLE_TOLD_AT),
    # A role without a time (or a time without a role) is not enough to name it.
    (Told(AlertRecord.RECORDED, NoticeRole.NURSE, None), False, ParticipantMessage.STAFF_TOLD),
    (Told(AlertRecord.RECORDED, None, AT), False, ParticipantMessage.STAFF_TOLD),
    # Never "told" when the alert is not in the store, whatever else is known.
    (Told(AlertRecord.NOT_RECORDED, NoticeRole.NURSE, AT), False, ParticipantMessage.SEE_STAFF),
    (Told(AlertRecord.NONE, NoticeRole.NURSE, AT), True, ParticipantMessage.CALL_ON_CALL),
]


@pytest.mark.parametrize(("told", "on_call", "message"), PARTICIPANT_TABLE)
def test_participant_message(told: Told | None, on_call: bool, message: ParticipantMessage) -> None:
    assert participant_message(told, on_call) is message


def test_staff_are_claimed_told_only_when_the_alert_is_recorded() -> None:
    """The safety rule itself, over every combination: a claim needs a recorded alert."""
    claims = {ParticipantMessage.STAFF_TOLD, ParticipantMessage.ROLE_TOLD_AT}
    for record in AlertRecord:
        for role in (None, *NoticeRole):
            for at in (None, AT):
                for on_call in (False, True):
                    said = participant_message(Told(record, role, at), on_call)
                    assert (said in claims) == (record is AlertRecord.RECORDED)


def notice(told: tuple[ToldPerson, ...] = (), ack: Acknowledgement | None = None) -> AlertNotice:
    return AlertNotice("901", 4, "lane_jammed", False, told, ack)


MARIA = ToldPerson(NoticeRole.PHARMACIST, "Maria L.", Channel.EMAIL, AT)
SAM = Acknowledgement(NoticeRole.NURSE, "Sam K.", AT)

STAFF_TABLE = [
    (None, HubLink.REACHED, StaffMessage.NOT_YET_TOLD),
    (None, HubLink.UNREACHABLE, StaffMessage.CANNOT_REACH_HUB),
    (None, HubLink.NO_HUB, StaffMessage.CANNOT_REACH_HUB),
    (notice(), HubLink.REACHED, StaffMessage.NOT_YET_TOLD),
    (notice(), HubLink.UNREACHABLE, StaffMessage.CANNOT_REACH_HUB),
    (notice((MARIA,)), HubLink.REACHED, StaffMessage.TOLD),
    (notice((MARIA,)), HubLink.UNREACHABLE, StaffMessage.TOLD),
    (notice((), SAM), HubLink.UNREACHABLE, StaffMessage.TOLD),
    (notice((MARIA,), SAM), HubLink.NO_HUB, StaffMessage.TOLD),
]


@pytest.mark.parametrize(("kept", "link", "message"), STAFF_TABLE)
def test_staff_message(kept: AlertNotice | None, link: HubLink, message: StaffMessage) -> None:
    assert staff_message(kept, link) is message


def test_the_first_person_told_is_the_earliest() -> None:
    later = ToldPerson(NoticeRole.NURSE, "Ana B.", Channel.WEBHOOK, AT.replace(hour=8))
    assert notice((later, MARIA)).first_told == MARIA
    assert notice().first_told is None
