"""Participants as staff manage them: find, create, enroll fingers, hold, release, remove.

Every method takes the staff session first and checks its permission through
``StaffService.require`` (a refusal is audited). Every change goes through ``Store.change``,
so the record, an audit entry naming the staff actor and the outbox event are one
transaction. Logs carry internal ids only: never a name, never template bytes.

Fingerprint enrollment is a step-by-step object (``Enrollment``) that the admin UI drives on
its backend thread, showing guidance between the steps:

1. ``capture()`` #1 waits for a finger, converts it and searches the sensor's library with it
   (``identify``): a finger enrolled to anyone already is refused at once (DUPLICATE).
2. ``capture()`` #2 converts into char buffer 2 and merges buffers 1 and 2
   (``create_template``); a failed merge means the two presses are not the same finger
   (MISMATCH, the captures start over). The merged template is read out of buffer 1.
3. ``capture()`` #3 verifies: it is searched in the library again (DUPLICATE as in 1), then
   converted into buffer 2 and merged with the template uploaded back into buffer 1; a failed
   merge is a MISMATCH (start over). Only then is the template stored: on the sensor at a free
   position, then in ``fingerprint_templates`` (ENROLLED).

The port has no "search the library with char buffer 1" nor "compare buffers 1 and 2", so
the duplicate search uses fresh presses of the finger (exactly what identification at the
kiosk does), and the verification uses a merge of the template with the third press as the
match test (see ``Enrollment._verify_and_store``).

The kiosk's idle sensor polling must be paused while an ``Enrollment`` runs: an
identification in between converts into buffer 1 and would overwrite the first press.
"""

from __future__ import annotations

import enum
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from hardware.ports import FingerprintSensor, ImageProblem, Match, PoorImage, SensorError
from kiosk.domain.assisted_id import Picture, parse_picture
from kiosk.domain.permissions import Permission
from kiosk.domain.text import clean_text
from kiosk.i18n import PARTICIPANT_LOCALES
from kiosk.services.clock import Clock
from kiosk.services.errors import InvalidInput
from kiosk.services.holds import HoldService
from kiosk.services.staff import StaffService, StaffSession
from kiosk.store import participants_repo as repo
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.participants")

REQUIRED_CAPTURES = 3
POLL_SECONDS = 0.05  # how often a capture looks for a finger
LIFT_WAIT_SECONDS = 2.0  # a finger left on the glass this long gets LIFT_FIRST guidance
FINGERS = tuple(
    f"{hand}-{finger}"
    for hand in ("right", "left")
    for finger in ("thumb", "index", "middle", "ring", "little")
)
STAFF_HOLD = "staff"  # prescriptions.hold_kind of a hold staff put on
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
# Any of these lets a role look participants up (a prescriber must find whom to prescribe
# for; a technician has no business in the list).
_LOOKUP = (
    Permission.ENROLL,
    Permission.EDIT_PRESCRIPTION,
    Permission.HOLD,
    Permission.RELEASE_HOLD,
    Permission.REMOVE_PARTICIPANT,
)


# The compare score two presses of one finger must reach (the ZFM scores a good match about
# 50..300 and a finger it still calls the same but barely overlapping well under 50).
MIN_AGREEMENT = 50


class CaptureOutcome(enum.Enum):
    """What one ``Enrollment.capture()`` came to; the UI turns it into guidance."""

    GOOD = "good"  # counted: ``captured`` went up; ask to lift and press again
    ENROLLED = "enrolled"  # the last good press: the template is stored; finished
    NO_FINGER = "no_finger"  # no (new) finger within the timeout
    POOR_IMAGE = "poor_image"  # press flat / clean the glass; this press does not count
    PRESS_FLATTER = "press_flatter"  # too little of the finger on the glass; not counted
    MESSY_IMAGE = "messy_image"  # smudged or moving: wipe the glass, keep still; not counted
    PRESSES_DIFFER = "presses_differ"  # the same finger, but too little alike: start over
    TEST_FAILED = "test_failed"  # the test press did not match the two: press it again
    LIFT_FIRST = "lift_first"  # the previous press is still on the glass: lift between presses
    MISMATCH = "mismatch"  # the presses are not the same finger: captures start over
    DUPLICATE = "duplicate"  # this finger is enrolled already (anyone's): finished, nothing stored
    CANCELLED = "cancelled"  # ``cancel()`` was called: finished, nothing stored


_IMAGE_OUTCOMES = {
    ImageProblem.FEW_FEATURES: CaptureOutcome.PRESS_FLATTER,
    ImageProblem.MESSY: CaptureOutcome.MESSY_IMAGE,
    ImageProblem.UNREADABLE: CaptureOutcome.POOR_IMAGE,
}


@dataclass(frozen=True)
class ParticipantSummary:
    id: int
    code: str
    display_name: str
    language: str | None
    status: str
    fingers: int  # enrolled fingers
    on_hold: bool  # any prescription on hold


@dataclass(frozen=True)
class EnrolledFinger:
    finger: str
    position: int
    enrolled_at: datetime


def load_missing_templates(store: Store, sensor: FingerprintSensor) -> int:
    """Load every template kept in the store whose position is free on the sensor (a new or
    replaced sensor). Returns how many were loaded. Raises SensorError."""
    on_sensor = set(sensor.template_positions())
    loaded = 0
    for _participant, position, data in store.templates():
        if position in on_sensor:
            continue
        sensor.upload_characteristics(data, 1)
        sensor.store_template(position)
        loaded += 1
    log.info("loaded %d templates into the sensor", loaded)
    return loaded


class ParticipantService:
    def __init__(
        self, store: Store, sensor: FingerprintSensor, clock: Clock, staff: StaffService
    ) -> None:
        self._store = store
        self._sensor = sensor
        self._clock = clock
        self._staff = staff

    # ------------------------------------------------------------ finding

    def search(
        self, session: StaffSession, text: str, limit: int = 100
    ) -> list[ParticipantSummary]:
        """Participants not removed whose code or name contains ``text`` (any case); all of
        them (up to ``limit``) for an empty text. Ordered by code."""
        self._require_lookup(session)
        needle = text.strip().casefold()
        found: list[ParticipantSummary] = []
        for row in repo.summaries(self._store.conn):
            if needle in row.code.casefold() or needle in row.display_name.casefold():
                found.append(
                    ParticipantSummary(
                        row.id,
                        row.code,
                        row.display_name,
                        row.language,
                        row.status,
                        row.fingers,
                        row.on_hold,
                    )
                )
                if len(found) >= limit:
                    break
        return found

    def fingers(self, session: StaffSession, participant_id: int) -> list[EnrolledFinger]:
        """The fingers enrolled for a participant (no template data)."""
        self._require_lookup(session)
        return [
            EnrolledFinger(row.finger, row.position, row.created_at)
            for row in repo.templates_of(self._store.conn, participant_id)
        ]

    # ------------------------------------------------------------ creating and editing

    def create(
        self, session: StaffSession, code: str | None, display_name: str, language: str | None
    ) -> int:
        """A new participant; ``code`` None takes the next free P-####. Returns the id."""
        self._staff.require(session, Permission.ENROLL)
        name = clean_text(display_name)
        if not name:
            raise InvalidInput("name")
        language = _check_locale(language)
        if code is not None:
            code = code.strip().upper()
            if not _CODE.fullmatch(code):
                raise InvalidInput("code")
        conn = self._store.conn
        code = code or repo.next_code(conn)
        if repo.code_taken(conn, code):
            raise InvalidInput("code_taken")
        details = {"code": code, "language": language}
        with self._store.change(
            self._clock.now(), session.actor, "participant.enrolled", code, details
        ) as tx:
            participant_id = repo.insert_participant(tx, code, name, language, self._clock.now())
        log.info("participant %d created by staff %d", participant_id, session.staff_id)
        return participant_id

    def set_language(self, session: StaffSession, participant_id: int, locale: str | None) -> None:
        """The participant's screen language (None: the kiosk's default)."""
        self._staff.require(session, Permission.ENROLL)
        self._participant(participant_id)
        locale = _check_locale(locale)
        details = {"participant_id": participant_id, "language": locale}
        with self._store.change(
            self._clock.now(),
            session.actor,
            "participant.language_changed",
            f"participant:{participant_id}",
            details,
        ) as tx:
            repo.set_language(tx, participant_id, locale)

    def picture(self, session: StaffSession, participant_id: int) -> Picture:
        """The confirmation picture the participant chose (INITIALS when none)."""
        self._require_lookup(session)
        row = self._store.conn.execute(
            "SELECT confirmation_picture FROM participants WHERE id = ?", (participant_id,)
        ).fetchone()
        return parse_picture(row[0] if row else None)

    def set_picture(self, session: StaffSession, participant_id: int, picture: Picture) -> None:
        """The picture shown big when staff identify the participant ("Is this you?"); the
        participant chooses it, at enrolment or later."""
        self._staff.require(session, Permission.ENROLL)
        self._participant(participant_id)
        details = {"participant_id": participant_id, "picture": picture.value}
        with self._store.change(
            self._clock.now(),
            session.actor,
            "participant.picture_changed",
            f"participant:{participant_id}",
            details,
        ) as tx:
            tx.execute(
                "UPDATE participants SET confirmation_picture = ? WHERE id = ?",
                (None if picture is Picture.INITIALS else picture.value, participant_id),
            )

    # ------------------------------------------------------------ holds

    def hold(self, session: StaffSession, participant_id: int, reason: str) -> list[int]:
        """Put every active prescription of the participant on hold (kind 'staff').
        Returns the ids held; an empty list when none was active (nothing audited)."""
        self._staff.require(session, Permission.HOLD)
        reason = _reason(reason)
        self._participant(participant_id)
        ids = repo.prescription_ids(self._store.conn, participant_id, "active")
        if not ids:
            return []
        details = {
            "participant_id": participant_id,
            "reason": reason,
            "kind": STAFF_HOLD,
            "prescription_ids": ids,
        }
        with self._store.change(
            self._clock.now(),
            session.actor,
            "prescription.held",
            f"participant:{participant_id}",
            details,
        ) as tx:
            repo.hold_prescriptions(tx, ids, reason, STAFF_HOLD)
        log.info(
            "participant %d: %d prescriptions held by staff %d",
            participant_id,
            len(ids),
            session.staff_id,
        )
        return ids

    def release(self, session: StaffSession, prescription_id: int, reason: str) -> None:
        """Release one prescription from its hold: nurse or pharmacist, with a reason."""
        self._staff.require(session, Permission.RELEASE_HOLD)
        reason = _reason(reason)
        try:
            HoldService(self._store, self._clock).release(prescription_id, session.staff_id, reason)
        except LookupError:
            raise InvalidInput("not_on_hold") from None

    # ------------------------------------------------------------ removing

    def remove(self, session: StaffSession, participant_id: int, reason: str) -> None:
        """Take a participant off the kiosk: templates off the sensor and out of the store,
        prescriptions cancelled, status 'removed'. Dispense history stays (controlled
        substances); the participant row stays for it."""
        self._staff.require(session, Permission.REMOVE_PARTICIPANT)
        reason = _reason(reason)
        self._participant(participant_id)
        conn = self._store.conn
        templates = repo.templates_of(conn, participant_id)
        details = {
            "participant_id": participant_id,
            "reason": reason,
            "positions": [t.position for t in templates],
            "prescriptions_cancelled": repo.open_prescription_ids(conn, participant_id),
        }
        with self._store.change(
            self._clock.now(),
            session.actor,
            "participant.removed",
            f"participant:{participant_id}",
            details,
        ) as tx:
            # Sensor first, then the store. If the sensor fails part-way, the exception rolls
            # this transaction back: the participant stays enrolled in the store, some of the
            # fingers may already be off the sensor (not recognised until ``reload_sensor``
            # or a retry of the removal, which is what staff should do).
            for template in templates:
                self._sensor.delete_template(template.position)
            repo.delete_templates_of(tx, participant_id)
            repo.cancel_prescriptions(tx, participant_id)
            repo.set_status(tx, participant_id, "removed")
        log.info("participant %d removed by staff %d", participant_id, session.staff_id)

    # ------------------------------------------------------------ the sensor

    def start_enrollment(
        self, session: StaffSession, participant_id: int, finger: str
    ) -> Enrollment:
        """Begin enrolling (or re-enrolling) one finger. Nothing is stored until the last
        good press; drive it with ``Enrollment.capture()``."""
        self._staff.require(session, Permission.ENROLL)
        if finger not in FINGERS:
            raise InvalidInput("finger")
        self._participant(participant_id)
        log.info("enrollment of participant %d (%s) started", participant_id, finger)
        return Enrollment(self._store, self._sensor, self._clock, session, participant_id, finger)

    def reload_sensor(self, session: StaffSession) -> int:
        """Load every stored template missing on the sensor (after a sensor swap)."""
        self._staff.require(session, Permission.HARDWARE)
        loaded = load_missing_templates(self._store, self._sensor)
        self._store.note(
            self._clock.now(), session.actor, "sensor.reloaded", "sensor", {"loaded": loaded}
        )
        return loaded

    # ------------------------------------------------------------ helpers

    def _require_lookup(self, session: StaffSession) -> None:
        if not any(session.can(permission) for permission in _LOOKUP):
            self._staff.require(session, Permission.ENROLL)  # audits the refusal and raises

    def _participant(self, participant_id: int) -> None:
        record = self._store.participant(participant_id)
        if record is None or record.status == "removed":
            raise InvalidInput("participant")


class Enrollment:
    """One finger being enrolled. Not thread-safe except ``cancel()``; one ``capture()`` at a
    time, typically on the UI's backend thread."""

    required = REQUIRED_CAPTURES

    def __init__(
        self,
        store: Store,
        sensor: FingerprintSensor,
        clock: Clock,
        session: StaffSession,
        participant_id: int,
        finger: str,
    ) -> None:
        self._store = store
        self._sensor = sensor
        self._clock = clock
        self._session = session
        self.participant_id = participant_id
        self.finger = finger
        self.captured = 0  # good presses counted so far (0..REQUIRED_CAPTURES)
        self.position: int | None = None  # where the template went, once ENROLLED
        self.result: CaptureOutcome | None = None  # ENROLLED, DUPLICATE or CANCELLED at the end
        old = repo.template_of(store.conn, participant_id, finger)
        # Re-enrolling this finger replaces the template at this position.
        self.replaces: int | None = old.position if old else None
        self._template: bytes | None = None  # merged from presses 1 and 2
        # How well the last press agreed with the earlier ones (the sensor's compare score;
        # None before the second press): staff see it with each press's feedback.
        self.last_score: int | None = None
        self._awaiting_lift = False
        self._cancelled = threading.Event()

    @property
    def done(self) -> bool:
        return self.result is not None

    def cancel(self) -> None:
        """Stop: a waiting ``capture()`` returns CANCELLED within a poll. Any thread."""
        self._cancelled.set()

    def capture(self, timeout_s: float = 10.0) -> CaptureOutcome:
        """Wait up to ``timeout_s`` for a (new) finger and take it as the next press.

        Polls ``finger_present`` every ~50 ms. A finger still on the glass from the previous
        press is not a new press: after ``min(timeout_s, LIFT_WAIT_SECONDS)`` of it this
        returns LIFT_FIRST. Raises SensorError for a sensor failure (the presses then start
        over) and InvalidInput("step") once the enrollment is finished.
        """
        if self.result is not None:
            raise InvalidInput("step")
        waited = self._wait_for_finger(timeout_s)
        if waited is not None:
            if waited is CaptureOutcome.CANCELLED:
                self._finish(CaptureOutcome.CANCELLED)
            return waited
        self._awaiting_lift = True  # whatever comes of it, the next press needs a lift
        try:
            if self.captured == 0:
                return self._first()
            if self.captured == 1:
                return self._second()
            return self._verify_and_store()
        except SensorError as exc:
            if isinstance(exc, PoorImage):
                log.info(
                    "enrollment of participant %d: poor image (%s)",
                    self.participant_id,
                    exc.problem.value,
                )
                return _IMAGE_OUTCOMES[exc.problem]
            self._restart()  # the char buffers are no longer known
            raise

    # ------------------------------------------------------------ the presses

    def _first(self) -> CaptureOutcome:
        # identify() converts the image into buffer 1 (where press 1 belongs) and searches.
        if self._is_duplicate(self._sensor.identify()):
            return CaptureOutcome.DUPLICATE
        self.captured = 1
        return CaptureOutcome.GOOD

    def _agreement(self) -> int:
        """The compare score of buffers 1 and 2, kept for the staff's feedback."""
        self.last_score = self._sensor.compare_characteristics()
        return self.last_score

    def _second(self) -> CaptureOutcome:
        self._sensor.capture_characteristics(2)
        score = self._agreement()
        if score == 0:
            return self._mismatch()  # not the same finger at all
        if score < MIN_AGREEMENT:
            # The same finger, but a template from two so different presses would read
            # badly at every scan: both presses again.
            log.info(
                "enrollment of participant %d: presses differ (score %d)",
                self.participant_id,
                score,
            )
            self._restart()
            return CaptureOutcome.PRESSES_DIFFER
        if not self._sensor.create_template():
            return self._mismatch()
        self._template = self._sensor.download_characteristics(1)
        self.captured = 2
        return CaptureOutcome.GOOD

    def _verify_and_store(self) -> CaptureOutcome:
        assert self._template is not None
        if self._is_duplicate(self._sensor.identify()):  # the last search before storing
            return CaptureOutcome.DUPLICATE
        # Verification: press 3 in buffer 2, the template back in buffer 1, compared (ZFM
        # "match", 0x03) and merged. What is stored is the template from presses 1 and 2 as
        # read out of the sensor, not this second merge.
        self._sensor.capture_characteristics(2)
        self._sensor.upload_characteristics(self._template, 1)
        # The test scan: it must match the template as a scan at the kiosk would, or the
        # finger is not saved (the template stays: the test press may be tried again).
        if self._agreement() < MIN_AGREEMENT:
            log.info("enrollment of participant %d: test press failed", self.participant_id)
            return CaptureOutcome.TEST_FAILED
        if not self._sensor.create_template():
            return self._mismatch()
        self.captured = REQUIRED_CAPTURES
        self._store_template(self._template)
        return CaptureOutcome.ENROLLED

    # ------------------------------------------------------------ storing

    def _store_template(self, template: bytes) -> None:
        conn = self._store.conn
        old = repo.template_of(conn, self.participant_id, self.finger)
        position = self._free_position()
        details = {
            "participant_id": self.participant_id,
            "finger": self.finger,
            "position": position,
            "replaced_position": old.position if old else None,
        }
        old_data = repo.characteristics(conn, old.id) if old else b""
        self._sensor.upload_characteristics(template, 1)
        try:
            self._sensor.store_template(position)
        except SensorError:
            self._forget_position(position)  # it may have been written before the failure
            raise
        old_touched = False
        try:
            with self._store.change(
                self._clock.now(),
                self._session.actor,
                "fingerprint.enrolled",
                f"participant:{self.participant_id}",
                details,
            ) as tx:
                if old is not None:
                    # Sensor first, then the store, inside this transaction. If deleting
                    # the old template fails (refused, no answer), the exception rolls the
                    # transaction back: no row changes, no audit entry; the new template is
                    # taken off the sensor again below and the old one is written back (it
                    # may have been deleted before the answer was lost), so the old
                    # enrollment stays valid on both sides.
                    old_touched = True
                    self._sensor.delete_template(old.position)
                    repo.delete_template(tx, old.id)
                repo.insert_template(
                    tx, self.participant_id, self.finger, position, template, self._clock.now()
                )
        except BaseException:
            # The store did not change (or could not commit): undo on the sensor.
            self._forget_position(position)
            if old is not None and old_touched:
                self._restore(old.position, old_data)
            raise
        self.position = position
        self._finish(CaptureOutcome.ENROLLED)
        log.info(
            "participant %d: %s enrolled at sensor position %d (replaced %s)",
            self.participant_id,
            self.finger,
            position,
            old.position if old else "none",
        )

    def _free_position(self) -> int:
        capacity = self._sensor.info().capacity
        used = set(self._sensor.template_positions()) | repo.used_positions(self._store.conn)
        for position in range(capacity):
            if position not in used:
                return position
        raise InvalidInput("sensor_full")

    def _forget_position(self, position: int) -> None:
        try:
            self._sensor.delete_template(position)
        except SensorError as exc:
            # Left on the sensor with no row in the store, a template identifies nobody; its
            # position is skipped by later enrollments (they read the sensor's index).
            log.error("could not take template %d back off the sensor: %s", position, exc)

    def _restore(self, position: int, data: bytes) -> None:
        try:
            self._sensor.upload_characteristics(data, 1)
            self._sensor.store_template(position)
        except SensorError as exc:
            log.error("could not put template %d back (reload the sensor): %s", position, exc)

    # ------------------------------------------------------------ helpers

    def _is_duplicate(self, match: Match | None) -> bool:
        """True (and the enrollment finished, audited) when the press matches a template on
        the sensor, except this very finger's own template when re-enrolling it."""
        if match is None or match.position == self.replaces:
            return False
        owner = repo.template_at(self._store.conn, match.position)
        self._store.note(
            self._clock.now(),
            self._session.actor,
            "fingerprint.duplicate_refused",
            f"participant:{self.participant_id}",
            {
                "participant_id": self.participant_id,
                "finger": self.finger,
                "matched_position": match.position,
                # None: a template on the sensor the store does not know (see the report)
                "matched_participant_id": owner.participant_id if owner else None,
            },
        )
        log.warning(
            "enrollment of participant %d refused: finger matches sensor position %d",
            self.participant_id,
            match.position,
        )
        self._finish(CaptureOutcome.DUPLICATE)
        return True

    def _mismatch(self) -> CaptureOutcome:
        log.info("enrollment of participant %d: presses do not match", self.participant_id)
        self._restart()
        return CaptureOutcome.MISMATCH

    def _restart(self) -> None:
        self.captured = 0
        self._template = None

    def _finish(self, result: CaptureOutcome) -> None:
        self.result = result
        self._template = None

    def _wait_for_finger(self, timeout_s: float) -> CaptureOutcome | None:
        """None when a new finger is on the glass (its image taken), else the outcome."""
        start = time.monotonic()
        deadline = start + max(timeout_s, 0.0)
        lift_deadline = start + max(min(timeout_s, LIFT_WAIT_SECONDS), 0.0)
        while True:
            if self._cancelled.is_set():
                return CaptureOutcome.CANCELLED
            present = self._sensor.finger_present()
            if present and not self._awaiting_lift:
                return None
            if not present:
                self._awaiting_lift = False  # lifted: the next finger is a new press
            now = time.monotonic()
            if self._awaiting_lift and now >= lift_deadline:
                return CaptureOutcome.LIFT_FIRST
            if now >= deadline:
                return CaptureOutcome.NO_FINGER
            self._cancelled.wait(min(POLL_SECONDS, deadline - now))


def _check_locale(locale: str | None) -> str | None:
    if locale is None or not locale.strip():
        return None
    locale = locale.strip()
    if locale not in PARTICIPANT_LOCALES:
        raise InvalidInput("language")
    return locale


def _reason(reason: str) -> str:
    reason = clean_text(reason)
    if not reason:
        raise InvalidInput("reason")
    return reason
