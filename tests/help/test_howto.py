"""The staff help texts (kiosk/help): one for every admin page, in English and French, the
same shape in both, and every word on the screen they name is a real one, translated."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk import help as howtos
from kiosk.ui.admin.pages import page_classes

CATALOGS = Path(__file__).resolve().parents[2] / "translations"
PAGE_KEYS = [cls.key for cls in page_classes()]


@cache
def french() -> dict[str, str]:
    """Every single msgid of the kiosk and its fr_CA wording."""
    with (CATALOGS / "fr_CA" / "LC_MESSAGES" / "kiosk.po").open("rb") as handle:
        catalog = read_po(handle, locale="fr_CA")
    return {m.id: m.string for m in catalog if isinstance(m.id, str) and m.id}


def texts(topic: howtos.HowTo) -> list[str]:
    """Every piece of text, in order: the same positions in every language."""
    out = [topic.title, topic.when]
    for task in topic.tasks:
        out += [task.title, *task.steps]
    for problem in topic.problems:
        out += [problem.seen, problem.fix]
    return out


@pytest.mark.parametrize("key", PAGE_KEYS)
def test_every_admin_page_has_a_howto_in_every_staff_language(key: str) -> None:
    assert howtos.has_howto(key), f"the {key} page has no How-to: add kiosk/help/{key}.toml"
    for locale in howtos.LOCALES:
        topic = howtos.howto(key, locale)
        assert topic.locale == locale
        assert topic.tasks and all(task.steps for task in topic.tasks)


@pytest.mark.parametrize("key", howtos.topics())
def test_french_has_the_shape_of_english(key: str) -> None:
    english, french_topic = howtos.howto(key, "en"), howtos.howto(key, "fr_CA")
    assert [len(t.steps) for t in french_topic.tasks] == [len(t.steps) for t in english.tasks]
    assert len(french_topic.problems) == len(english.problems)
    assert texts(french_topic) != texts(english), f"{key}: the French is a copy of the English"


@pytest.mark.parametrize("key", howtos.topics())
def test_every_word_on_the_screen_is_real_and_translated(key: str) -> None:
    """``**Acknowledge selected**`` must be a string of the kiosk (so the help names a real
    button), and the French text at the same place must name its French wording."""
    words = french()
    english, french_topic = howtos.howto(key, "en"), howtos.howto(key, "fr_CA")
    for en_text, fr_text in zip(texts(english), texts(french_topic), strict=True):
        named = howtos.screen_words(en_text)
        unknown = [word for word in named if word not in words]
        assert not unknown, f"{key}: not a word of the kiosk's screens: {unknown}"
        assert sorted(howtos.screen_words(fr_text)) == sorted(words[w] for w in named), (
            f"{key}: the French names other screen words than the English:\n{en_text}\n{fr_text}"
        )


def test_topics_run_in_the_manuals_order_and_include_every_page() -> None:
    topics = howtos.topics()
    assert topics[0] == "login"
    assert set(PAGE_KEYS) <= set(topics)
    orders = [howtos.howto(key, "en").order for key in topics]
    assert orders == sorted(orders)


def test_a_language_without_staff_texts_reads_english() -> None:
    assert howtos.howto("alerts", "es") == howtos.howto("alerts", "en")


def test_a_missing_topic_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        howtos.howto("no-such-page", "en")


@pytest.mark.parametrize(
    "table",
    [
        None,
        {"title": "T", "when": "W"},
        {"title": "T", "when": "W", "tasks": [{"title": "x", "steps": []}]},
        {"title": "", "when": "W", "tasks": [{"title": "x", "steps": ["s"]}]},
        {"title": "T", "when": "W", "tasks": [{"title": "x", "steps": ["s"]}], "problems": [["a"]]},
    ],
)
def test_a_help_file_without_the_layout_is_refused_clearly(table: object) -> None:
    with pytest.raises(howtos.HelpTextError):
        howtos._parse("broken", "en", 1, table)


def test_html_escapes_the_text_and_bolds_screen_words() -> None:
    assert howtos.inline_html("Press **OK** <now> & go") == "Press <b>OK</b> &lt;now&gt; &amp; go"
    markup = howtos.howto_html(howtos.howto("alerts", "en"))
    assert markup.startswith("<h1>Alerts</h1>")
    assert "<b>Acknowledge selected</b>" in markup
    assert "If it goes wrong" in markup
