"""Fill catalogs from a small table (used while the project has no translation platform).

English is the source language: its catalog copies each msgid. French comes from FR below.
Run `make extract` first, then this, then `make translations`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).parent))
from fr_ca import FR


def fill(locale: str, table: dict[object, object] | None) -> list[object]:
    path = Path("translations") / locale / "LC_MESSAGES" / "kiosk.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        if table is None:
            message.string = message.id
        elif message.id in table:
            message.string = table[message.id]
        elif not message.string:
            missing.append(message.id)
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False)
    return missing


if __name__ == "__main__":
    fill("en", None)
    left = fill("fr", FR)
    for message_id in left:
        print(f"fr: untranslated {message_id!r}")
    sys.exit(1 if left else 0)
