"""The sync API's one declared schema (docs/SYNC.md, "Validation"): every field the hub reads
from a request, its type and its range, and the rules every value of a request obeys.

Each rule is here because PostgreSQL or Python would otherwise fail later, far from the request:
a text with NUL (PostgreSQL refuses ``\\u0000`` in text and jsonb), a lone surrogate (not
encodable as UTF-8), NaN or Infinity (not JSON, yet Python's ``json`` reads them), an integer
past the column it lands in, a digit Python calls a digit but ``int()``/PostgreSQL do not read as
one ("²"), a date whose conversion to UTC leaves Python's range, nesting deep enough to exhaust
the recursion limit. A rule broken is reported as "<path>: <rule>", never with the value (a
value may be personal data).

The views and ``fleet.ingest`` use these declarations; nothing else decides what a request may
hold.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint (seq, vend ids, anchors)
INTEGER_MAX = 2**31 - 1  # PostgreSQL integer (LaneStock.stock, medication_id)
SMALLINT_MAX = 2**15 - 1  # PostgreSQL smallint (LaneStock.lane)

MAX_BODY_DEPTH = 64  # a body nested deeper is not parsed at all (400)
MAX_EVENT_DEPTH = 16  # arrays/objects within one event, itself included: deeper is quarantined
MAX_TEXT = 10_000  # characters of any text the hub is not told more about
MAX_KEY = 100  # characters of an object key
MAX_INT_DIGITS = 30  # longer integer literals are not read (Python refuses > 4300 digits anyway)
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100  # an event's created_at, in UTC

_SAFE_KEY = re.compile(r"[A-Za-z0-9_]{1,40}", re.ASCII)


class NotJSON(ValueError):
    """The bytes are not a JSON document the hub reads (a 400)."""


@dataclass(frozen=True)
class Unreadable:
    """A JSON literal Python's ``json`` would read but the hub refuses (NaN, Infinity, 1e999,
    an integer of hundreds of digits). It stands in the parsed document so that the event
    holding it is quarantined instead of the whole push refused; ``literal`` is kept (cut
    short) for the quarantined copy."""

    rule: str
    literal: str


def _refuse_constant(literal: str) -> Unreadable:
    return Unreadable("not a finite number", literal)


def _read_float(literal: str) -> float | Unreadable:
    value = float(literal)
    return value if math.isfinite(value) else Unreadable("not a finite number", literal[:40])


def _read_int(literal: str) -> int | Unreadable:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        return Unreadable(f"an integer of more than {MAX_INT_DIGITS} digits", literal[:40])
    return int(literal)


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN_CLOSE = bytes.maketrans(b"[{]}", b"\x01\x01\x02\x02")
_DEPTH_STEP = (0, 1, -1)


def nesting_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, found without parsing it
    (brackets inside strings do not count): a cheap scan that runs before ``json.loads``, whose
    recursion a deep body would exhaust."""
    brackets = _STRINGS.sub(b"", body).translate(_OPEN_CLOSE, _NOT_BRACKETS)
    depth = deepest = 0
    for step in map(_DEPTH_STEP.__getitem__, brackets):
        depth += step
        deepest = max(deepest, depth)
    return deepest


def load(body: bytes) -> Any:
    """A request body as JSON, or ``NotJSON``: UTF-8, at most ``MAX_BODY_DEPTH`` deep.
    NaN, Infinity and overflowing numbers are read as ``Unreadable``, refused by ``check``."""
    if nesting_depth(body) > MAX_BODY_DEPTH:
        raise NotJSON(f"body: nested more than {MAX_BODY_DEPTH} deep")
    try:
        return json.loads(
            body,
            parse_constant=_refuse_constant,
            parse_float=_read_float,
            parse_int=_read_int,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise NotJSON("body: not JSON") from None


def dump_raw(document: Any) -> str:
    """A parsed document back as ASCII JSON text, whatever it holds: NUL and lone surrogates
    escaped (``\\u0000``, ``\\ud800``), so PostgreSQL stores it as text; unreadable literals as
    strings."""
    return json.dumps(
        document,
        ensure_ascii=True,
        separators=(",", ":"),
        default=lambda value: value.literal if isinstance(value, Unreadable) else repr(value),
    )


# ---------------------------------------------------------------- rules for any value


def text_problem(text: str, max_length: int = MAX_TEXT) -> str | None:
    """Why a text cannot be stored as it is, or None."""
    if "\x00" in text:
        return "text contains NUL"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text contains a lone surrogate"
    if len(text) > max_length:
        return f"text longer than {max_length} characters"
    return None


def key_label(key: str) -> str:
    """An object key as a path shows it: a plain identifier, or ``<key>`` (keys are data too)."""
    return key if _SAFE_KEY.fullmatch(key) else "<key>"


def check_tree(value: Any, path: str, max_depth: int, depth: int = 1) -> list[str]:
    """The rules every value obeys, wherever it is: texts and keys storable, numbers finite,
    integers within bigint, nesting at most ``max_depth``."""
    if isinstance(value, Unreadable):
        return [f"{path}: {value.rule}"]
    if isinstance(value, str):
        problem = text_problem(value)
        return [f"{path}: {problem}"] if problem else []
    if type(value) is int:
        return [] if -BIGINT_MAX - 1 <= value <= BIGINT_MAX else [f"{path}: integer out of range"]
    if not isinstance(value, dict | list):
        return []  # bool, None, finite float
    if depth > max_depth:
        return [f"{path}: nested more than {max_depth} deep"]
    problems: list[str] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            problems += check_tree(item, f"{path}[{index}]", max_depth, depth + 1)
        return problems
    for key, item in value.items():
        where = f"{path}.{key_label(key)}"
        problem = text_problem(key, MAX_KEY)
        if problem:
            problems.append(f"{where}: key {problem.removeprefix('text ')}")
        problems += check_tree(item, where, max_depth, depth + 1)
    return problems


# ---------------------------------------------------------------- declared fields


@dataclass(frozen=True)
class Int:
    """A JSON integer (never a bool, never 5.0 or "5") within [minimum, maximum]."""

    minimum: int
    maximum: int
    nullable: bool = False

    def problem(self, value: Any) -> str | None:
        if value is None and self.nullable:
            return None
        if type(value) is not int:
            return "an integer expected" + (" or null" if self.nullable else "")
        if value < self.minimum:
            return "below 0" if self.minimum == 0 else f"below {self.minimum}"
        if value > self.maximum:
            return f"above {self.maximum}"
        return None


@dataclass(frozen=True)
class Text:
    """A JSON string of ``min_length``..``max_length`` storable characters, matching
    ``pattern`` (ASCII classes only: "²" is no digit here) when there is one."""

    max_length: int
    min_length: int = 0
    pattern: str | None = None
    nullable: bool = False
    meaning: str = ""  # what the pattern asks for, in a refusal

    def problem(self, value: Any) -> str | None:
        if value is None and self.nullable:
            return None
        if not isinstance(value, str):
            return "a text expected" + (" or null" if self.nullable else "")
        problem = text_problem(value, self.max_length)
        if problem:
            return problem
        if len(value) < self.min_length:
            return "empty" if self.min_length == 1 else f"shorter than {self.min_length}"
        if self.pattern is not None and not re.fullmatch(self.pattern, value, re.ASCII):
            return f"{self.meaning or 'a text of another form'} expected"
        return None


@dataclass(frozen=True)
class Instant:
    """An ISO-8601 text with a time zone whose UTC instant falls in EARLIEST_YEAR..LATEST_YEAR."""

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return "an ISO-8601 text expected"
        return None if to_instant(value) is not None else _instant_rule(value)


@dataclass(frozen=True)
class Either:
    """One of several shapes (a kiosk sends the hub's prescription id as a number or a text)."""

    options: tuple[Int | Text, ...]
    nullable: bool = False

    def problem(self, value: Any) -> str | None:
        if value is None and self.nullable:
            return None
        problems = [option.problem(value) for option in self.options]
        return None if None in problems else " or ".join(p for p in problems if p)


Spec = Int | Text | Instant | Either


@dataclass(frozen=True)
class Shape:
    """An object's declared fields (others pass, under ``check_tree``'s rules)."""

    fields: Mapping[str, Spec]
    required: tuple[str, ...] = ()  # these must be present (fields or not: ``payload``)


def check(shape: Shape, document: Any, path: str) -> list[str]:
    """What in ``document`` breaks its shape's declared fields."""
    if not isinstance(document, dict):
        return [f"{path}: an object expected"]
    problems = [f"{path}.{name}: missing" for name in shape.required if name not in document]
    for name, spec in shape.fields.items():
        if name not in document:
            continue
        problem = spec.problem(document[name])
        if problem:
            problems.append(f"{path}.{name}: {problem}")
    return problems


def to_instant(text: str) -> datetime | None:
    """The UTC instant of an ISO-8601 text with a zone, within the years allowed, or None."""
    if len(text) > 40 or not text.isascii():
        return None
    try:
        instant = datetime.fromisoformat(text)
        if instant.tzinfo is None:
            return None
        utc = instant.astimezone(UTC)  # 9999-12-31T23:59-14:00 overflows here: refused
    except (ValueError, OverflowError):
        return None
    return utc if EARLIEST_YEAR <= utc.year <= LATEST_YEAR else None


def _instant_rule(text: str) -> str:
    try:
        instant = datetime.fromisoformat(text) if text.isascii() and len(text) <= 40 else None
    except ValueError:
        instant = None
    if instant is None:
        return "an ISO-8601 text expected"
    if instant.tzinfo is None:
        return "no time zone (use ...Z)"
    return f"not between {EARLIEST_YEAR} and {LATEST_YEAR} in UTC"


# ---------------------------------------------------------------- the requests

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_COUNT = Int(0, INTEGER_MAX, nullable=True)  # units, never below 0; fits LaneStock.stock

# POST /v1/provision
PROVISION = Shape({"code": Text(64, min_length=1)}, ("code",))

# GET /v1/sync/changes?cursor=N
PULL_QUERY = Shape(
    {"cursor": Text(18, min_length=1, pattern=r"[0-9]+", meaning="a non-negative integer")},
    ("cursor",),
)

# POST /v1/sync/events: the body, each event's envelope, and the payload fields the hub reads.
PUSH_BATCH = "events"  # a list of events; an event without a usable ``seq`` refuses the body
SEQ = Int(1, BIGINT_MAX)
EVENT = Shape(
    {
        "seq": SEQ,
        "id": Text(36, pattern=_UUID, meaning="a UUID"),
        "type": Text(100, min_length=1, pattern=r"[A-Za-z0-9_.:-]+", meaning="a dotted name"),
        "created_at": Instant(),
    },
    ("seq", "id", "type", "created_at", "payload"),
)
PAYLOAD = Shape(
    {
        "lane": Int(1, SMALLINT_MAX, nullable=True),
        "stock": _COUNT,
        "dropped": _COUNT,
        "units": _COUNT,
        "counted": _COUNT,
        "added": _COUNT,
        "expected": _COUNT,
        "medication_id": Int(0, INTEGER_MAX, nullable=True),
        "vend_id": Int(1, BIGINT_MAX, nullable=True),
        "prescription_hub_id": Either(
            (
                Int(1, BIGINT_MAX),
                Text(18, min_length=1, pattern=r"[0-9]+", meaning="the hub's numeric id"),
            ),
            nullable=True,
        ),
        "kind": Text(50, nullable=True),
        "alert_id": Int(1, BIGINT_MAX, nullable=True),  # alert.raised: the kiosk's own id
        "reason": Text(2000, nullable=True),
        "message": Text(2000, nullable=True),
        "subject": Text(200, nullable=True),
        "actor": Text(200, nullable=True),
        "from": Text(64, nullable=True),
        "to": Text(64, nullable=True),
        # Notices and doses given by hand (fleet.downtime; docs/SYNC.md): the record's uuid.
        "uuid": Text(36, pattern=_UUID, nullable=True, meaning="a UUID"),
        "notice": Text(36, pattern=_UUID, nullable=True, meaning="a UUID"),
        "source": Text(
            16,
            pattern=r"machine_lane|pharmacy_stock",
            nullable=True,
            meaning="machine_lane or pharmacy_stock",
        ),
    }
)
# The payload of ``update.state`` (docs/SYNC.md, "Software updates"): checked on top of PAYLOAD
# for that type only (another type's ``state`` or ``detail`` means something else).
UPDATE_STATES = (
    "running",
    "downloading",
    "downloaded",
    "refused",
    "staged",
    "switched",
    "healthy",
    "failed",
    "rolled_back",
)
_VERSION = r"[0-9A-Za-z.+-]+"
UPDATE_STATE = Shape(
    {
        "running": Text(64, min_length=1, pattern=_VERSION, meaning="a version"),
        "target": Text(64, min_length=1, pattern=_VERSION, meaning="a version", nullable=True),
        "state": Text(
            16, pattern="|".join(UPDATE_STATES), meaning="one of " + ", ".join(UPDATE_STATES)
        ),
        "campaign_id": Int(1, BIGINT_MAX, nullable=True),
        "detail": Text(200, nullable=True),
        "bytes": Int(0, BIGINT_MAX, nullable=True),
    },
    ("running", "state"),
)
PAYLOAD_BY_TYPE: dict[str, Shape] = {"update.state": UPDATE_STATE}

# The ``anchor`` object (fleet.anchors reads it with these).
ANCHOR_ENTRIES = Int(0, BIGINT_MAX)
ANCHOR_HEAD = Text(64, pattern=r"[0-9a-f]{64}", meaning="64 lowercase hex characters")


def event_problems(raw: dict[str, Any]) -> list[str]:
    """Everything that keeps one event (an object with a usable seq) from being stored."""
    problems = check(EVENT, raw, "event")
    payload = raw.get("payload")
    if "payload" in raw and not isinstance(payload, dict):
        problems.append("event.payload: an object expected")
    elif isinstance(payload, dict):
        problems += check(PAYLOAD, payload, "event.payload")
        type_ = raw.get("type")
        typed = PAYLOAD_BY_TYPE.get(type_) if isinstance(type_, str) else None
        if typed is not None:
            problems += check(typed, payload, "event.payload")
    problems += check_tree(raw, "event", MAX_EVENT_DEPTH)
    # One rule broken twice (declared and generic: a NUL in a reason) is said once.
    return [path.removeprefix("event.") for path in dict.fromkeys(problems)]


def reason(problems: list[str], at_most: int = 5) -> str:
    """A quarantine reason: paths and rules, the first few."""
    shown = "; ".join(problems[:at_most])
    return shown + (f"; and {len(problems) - at_most} more" if len(problems) > at_most else "")
