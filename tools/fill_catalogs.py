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


PARTICIPANT_SOURCES = ("kiosk/ui/texts.py", "kiosk/ui/screens.py", "kiosk/ui/pinpad.py")


def participant_ids() -> set[object]:
    """Msgids that appear on a participant screen (from the template's locations)."""
    with Path("translations/kiosk.pot").open("rb") as handle:
        template = read_po(handle)
    return {
        m.id
        for m in template
        if m.id and any(path in PARTICIPANT_SOURCES for path, _line in m.locations)
    }


if __name__ == "__main__":
    from es import ES
    from pa import PA
    from zh_hant import ZH_HANT

    fill("en", None)
    missing = [("fr_CA", m) for m in fill("fr_CA", FR)]
    needed = participant_ids()
    for locale, table in (("es", ES), ("zh_Hant", ZH_HANT), ("pa", PA)):
        missing += [(locale, m) for m in fill(locale, table) if m in needed]
    for locale, message_id in missing:
        print(f"{locale}: untranslated {message_id!r}")
    sys.exit(1 if missing else 0)
