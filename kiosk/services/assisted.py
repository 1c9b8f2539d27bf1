"""Staff-assisted identification (a finger that will not read): the staff PIN, the code
look-up, the record of each use and the re-enrol alert.

The steps are ``kiosk.domain.assisted_id``; the dispense that follows is the normal one
(``InteractionService.dispense`` with ``identified_by``). Whether a site allows it: the hub's
``assisted_id`` site setting when it sent one, else the kiosk's ``[site] assisted_id``.
Logs and audit entries carry ids only, never a code or a name.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from kiosk.domain.alerts import AlertKind
from kiosk.domain.assisted_id import Match, code_candidates, initials, parse_picture
from kiosk.services.clock import Clock
from kiosk.services.errors import Refusal
from kiosk.services.pin_gate import EntryPoint, PinGate
from kiosk.store import sync_repo
from kiosk.store.repository import Store
from kiosk.store.timefmt import to_text

log = logging.getLogger("kiosk.assisted")

SETTING = "assisted_id"  # the hub's site setting: {"value": true | false}
WINDOW = timedelta(days=7)


class AssistForbidden(Refusal):
    """The site does not allow staff-assisted identification."""


class AssistedIdService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        allowed: bool = True,
        reenrol_after: int = 3,
        pins: PinGate | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._allowed = allowed  # the kiosk's own [site] assisted_id
        self._reenrol_after = reenrol_after
        self._pins = pins or PinGate(store, clock)

    def allowed(self) -> bool:
        """The hub's site setting when it sent one (a boolean), else the kiosk's."""
        value = sync_repo.setting(self._store.conn, SETTING)
        if isinstance(value, dict):
            value = value.get("value")
        return value if isinstance(value, bool) else self._allowed

    def _require_allowed(self, actor: str) -> None:
        if not self.allowed():
            self._store.note(self._clock.now(), actor, "identify.assisted_refused", "machine")
            raise AssistForbidden("staff-assisted identification is not allowed at this site")

    def check_staff(self, pin: str) -> int:
        """The staff member whose PIN this is (any role). Raises ``AssistForbidden``,
        ``PinLocked`` or ``WrongPin`` (counted under the lockout policy, audited)."""
        self._require_allowed("unknown")
        holder = self._pins.check(
            EntryPoint.ASSISTED_ID, pin, actor="participant_screen", context="assisted_id"
        )
        return holder.staff_id

    def look_up(self, code: str, staff_id: int) -> Match | None:
        """The active participant with this code as typed ("12" is P-0012, else the code
        itself: ``code_candidates``), as the confirmation step shows them; None
        when there is none (audited by ids: the code is not written down)."""
        actor = f"staff:{staff_id}"
        self._require_allowed(actor)
        found = None
        for candidate in code_candidates(code):
            found = self._store.participant_by_code(candidate)
            if found is not None and found.status == "active":
                break
        now = self._clock.now()
        if found is None or found.status != "active":
            self._store.note(now, actor, "identify.assisted_unknown_code", "machine")
            log.info("assisted identification: no active participant has the code typed")
            return None
        picture = self._store.conn.execute(
            "SELECT confirmation_picture FROM participants WHERE id = ?", (found.id,)
        ).fetchone()
        return Match(
            found.id,
            parse_picture(picture[0] if picture else None),
            initials(found.display_name),
            found.language,
        )

    def record(self, participant_id: int, staff_id: int) -> int:
        """Write down that ``staff_id`` identified ``participant_id`` (audited); alert staff
        when this participant was identified by hand more than the site's limit in 7 days.
        Returns the uses in the 7 days up to now, this one included."""
        actor = f"staff:{staff_id}"
        self._require_allowed(actor)
        now = self._clock.now()
        subject = f"participant:{participant_id}"
        with self._store.change(now, actor, "identify.assisted", subject) as conn:
            conn.execute(
                "INSERT INTO assisted_ids (participant_id, staff_id, at) VALUES (?, ?, ?)",
                (participant_id, staff_id, to_text(now)),
            )
        uses = self.uses(participant_id)
        log.info(
            "participant %d identified by staff %d (%d in 7 days)", participant_id, staff_id, uses
        )
        if uses > self._reenrol_after:
            self._store.raise_alert(
                AlertKind.REENROL,
                subject,
                f"Participant {participant_id} was identified by staff {uses} times in 7 days: "
                "time to re-enrol a finger.",
                now,
            )
        return uses

    def uses(self, participant_id: int) -> int:
        """Staff-assisted identifications of this participant in the last 7 days."""
        since = to_text(self._clock.now() - WINDOW)
        row = self._store.conn.execute(
            "SELECT count(*) FROM assisted_ids WHERE participant_id = ? AND at > ?",
            (participant_id, since),
        ).fetchone()
        return int(row[0])
