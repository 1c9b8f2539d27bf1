"""CSV downloads: streamed row by row (a year's register never sits whole in memory), written
by the csv module (it quotes commas, quotes and line breaks), with a header row.

- Formula injection: a text cell starting with = + - @ (or a tab or carriage return) is
  prefixed with ' so a spreadsheet shows it as text instead of running it (the kiosk's own
  export does the same, kiosk/services/reconciliation.py ``_cell``). Numbers are written as
  numbers: a negative difference stays -2, which a spreadsheet cannot run.
- Encoding: UTF-8 with a byte-order mark first. Excel on Windows reads a CSV without one in
  the local code page and garbles accented site and medication names; LibreOffice, pandas
  (encoding="utf-8-sig") and Python's csv read the mark fine.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as it is: numbers as they are, None empty, text guarded."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class _Echo:
    """A file the csv writer writes into that hands each line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield BOM + writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    out = StreamingHttpResponse(
        (line.encode("utf-8") for line in lines(header, rows)),
        content_type="text/csv; charset=utf-8",
    )
    out["Content-Disposition"] = f'attachment; filename="{filename}"'
    out["Cache-Control"] = "no-store"  # clinical data: never kept by a shared browser cache
    return out
