"""Colours and sizes of the participant screens: high contrast, big type, big targets."""

from __future__ import annotations

BACKGROUND = "#0A0A0A"
TEXT = "#FFFFFF"
MUTED_TEXT = "#E6E6E6"
ACCENT = "#FFD84D"  # attention: yellow on black
GOOD = "#7CFFB2"
BUTTON_BG = "#1F1F1F"
BUTTON_TEXT = "#FFFFFF"
BUTTON_BORDER = "#FFFFFF"

HEADLINE_PT = 44
DETAIL_PT = 30
BUTTON_PT = 30
STAFF_PT = 24
MIN_TOUCH_PX = 120

TONE_COLOURS = {"neutral": TEXT, "good": GOOD, "attention": ACCENT}

# Noto covers Latin, Traditional Chinese and Gurmukhi (Debian: fonts-noto-core,
# fonts-noto-cjk); DejaVu is the last resort. No glyph may show as a box.
FONT_FAMILIES = ("Noto Sans", "Noto Sans CJK TC", "Noto Sans Gurmukhi", "DejaVu Sans")
_FAMILY_CSS = ", ".join(f'"{family}"' for family in FONT_FAMILIES)

STYLESHEET = f"""
QWidget#participantRoot {{ background: {BACKGROUND}; }}
QWidget#participantRoot QWidget {{ font-family: {_FAMILY_CSS}; }}
QLabel {{ color: {TEXT}; }}
QLabel#detail {{ color: {MUTED_TEXT}; font-size: {DETAIL_PT}pt; }}
QLabel#headline {{ font-size: {HEADLINE_PT}pt; font-weight: 600; }}
QLabel#staffNote {{ color: {MUTED_TEXT}; font-size: {STAFF_PT}pt; }}
QLabel#clock {{ color: {MUTED_TEXT}; font-size: {DETAIL_PT}pt; }}
QPushButton {{
    background: {BUTTON_BG}; color: {BUTTON_TEXT}; border: 3px solid {BUTTON_BORDER};
    border-radius: 16px; font-size: {BUTTON_PT}pt; padding: 12px 28px;
    min-height: {MIN_TOUCH_PX}px; min-width: {MIN_TOUCH_PX}px;
}}
QPushButton:checked {{ background: {TEXT}; color: {BACKGROUND}; }}
QProgressBar {{
    border: 3px solid {TEXT}; border-radius: 12px; background: {BACKGROUND};
    min-height: 48px; color: {TEXT}; font-size: {DETAIL_PT}pt; text-align: center;
}}
QProgressBar::chunk {{ background: {GOOD}; border-radius: 8px; }}
"""
