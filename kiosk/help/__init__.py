"""The staff help texts ("How to"): one TOML file a topic in this folder, in English and
French (Canada), read by the admin panel's How-to panel and by the operations manual
(``make manual``, tools/manual.py). One source: the panel and the manual never differ.

A file is named after its admin page's key (``alerts.toml`` for ``AlertsPage.key``); a topic
that is no page (``login.toml``) appears in the manual only. Its layout::

    order = 10                      # its chapter's place in the manual
    screenshot = "pin_pad"          # optional: the manual's picture (default: the key's)
    [en]
    title = "Alerts"                # the page's own title
    when = "..."                    # when staff need this page
    problems = [["what you see", "what to do"], ...]
    [[en.tasks]]                    # one or more tasks, each a title and numbered steps
    title = "..."
    steps = ["...", "..."]
    [fr_CA]                         # the same, in French, with as many tasks, steps, problems

Inside the text ``**Acknowledge selected**`` is a word on the screen (a button, a field, a
page), written exactly as the kiosk shows it in that language: tests/help checks each one
against the catalogs, so the help cannot name a button that does not exist.
"""

from __future__ import annotations

import html
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kiosk.i18n import N_, _

HELP_DIR = Path(__file__).resolve().parent
LOCALES = ("en", "fr_CA")  # the staff languages; any other falls back to English
FALLBACK = "en"
SCREEN_WORD = re.compile(r"\*\*(.+?)\*\*")
# The headings every help text shares (translated by the reader with _()).
WHEN = N_("When:")
PROBLEMS = N_("If it goes wrong")
# The printed manual's own words (tools/manual.py).
MANUAL_TITLE = N_("Operations manual")
MANUAL_INTRO = N_(
    "For the staff at the machine. Each chapter is one page of the staff panel: the same "
    "text its How to button shows. Words in bold are the words on the screen."
)
CONTENTS = N_("Contents")
WHO_CAN = N_("Who can open this page: {roles}.")
EVERY_ROLE = N_("every role")


class HelpTextError(ValueError):
    """A help file that does not have the layout above."""


@dataclass(frozen=True)
class Task:
    title: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    seen: str  # what staff see
    fix: str  # what to do


@dataclass(frozen=True)
class HowTo:
    key: str
    locale: str
    order: int
    title: str
    when: str
    tasks: tuple[Task, ...]
    problems: tuple[Problem, ...]


def _text(table: dict[str, object], name: str, where: str) -> str:
    value = table.get(name)
    if not isinstance(value, str) or not value.strip():
        raise HelpTextError(f"{where}: {name} must be a non-empty string")
    return value.strip()


def _texts(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise HelpTextError(f"{where}: a non-empty list of strings expected")
    return tuple(str(v).strip() for v in value)


def _parse(key: str, locale: str, order: int, table: object) -> HowTo:
    where = f"{key}.toml [{locale}]"
    if not isinstance(table, dict):
        raise HelpTextError(f"{where} is missing")
    tasks_raw = table.get("tasks")
    if not isinstance(tasks_raw, list) or not tasks_raw:
        raise HelpTextError(f"{where}: at least one [[{locale}.tasks]]")
    tasks = []
    for number, task in enumerate(tasks_raw, 1):
        if not isinstance(task, dict):
            raise HelpTextError(f"{where}: task {number} is not a table")
        steps = _texts(task.get("steps"), f"{where} task {number}")
        tasks.append(Task(_text(task, "title", where), steps))
    problems = []
    for pair in table.get("problems", []):
        texts = _texts(pair, f"{where} problems")
        if len(texts) != 2:
            raise HelpTextError(f"{where}: a problem is [what staff see, what to do]")
        problems.append(Problem(*texts))
    return HowTo(
        key=key,
        locale=locale,
        order=order,
        title=_text(table, "title", where),
        when=_text(table, "when", where),
        tasks=tuple(tasks),
        problems=tuple(problems),
    )


@cache
def _read(key: str) -> dict[str, object]:
    path = HELP_DIR / f"{key}.toml"
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise KeyError(key) from None
    except tomllib.TOMLDecodeError as exc:
        raise HelpTextError(f"{path.name}: {exc}") from exc


def topics() -> tuple[str, ...]:
    """Every help topic (page keys and manual-only topics), in the manual's order."""
    keys = [path.stem for path in HELP_DIR.glob("*.toml")]
    return tuple(sorted(keys, key=lambda key: (_order(key), key)))


def _order(key: str) -> int:
    order = _read(key).get("order", 1000)
    if not isinstance(order, int):
        raise HelpTextError(f"{key}.toml: order must be a whole number")
    return order


def screenshot_name(key: str) -> str:
    """The name of the screenshot the manual shows with ``key`` (docs/screenshots/.../staff)."""
    name = _read(key).get("screenshot", key)
    if not isinstance(name, str) or not name:
        raise HelpTextError(f"{key}.toml: screenshot must be a file name")
    return name


def has_howto(key: str) -> bool:
    return (HELP_DIR / f"{key}.toml").is_file()


def howto(key: str, locale: str) -> HowTo:
    """The help of ``key`` in ``locale`` (English for a language staff texts are not in).
    KeyError when there is none."""
    data = _read(key)
    chosen = locale if locale in LOCALES else FALLBACK
    return _parse(key, chosen, _order(key), data.get(chosen))


def screen_words(text: str) -> list[str]:
    """The words on the screen a text names (``**Save prescription**``)."""
    return SCREEN_WORD.findall(text)


def inline_html(text: str) -> str:
    """Escaped text, a word on the screen in bold."""
    return SCREEN_WORD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def howto_html(topic: HowTo, *, heading: str = "h1") -> str:
    """The help as an HTML fragment (Qt's rich-text subset, so the panel and the manual
    render the same markup), its headings in the active language."""
    sub = "h2" if heading == "h1" else "h3"
    parts = [f"<{heading}>{html.escape(topic.title)}</{heading}>"]
    parts.append(f'<p class="when"><b>{html.escape(_(WHEN))}</b> {inline_html(topic.when)}</p>')
    for task in topic.tasks:
        parts.append(f"<{sub}>{inline_html(task.title)}</{sub}>")
        steps = "".join(f"<li>{inline_html(step)}</li>" for step in task.steps)
        parts.append(f"<ol>{steps}</ol>")
    if topic.problems:
        parts.append(f"<{sub}>{html.escape(_(PROBLEMS))}</{sub}>")
        rows = "".join(
            f"<li><b>{inline_html(p.seen)}</b><br>{inline_html(p.fix)}</li>" for p in topic.problems
        )
        parts.append(f'<ul class="problems">{rows}</ul>')
    return "\n".join(parts)
