"""The participant screen flow as a pure state machine.

Screens only render a ``FlowState`` and send events; ``step`` returns the next state and
the effects the application must run (identify, decide, dispense). Nothing here touches Qt,
devices or the clock, so every path is tested without a screen (Electrum's wizard model).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

from kiosk.domain import assisted_id, door_recovery, remote_witness
from kiosk.domain.assisted_id import AssistEffect, AssistEvent, AssistState
from kiosk.domain.door_recovery import ConfirmSecure, LockoutPolicy, SecureEvent, SecureState
from kiosk.domain.dosing import Refused
from kiosk.domain.notices import Notice
from kiosk.domain.remote_approval import VALIDITY
from kiosk.domain.remote_witness import RemoteEffect, RemoteEvent, RemoteOffer, RemoteWitness, Stage
from kiosk.domain.told import Told


class Screen(enum.Enum):
    IDLE = "idle"
    IDENTIFYING = "identifying"
    DECIDING = "deciding"
    WITNESS = "witness"  # a nurse or pharmacist enters a PIN to witness the dose
    REMOTE_WITNESS = "remote_witness"  # the on-call clinician witnesses from afar
    DISPENSING = "dispensing"
    DONE = "done"
    REFUSED = "refused"
    UNAVAILABLE = "unavailable"  # the rules allow a dose, but no ready lane holds it here
    NOT_RECOGNISED = "not_recognised"
    ERROR = "error"
    OUT_OF_SERVICE = "out_of_service"  # until the machine can serve again (devices, lockout)
    ASSISTED = "assisted"  # staff identify a participant whose finger will not read
    HELP = "help"  # "I need help": staff are being told, then "someone is coming"
    NOTICE = "notice"  # staff's message for this participant, before the decision


class ErrorKind(enum.Enum):
    SEE_STAFF = "see_staff"  # something about this person's dose needs a human
    OUT_OF_SERVICE = "out_of_service"  # the machine cannot serve anyone right now
    POOR_IMAGE = "poor_image"  # try the finger again
    NO_WITNESS = "no_witness"  # nobody witnessed the dose in time: nothing was given


@dataclass(frozen=True)
class DoseLine:
    """One medication being given, as the participant sees it."""

    medication: str
    strength: str
    form: str
    units: int
    dropped: int = 0
    prescription_id: int = 0  # which prescription: the plan the dispense must follow

    @property
    def name(self) -> str:
        """The medication as the participant reads it: "hydromorphone 8 mg"."""
        return f"{self.medication} {self.strength}"


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class FingerDetected:
    pass


@dataclass(frozen=True)
class Identified:
    participant_id: int
    language: str | None = None
    # Staff's notices for this participant not yet acknowledged (kiosk.domain.notices): shown
    # one by one before the decision, each until its big "OK".
    notices: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class NoticeAcknowledged:
    """The participant pressed "OK" on the notice shown: it is not shown to them again."""


@dataclass(frozen=True)
class SiteNotices:
    """The site's notices of the day, shown at idle (kiosk.domain.notices.to_show_at_idle)."""

    notices: tuple[Notice, ...]


@dataclass(frozen=True)
class NotRecognised:
    pass


@dataclass(frozen=True)
class PoorImage:
    pass


@dataclass(frozen=True)
class DoseAllowed:
    lines: tuple[DoseLine, ...]  # each with a ready lane: what will be dispensed
    witness: bool = False  # a witnessed prescription is among them
    # Allowed too, but no ready lane holds it here: never announced. With no ``lines``,
    # nothing can be given (the unavailable screen: no witness, no dispense).
    unavailable: tuple[DoseLine, ...] = ()
    # Whether staff's alert about the unavailable doses is recorded (and whom the hub told):
    # the screen says "staff have been told" only then (kiosk.domain.told).
    told: Told | None = None
    # The witness screen may offer "Witness from afar" (kiosk.domain.remote_witness).
    remote: RemoteOffer | None = None


@dataclass(frozen=True)
class WitnessPin:
    pin: str


@dataclass(frozen=True)
class WitnessAccepted:
    staff_id: int


@dataclass(frozen=True)
class WitnessRejected:
    pass


@dataclass(frozen=True)
class WitnessLocked:
    """Too many wrong staff PINs: the witness pad refuses every PIN for ``seconds``."""

    seconds: int


@dataclass(frozen=True)
class AskRemoteWitness:
    """Staff choose "Witness from afar" on the witness screen."""


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class DoseRefused:
    refusal: Refused


@dataclass(frozen=True)
class UnitDropped:
    line: int  # index into lines
    dropped: int  # units confirmed so far for that line


@dataclass(frozen=True)
class DispenseFinished:
    dropped: tuple[int, ...]  # confirmed units per line
    next_dose: datetime | None = None  # UTC: when the next dose is available (if known)
    told: Told | None = None  # a short dispense: whether staff's alert about it is recorded


@dataclass(frozen=True)
class Fault:
    kind: ErrorKind


@dataclass(frozen=True)
class Timeout:
    pass


@dataclass(frozen=True)
class Countdown:
    """The seconds left before a counting-down screen (the witness's) times out."""

    seconds: int


@dataclass(frozen=True)
class ServiceLost:
    """The machine cannot serve: ``faults`` name why (for staff), ``staff_can_clear``
    when a staff PIN on the screen can clear it (service door, tamper), under ``policy``."""

    faults: tuple[str, ...]
    staff_can_clear: bool = False
    policy: LockoutPolicy = field(default_factory=door_recovery.default_policy)
    told: Told | None = None  # whether staff's alerts about these faults are recorded


@dataclass(frozen=True)
class ServiceRestored:
    pass


@dataclass(frozen=True)
class LanguageChosen:
    locale: str


@dataclass(frozen=True)
class AssistStart:
    """Staff start an assisted identification (idle, or after "not recognised");
    ``allowed``: the site's setting (a forbidding site sees only that it is not allowed)."""

    allowed: bool = True


@dataclass(frozen=True)
class AssistAvailability:
    """The site's setting for staff-assisted identification, as last read."""

    allowed: bool


@dataclass(frozen=True)
class HelpAsked:
    """The participant pressed "I need help" on a result screen."""


@dataclass(frozen=True)
class HelpNews:
    """What the kiosk knows of the help request: whether staff were told (pushed to the hub,
    or whom the hub told), and whether someone acknowledged it (on the kiosk or the hub)."""

    told: Told
    coming: bool = False


Event = (
    FingerDetected
    | Identified
    | NotRecognised
    | PoorImage
    | DoseAllowed
    | DoseRefused
    | WitnessPin
    | WitnessAccepted
    | WitnessRejected
    | WitnessLocked
    | AskRemoteWitness
    | RemoteEvent
    | Cancel
    | UnitDropped
    | DispenseFinished
    | Fault
    | Timeout
    | Countdown
    | LanguageChosen
    | NoticeAcknowledged
    | SiteNotices
    | ServiceLost
    | ServiceRestored
    | SecureEvent  # clearing a lockout (kiosk.domain.door_recovery), out of service only
    | AssistStart
    | AssistAvailability
    | AssistEvent  # staff-assisted identification (kiosk.domain.assisted_id)
    | HelpAsked
    | HelpNews
)

# ---------------------------------------------------------------- effects


@dataclass(frozen=True)
class Decide:
    participant_id: int


@dataclass(frozen=True)
class Dispense:
    participant_id: int
    witness_staff_id: int | None = None
    prescriptions: tuple[int, ...] = ()  # the plan shown, in order: nothing else is vended
    remote_witness: str | None = None  # the used witness_dose request (witnessed from afar)
    identified_by: int | None = None  # the staff member who identified them (None: a finger)


@dataclass(frozen=True)
class RecordAssisted:
    """Write down (audited, counted) that ``staff_id`` identified ``participant_id``."""

    participant_id: int
    staff_id: int


@dataclass(frozen=True)
class RaiseHelp:
    participant_id: int | None  # who asked, when the kiosk knows (ids only)


@dataclass(frozen=True)
class VerifyWitness:
    pin: str


@dataclass(frozen=True)
class ApplyLanguage:
    locale: str


@dataclass(frozen=True)
class AcknowledgeNotice:
    uuid: str


Effect = (
    Decide
    | Dispense
    | VerifyWitness
    | ConfirmSecure
    | ApplyLanguage
    | RemoteEffect
    | RecordAssisted
    | RaiseHelp
    | AssistEffect
    | AcknowledgeNotice
)

# ---------------------------------------------------------------- state

MAX_WITNESS_ATTEMPTS = 3
WITNESS_SECONDS = 90  # the witness screen counts down from this, then says what to do

# Seconds a screen stays before going back to idle; None: it waits for the backend.
TIMEOUTS: dict[Screen, float | None] = {
    Screen.IDLE: None,
    Screen.IDENTIFYING: 20.0,
    Screen.DECIDING: 20.0,
    Screen.WITNESS: float(WITNESS_SECONDS),
    # A safety net: the request itself expires after VALIDITY (the approval step says so).
    Screen.REMOTE_WITNESS: VALIDITY.total_seconds() + 60.0,
    Screen.DISPENSING: None,  # never abandon a running vend; the service has its budgets
    Screen.DONE: 12.0,
    Screen.REFUSED: 12.0,
    Screen.UNAVAILABLE: 15.0,
    Screen.NOT_RECOGNISED: 8.0,
    Screen.ERROR: 15.0,
    Screen.OUT_OF_SERVICE: None,
    Screen.ASSISTED: 90.0,  # staff type a PIN and a code; then the participant confirms
    Screen.HELP: 60.0,  # the request stays open for staff; the screen goes back to idle
    # Long enough to read slowly; no "OK" in time: back to idle, nothing decided, and the
    # notice comes again at the next scan.
    Screen.NOTICE: 60.0,
}

# Result screens: each offers "I need help" (never twice: one open request per machine).
OFFERS_HELP = frozenset(
    {
        Screen.DONE,
        Screen.REFUSED,
        Screen.UNAVAILABLE,
        Screen.NOT_RECOGNISED,
        Screen.ERROR,
        Screen.OUT_OF_SERVICE,
    }
)

# Screens that show an outcome and wait for the next touch: a new finger press there is
# read at once and starts a new identification (a retry, or the next person in line).
READS_FINGER = frozenset(
    {
        Screen.IDLE,
        Screen.DONE,
        Screen.REFUSED,
        Screen.UNAVAILABLE,
        Screen.NOT_RECOGNISED,
        Screen.ERROR,
    }
)


@dataclass(frozen=True)
class FlowState:
    screen: Screen
    site_locale: str
    locale: str
    participant_id: int | None = None
    lines: tuple[DoseLine, ...] = ()
    refusal: Refused | None = None
    error: ErrorKind | None = None
    witness_attempts: int = 0
    faults: tuple[str, ...] = ()  # why the machine cannot serve (empty: it can)
    faults_told: Told | None = None  # whether staff's alerts about ``faults`` are recorded
    secure: SecureState | None = None  # a lockout staff can clear on screen, step by step
    pin_locked_seconds: int = 0  # the witness pad is locked for this long (0: it is not)
    unavailable: tuple[DoseLine, ...] = ()  # allowed doses no ready lane holds here
    next_dose: datetime | None = None  # after a dispense: when the next dose is available
    seconds_left: int = 0  # on a screen that counts down (the witness's): the time left
    # Whether staff's alert about the problem on screen is recorded, and whom the hub told;
    # None: nothing is known, so nothing is claimed (kiosk.domain.told.participant_message).
    told: Told | None = None
    remote_offer: RemoteOffer | None = None  # "Witness from afar" may be offered
    remote: RemoteWitness | None = None  # witnessing from afar, on its screen
    assist: AssistState | None = None  # the staff-assisted identification, step by step
    identified_by: int | None = None  # the staff member who identified the participant
    help_told: Told | None = None  # on the help screen: what is known of staff being told
    help_coming: bool = False  # on the help screen: someone acknowledged the request
    notices: tuple[Notice, ...] = ()  # this participant's notices still to show (NOTICE)
    site_notices: tuple[Notice, ...] = ()  # the site's notices of the day (at idle)
    # Whether the site allows staff-assisted identification: its discreet button shows only
    # then (kiosk.services.assisted.AssistedIdService.allowed, read by the driver).
    assist_allowed: bool = True
    effects: tuple[Effect, ...] = field(default=(), compare=False)

    @property
    def offers_help(self) -> bool:
        return self.screen in OFFERS_HELP

    @property
    def staff_can_clear(self) -> bool:
        return self.secure is not None

    @property
    def timeout_seconds(self) -> float | None:
        return TIMEOUTS[self.screen]

    @property
    def counts_down(self) -> bool:
        """This screen shows the time left before it times out."""
        return self.screen is Screen.WITNESS

    @property
    def reads_finger(self) -> bool:
        """The sensor is read on this screen: a new press starts an identification. Never
        while the machine cannot serve (a press then is not read, even once it can)."""
        return self.screen in READS_FINGER and not self.faults

    @property
    def partial(self) -> bool:
        """True when a finished dispense gave fewer units than planned."""
        return any(line.dropped < line.units for line in self.lines)


def initial(site_locale: str) -> FlowState:
    return FlowState(Screen.IDLE, site_locale=site_locale, locale=site_locale)


def _kept(state: FlowState, fresh: FlowState) -> FlowState:
    """A fresh state keeps what belongs to the machine, not to the person served."""
    return replace(fresh, site_notices=state.site_notices, assist_allowed=state.assist_allowed)


def _idle(state: FlowState) -> FlowState:
    back = _kept(state, initial(state.site_locale))
    if state.faults:
        back = replace(
            back,
            screen=Screen.OUT_OF_SERVICE,
            faults=state.faults,
            secure=state.secure,
            told=state.faults_told,
        )
    return replace(back, effects=(ApplyLanguage(state.site_locale),))


def _new_press(state: FlowState) -> FlowState:
    """A finger pressed on an outcome screen: a new identification, as from idle. The
    language chosen at idle stays while nobody has been identified (a retry); once someone
    was, the next press may be someone else, who starts in the site's language."""
    if state.faults:
        return _idle(state)  # out of service: say so now; the press is not read
    locale = state.locale if state.participant_id is None else state.site_locale
    effects: tuple[Effect, ...] = (ApplyLanguage(locale),) if locale != state.locale else ()
    return replace(
        _kept(state, initial(state.site_locale)),
        screen=Screen.IDENTIFYING,
        locale=locale,
        effects=effects,
    )


def _deciding(state: FlowState, participant_id: int) -> FlowState:
    return replace(
        state,
        screen=Screen.DECIDING,
        participant_id=participant_id,
        notices=(),
        effects=(*state.effects, Decide(participant_id)),
    )


def _plan(state: FlowState, participant_id: int, witness: int | None = None) -> Dispense:
    plan = tuple(line.prescription_id for line in state.lines)
    return Dispense(participant_id, witness, plan, identified_by=state.identified_by)


def _assist(state: FlowState, event: AssistEvent) -> FlowState:
    """A staff step of the assisted identification; "this is me" hands over to the normal
    decision, with the staff member who identified the participant."""
    assert state.assist is not None
    match = state.assist.match
    if isinstance(event, assisted_id.ThisIsMe):
        staff = state.assist.confirmed_by
        if staff is None or match is None:
            return state
        pid = match.participant_id
        # As after a scan: the participant's notices first (each until its "OK"), then the
        # decision (``NoticeAcknowledged`` → ``_deciding``).
        then: tuple[Effect, ...] = () if match.notices else (Decide(pid),)
        effects: tuple[Effect, ...] = (RecordAssisted(pid, staff), *then)
        locale = state.locale
        if match.language and match.language != state.locale and state.locale == state.site_locale:
            locale = match.language
            effects = (ApplyLanguage(locale), *effects)
        return replace(
            state,
            screen=Screen.NOTICE if match.notices else Screen.DECIDING,
            participant_id=pid,
            identified_by=staff,
            notices=match.notices,
            assist=None,
            locale=locale,
            effects=effects,
        )
    assist = assisted_id.step(state.assist, event)
    return replace(state, assist=replace(assist, effects=()), effects=assist.effects)


def _remote(s: FlowState, remote: RemoteWitness) -> FlowState:
    """The flow after a step of witnessing from afar: dispense exactly as with a witness on
    site once it is witnessed; the "no witness" outcome when not; the witness screen again
    when staff cancelled."""
    effects: tuple[Effect, ...] = remote.effects
    remote = replace(remote, effects=())
    if remote.stage is Stage.WITNESSED and s.participant_id is not None:
        plan = _plan(s, s.participant_id)
        dispense = replace(plan, remote_witness=remote.request_id)
        return replace(s, screen=Screen.DISPENSING, remote=remote, effects=(*effects, dispense))
    if remote.stage is Stage.NOT_WITNESSED:
        return replace(
            s, screen=Screen.ERROR, error=ErrorKind.NO_WITNESS, remote=remote, effects=effects
        )
    if remote.stage is Stage.CANCELLED:
        # Kept (ended) until asked again: the withdrawal names who asked.
        return replace(
            s,
            screen=Screen.WITNESS,
            remote=remote,
            witness_attempts=0,
            pin_locked_seconds=0,
            seconds_left=int(TIMEOUTS[Screen.WITNESS] or 0),
            effects=effects,
        )
    return replace(s, remote=remote, effects=effects)


def step(state: FlowState, event: Event) -> FlowState:
    """The next state for an event. Events that do not fit the screen are ignored."""
    s = replace(state, effects=())
    match state.screen, event:
        case screen, ServiceLost(
            faults=faults, staff_can_clear=clearable, policy=policy, told=told
        ):
            secure = door_recovery.relatched(state.secure, faults, policy) if clearable else None
            lost = replace(s, faults=faults, secure=secure, faults_told=told)
            if screen is Screen.OUT_OF_SERVICE:
                lost = replace(lost, told=told)
            if screen is Screen.IDLE:
                return _idle(lost)
            return lost  # whatever is on screen finishes first; then out of service
        case Screen.OUT_OF_SERVICE, ServiceRestored():
            return _idle(replace(s, faults=(), secure=None, faults_told=None))
        case _, ServiceRestored():
            return replace(s, faults=(), secure=None, faults_told=None)
        case Screen.OUT_OF_SERVICE, (
            door_recovery.MachineClosed()
            | door_recovery.PinEntered()
            | door_recovery.Confirmed()
            | door_recovery.Refused()
            | door_recovery.Back()
            | door_recovery.StatusSeen()
        ) if state.secure is not None:
            secure = door_recovery.step(state.secure, event)
            return replace(s, secure=replace(secure, effects=()), effects=secure.effects)
        case (
            (Screen.IDLE | Screen.NOT_RECOGNISED | Screen.ERROR),
            AssistStart(allowed=allowed),
        ) if not state.faults:
            fresh = replace(_kept(state, initial(state.site_locale)), locale=state.locale)
            return replace(fresh, screen=Screen.ASSISTED, assist=assisted_id.start(allowed))
        case Screen.ASSISTED, (
            assisted_id.StaffPin()
            | assisted_id.StaffAccepted()
            | assisted_id.StaffRefused()
            | assisted_id.CodeTyped()
            | assisted_id.CodeFound()
            | assisted_id.CodeUnknown()
            | assisted_id.ThisIsMe()
            | assisted_id.NotMe()
        ) if state.assist is not None:
            return _assist(s, event)
        case Screen.ASSISTED, Cancel():
            return _idle(state)
        case screen, HelpAsked() if screen in OFFERS_HELP:
            return replace(
                s,
                screen=Screen.HELP,
                help_told=None,
                help_coming=False,
                effects=(RaiseHelp(state.participant_id),),
            )
        case Screen.HELP, HelpNews(told=told, coming=coming):
            return replace(s, help_told=told, help_coming=coming or state.help_coming)
        case Screen.HELP, Cancel():
            return _idle(state)
        case _, SiteNotices(notices=notices):
            return replace(s, site_notices=notices)
        case _, AssistAvailability(allowed=allowed):
            return replace(s, assist_allowed=allowed)
        case Screen.NOTICE, NoticeAcknowledged() if state.participant_id is not None:
            shown, rest = state.notices[0], state.notices[1:]
            acknowledged = replace(s, notices=rest, effects=(AcknowledgeNotice(shown.uuid),))
            if rest:
                return acknowledged
            return _deciding(acknowledged, state.participant_id)
        case Screen.IDLE, LanguageChosen(locale=locale):
            return replace(s, locale=locale, effects=(ApplyLanguage(locale),))
        case Screen.IDLE, FingerDetected():
            return replace(s, screen=Screen.IDENTIFYING)
        case screen, FingerDetected() if screen in READS_FINGER:
            return _new_press(s)
        case (
            (Screen.IDLE | Screen.IDENTIFYING),
            Identified(participant_id=pid, language=lang, notices=notices),
        ):
            effects: tuple[Effect, ...] = ()
            locale = s.locale
            if lang and lang != s.locale and s.locale == s.site_locale:
                # The participant's saved language applies unless they just chose one.
                locale = lang
                effects = (ApplyLanguage(lang),)
            identified = replace(s, participant_id=pid, locale=locale, effects=effects)
            if notices:
                return replace(identified, screen=Screen.NOTICE, notices=notices)
            return _deciding(identified, pid)
        case ((Screen.IDLE | Screen.IDENTIFYING), NotRecognised()):
            return replace(s, screen=Screen.NOT_RECOGNISED)
        case ((Screen.IDLE | Screen.IDENTIFYING), PoorImage()):
            return replace(s, screen=Screen.ERROR, error=ErrorKind.POOR_IMAGE)
        case Screen.DECIDING, DoseAllowed(lines=(), unavailable=unavailable, told=told) if (
            unavailable
        ):
            return replace(s, screen=Screen.UNAVAILABLE, unavailable=unavailable, told=told)
        case Screen.DECIDING, DoseAllowed(
            lines=lines, witness=True, unavailable=unavailable, told=told, remote=offer
        ):
            return replace(
                s,
                screen=Screen.WITNESS,
                lines=lines,
                unavailable=unavailable,
                told=told,
                witness_attempts=0,
                seconds_left=int(TIMEOUTS[Screen.WITNESS] or 0),
                remote_offer=offer,
            )
        case Screen.WITNESS, AskRemoteWitness() if state.remote_offer is not None:
            return replace(
                s, screen=Screen.REMOTE_WITNESS, remote=remote_witness.start(state.remote_offer)
            )
        case Screen.REMOTE_WITNESS, (
            remote_witness.RequesterPin()
            | remote_witness.RequesterAccepted()
            | remote_witness.RequesterRejected()
            | remote_witness.RequesterLocked()
            | remote_witness.Approval()
        ) if state.remote is not None:
            return _remote(s, remote_witness.step(state.remote, event))
        case Screen.REMOTE_WITNESS, (Cancel() | Timeout()) if state.remote is not None:
            given_up = remote_witness.GiveUp(timed_out=isinstance(event, Timeout))
            return _remote(s, remote_witness.step(state.remote, given_up))
        case Screen.DECIDING, DoseAllowed(lines=lines, unavailable=unavailable, told=told) if (
            state.participant_id is not None
        ):
            return replace(
                s,
                screen=Screen.DISPENSING,
                lines=lines,
                unavailable=unavailable,
                told=told,
                effects=(_plan(replace(s, lines=lines), state.participant_id),),
            )
        case Screen.WITNESS, WitnessPin(pin=pin):
            return replace(s, effects=(VerifyWitness(pin),))
        case Screen.WITNESS, WitnessAccepted(staff_id=staff) if state.participant_id is not None:
            return replace(
                s,
                screen=Screen.DISPENSING,
                effects=(_plan(state, state.participant_id, staff),),
            )
        case Screen.WITNESS, Countdown(seconds=seconds):
            return replace(s, seconds_left=max(0, seconds))
        case Screen.WITNESS, Timeout():
            # Nobody witnessed in time: nothing was given; the screen says what to do.
            return replace(s, screen=Screen.ERROR, error=ErrorKind.NO_WITNESS)
        case Screen.WITNESS, WitnessRejected():
            attempts = state.witness_attempts + 1
            if attempts >= MAX_WITNESS_ATTEMPTS:
                return replace(s, screen=Screen.ERROR, error=ErrorKind.SEE_STAFF)
            return replace(s, witness_attempts=attempts, pin_locked_seconds=0)
        case Screen.WITNESS, WitnessLocked(seconds=seconds):
            # Not an attempt: no PIN was checked. The pad says how long; staff may wait.
            return replace(s, pin_locked_seconds=seconds)
        case Screen.WITNESS, Cancel():
            return _idle(state)
        case Screen.DECIDING, DoseRefused(refusal=refusal):
            return replace(s, screen=Screen.REFUSED, refusal=refusal)
        case Screen.DISPENSING, UnitDropped(line=index, dropped=dropped):
            if not 0 <= index < len(s.lines):
                return s
            updated = list(s.lines)
            updated[index] = replace(updated[index], dropped=max(updated[index].dropped, dropped))
            return replace(s, lines=tuple(updated))
        case Screen.DISPENSING, DispenseFinished(dropped=dropped, next_dose=next_dose, told=told):
            lines = tuple(
                replace(line, dropped=dropped[i] if i < len(dropped) else 0)
                for i, line in enumerate(s.lines)
            )
            done = replace(s, screen=Screen.DONE, lines=lines, next_dose=next_dose)
            if done.partial:
                done = replace(done, told=told)  # what was said of the unavailable, else
            return done
        case _, Fault(kind=kind):
            return replace(s, screen=Screen.ERROR, error=kind)
        case _, Timeout() if state.timeout_seconds is not None:
            return _idle(state)
    return s
