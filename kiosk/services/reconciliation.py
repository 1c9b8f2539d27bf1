"""Daily reconciliation of controlled stock, per medication, for one dosing day, and its
export (with that day's dispense log) as CSV files to a folder staff choose (a USB stick).

The ledger of a lane and a medication: a restock or count sets the stock to what staff
found (plus what they added); returns, waste and confirmed drops take units out. The stock
at an instant is the last count before it carried forward by what moved since; before any
count it is derived backwards from the stock recorded now.

Per medication:
  opening           stock at the start of the dosing day
  restocked         units added by restocks that day
  dispensed         confirmed units of vends whose intent was created that day
  returned, wasted  units taken out that day
  by hand           units given by hand from a lane that day (downtime, docs/SYNC.md
                    "Manual doses"): they left the machine
  by hand, pharmacy units given by hand from the pharmacy's own stock: shown, never taken off
  expected closing  opening + restocked - dispensed - by hand - returned - wasted
  counted closing   None when no lane of it was counted that day; else the closing the
                    counts establish (each counted lane: its last count that day carried
                    forward; lanes not counted: their expected closing)
  balanced          False when any count that day disagreed with the record
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.domain.model import SiteClock
from kiosk.domain.permissions import Permission
from kiosk.domain.schedule import dosing_day_bounds
from kiosk.services.clock import Clock
from kiosk.services.errors import InvalidInput
from kiosk.services.staff import StaffService, StaffSession
from kiosk.store import manual_doses_repo, stock_repo
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.reconciliation")

RECONCILIATION_HEADER = (
    "dosing_day",
    "medication_id",
    "medication",
    "opening",
    "restocked",
    "dispensed",
    "returned",
    "wasted",
    "by_hand",
    "by_hand_pharmacy",
    "expected_closing",
    "counted_closing",
    "difference",
    "balanced",
)
DISPENSE_HEADER = (
    "time",
    "vend_id",
    "participant_code",
    "medication",
    "lane",
    "units",
    "dropped",
    "outcome",
    "witness_staff_id",
)


@dataclass(frozen=True)
class ReconciliationLine:
    medication_id: int
    medication: str
    opening: int
    restocked: int
    dispensed: int
    returned: int
    wasted: int
    expected_closing: int
    counted_closing: int | None
    balanced: bool
    lanes: tuple[int, ...]  # the lanes that held it
    by_hand: int = 0  # given by hand from its lanes (taken off the machine's books)
    by_hand_pharmacy: int = 0  # given by hand from the pharmacy's stock (shown only)

    @property
    def difference(self) -> int | None:
        """counted closing minus expected closing (None: not counted that day)."""
        if self.counted_closing is None:
            return None
        return self.counted_closing - self.expected_closing


@dataclass(frozen=True)
class _LaneDay:
    opening: int
    restocked: int
    dispensed: int
    returned: int
    wasted: int
    counted_closing: int | None
    balanced: bool
    by_hand: int = 0

    @property
    def expected_closing(self) -> int:
        return (
            self.opening
            + self.restocked
            - self.dispensed
            - self.by_hand
            - self.returned
            - self.wasted
        )


class ReconciliationService:
    def __init__(self, store: Store, clock: Clock, staff: StaffService) -> None:
        self._store = store
        self._clock = clock
        self._staff = staff

    def reconcile(
        self, session: StaffSession, day: date, site: SiteClock
    ) -> list[ReconciliationLine]:
        self._staff.require(session, Permission.RECONCILE)
        return self._lines(day, site)

    def export_csv(
        self, session: StaffSession, day: date, site: SiteClock, folder: Path
    ) -> list[Path]:
        """Write the reconciliation and the day's dispense log (participant codes, never
        names) into ``folder``, each atomically. InvalidInput('folder') when the folder
        cannot be written (missing, read-only, full): nothing half-written is left."""
        self._staff.require(session, Permission.RECONCILE)
        lines = self._lines(day, site)
        bounds = dosing_day_bounds(day, site)
        entries = stock_repo.dispense_log(self._store, bounds.start, bounds.end)
        zone = ZoneInfo(site.timezone)
        reconciliation = _csv(
            RECONCILIATION_HEADER,
            [
                (
                    day.isoformat(),
                    line.medication_id,
                    _cell(line.medication),
                    line.opening,
                    line.restocked,
                    line.dispensed,
                    line.returned,
                    line.wasted,
                    line.by_hand,
                    line.by_hand_pharmacy,
                    line.expected_closing,
                    _blank(line.counted_closing),
                    _blank(line.difference),
                    "yes" if line.balanced else "no",
                )
                for line in lines
            ],
        )
        dispenses = _csv(
            DISPENSE_HEADER,
            [
                (
                    e.at.astimezone(zone).isoformat(timespec="seconds"),
                    e.vend_id,
                    _cell(e.participant_code),
                    _cell(e.medication),
                    e.lane,
                    e.units,
                    _blank(e.dropped),
                    _cell(e.outcome or ""),
                    _blank(e.witness_staff_id),
                )
                for e in entries
            ],
        )
        files = {
            f"reconciliation-{day.isoformat()}.csv": reconciliation,
            f"dispenses-{day.isoformat()}.csv": dispenses,
        }
        paths = _write_atomically(folder, files)
        self._store.note(
            self._clock.now(),
            session.actor,
            "reconciliation.exported",
            f"day:{day.isoformat()}",
            {"files": sorted(files), "medications": len(lines), "vends": len(entries)},
        )
        log.info(
            "reconciliation of %s exported by staff %d (%d vends)",
            day.isoformat(),
            session.staff_id,
            len(entries),
        )
        return paths

    # ------------------------------------------------------------ the ledger

    def _lines(self, day: date, site: SiteClock) -> list[ReconciliationLine]:
        bounds = dosing_day_bounds(day, site)
        names = stock_repo.medication_texts(self._store)
        held_now = {
            lane.lane: lane.medication_id for lane in self._store.lanes() if lane.medication_id
        }
        per_medication: dict[int, list[tuple[int, _LaneDay]]] = {}
        for lane, medication_id in stock_repo.ledger_lanes(self._store, bounds.end):
            lane_day = self._lane_day(lane, medication_id, bounds.start, bounds.end)
            per_medication.setdefault(medication_id, []).append((lane, lane_day))
        lines = []
        for medication_id, lane_days in sorted(per_medication.items()):
            days = [d for _, d in lane_days]
            in_use = any(held_now.get(lane) == medication_id for lane, _ in lane_days)
            if not in_use and not any(
                d.opening
                or d.restocked
                or d.dispensed
                or d.returned
                or d.wasted
                or d.by_hand
                or d.counted_closing is not None
                for d in days
            ):
                continue  # a medication gone from the machine before that day
            counted = [d for d in days if d.counted_closing is not None]
            lines.append(
                ReconciliationLine(
                    medication_id=medication_id,
                    medication=names.get(medication_id, str(medication_id)),
                    opening=sum(d.opening for d in days),
                    restocked=sum(d.restocked for d in days),
                    dispensed=sum(d.dispensed for d in days),
                    returned=sum(d.returned for d in days),
                    wasted=sum(d.wasted for d in days),
                    expected_closing=sum(d.expected_closing for d in days),
                    counted_closing=(
                        sum(
                            d.expected_closing if d.counted_closing is None else d.counted_closing
                            for d in days
                        )
                        if counted
                        else None
                    ),
                    balanced=all(d.balanced for d in days),
                    lanes=tuple(sorted(lane for lane, _ in lane_days)),
                    by_hand=sum(d.by_hand for d in days),
                    by_hand_pharmacy=manual_doses_repo.pharmacy_units(
                        self._store.conn, medication_id, bounds.start, bounds.end
                    ),
                )
            )
        return lines

    def _lane_day(self, lane: int, medication_id: int, start: datetime, end: datetime) -> _LaneDay:
        moves = stock_repo.movements(
            self._store, lane=lane, medication_id=medication_id, start=start, end=end
        )
        counts = [m for m in moves if m.is_count]
        return _LaneDay(
            opening=self._stock_at(lane, medication_id, start),
            restocked=sum(m.units for m in moves if m.kind == "restock"),
            dispensed=stock_repo.dispensed_units(self._store, lane, medication_id, start, end),
            returned=-sum(m.units for m in moves if m.kind == "return"),
            wasted=-sum(m.units for m in moves if m.kind == "waste"),
            counted_closing=self._stock_at(lane, medication_id, end) if counts else None,
            balanced=all(m.agrees for m in counts),
            by_hand=manual_doses_repo.lane_units(self._store.conn, lane, medication_id, start, end),
        )

    def _stock_at(self, lane: int, medication_id: int, instant: datetime) -> int:
        """The stock of a medication in a lane just before ``instant``."""
        count = stock_repo.last_count_before(self._store, lane, medication_id, instant)
        if count is not None and count.counted_stock is not None:
            after = stock_repo.movements(
                self._store,
                lane=lane,
                medication_id=medication_id,
                end=instant,
                after_id=count.id,
            )
            dropped = stock_repo.dispensed_units(
                self._store, lane, medication_id, count.at, instant
            ) + manual_doses_repo.lane_units(
                self._store.conn, lane, medication_id, count.at, instant
            )
            return count.counted_stock + sum(m.delta for m in after) - dropped
        # Never counted before: back from what the record holds now.
        record = next((r for r in self._store.lanes() if r.lane == lane), None)
        now = record.stock if record is not None and record.medication_id == medication_id else 0
        since = stock_repo.movements(
            self._store, lane=lane, medication_id=medication_id, start=instant
        )
        dropped = stock_repo.dispensed_units(
            self._store, lane, medication_id, instant
        ) + manual_doses_repo.lane_units(self._store.conn, lane, medication_id, instant)
        return now - sum(m.delta for m in since) + dropped


# ---------------------------------------------------------------- CSV files


def _blank(value: int | None) -> int | str:
    return "" if value is None else value


def _cell(text: str) -> str:
    """Text a spreadsheet must not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _write_atomically(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Write every file beside its final name, fsync, then rename: a pulled stick or a full
    disk leaves the old files or the new ones, never half of one."""
    temps: list[Path] = []
    try:
        if not folder.is_dir():
            raise NotADirectoryError(str(folder))
        for name, data in files.items():
            tmp = folder / f".{name}.tmp"
            temps.append(tmp)
            with tmp.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        paths = []
        for (name, _data), tmp in zip(files.items(), temps, strict=True):
            final = folder / name
            os.replace(tmp, final)
            paths.append(final)
        _fsync_folder(folder)
    except OSError as exc:
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        log.warning("export failed: %s", type(exc).__name__)
        raise InvalidInput("folder", exc.strerror or type(exc).__name__) from exc
    return paths


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some file systems (FAT on a stick) cannot open a directory: best effort
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
