"""Free text as the kiosk keeps it: no control characters, no lone surrogates."""

from __future__ import annotations

import json

from kiosk.domain.text import clean_text, clean_values, holds_unwanted, needs_cleaning


def test_nul_and_other_controls_are_dropped_and_the_rest_is_kept() -> None:
    assert clean_text("counted\x00 twice ") == "counted twice"
    assert clean_text("\x00\x07\x1b[2Jok\x7f\x85") == "[2Jok"
    assert clean_text("  spot check  ") == "spot check"
    assert clean_text("first line\r\nsecond\tline\rthird") == "first line\nsecond\tline\nthird"


def test_lone_surrogates_are_dropped_real_characters_kept() -> None:
    text = "caf\u00e9 \ud800broken\udfff 💊 Zoë"
    cleaned = clean_text(text)
    assert cleaned == "café broken 💊 Zoë"
    cleaned.encode("utf-8")  # writable now


def test_ordinary_text_is_returned_as_is() -> None:
    text = "Recount after restock"
    assert clean_text(text) is text
    assert not needs_cleaning(text)
    assert clean_text("") == "" and clean_text("\x00") == ""


def test_json_like_values_are_cleaned_everywhere() -> None:
    payload = {"reason": "a\x00b", "n": 3, "list": ["x\ud800", 1.5, None], "k\x00": True}
    assert holds_unwanted(payload)
    cleaned = clean_values(payload)
    assert cleaned == {"reason": "ab", "n": 3, "list": ["x", 1.5, None], "k": True}
    assert not holds_unwanted(cleaned)
    assert "\\u0000" not in json.dumps(cleaned)
    assert payload["reason"] == "a\x00b"  # the argument is left alone
