"""Colours, sizes, palette and style of every window: high contrast, big type, big targets.

``application()`` is the one way a process gets its QApplication: the Fusion style, the
explicit dark palette below and the kiosk's fonts, on every platform (xcb, wayland, eglfs,
offscreen). Without it a real X display shows Qt's default light palette behind widgets that
paint no background of their own (white staff text on light grey).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

BACKGROUND = "#0A0A0A"
TEXT = "#FFFFFF"
MUTED_TEXT = "#E6E6E6"
ACCENT = "#FFD84D"  # attention: yellow on black
GOOD = "#7CFFB2"
BUTTON_BG = "#1F1F1F"
BUTTON_TEXT = "#FFFFFF"
BUTTON_BORDER = "#FFFFFF"

# The staff side (admin panel, setup wizard): light text on a dark blue-grey, white fields.
STAFF_BACKGROUND = "#101418"
STAFF_PANEL = "#1B2129"
STAFF_BUTTON_BG = "#1F2833"
FIELD_BG = "#FFFFFF"
FIELD_TEXT = "#000000"
PLACEHOLDER_TEXT = "#4D4D4D"
DISABLED_TEXT = "#A3A9B1"
LINK = "#8FD0FF"

HEADLINE_PT = 44
DETAIL_PT = 30
BUTTON_PT = 30
STAFF_PT = 24
STAFF_BODY_PT = 18  # the application font: anything no stylesheet sizes is still readable
MIN_TOUCH_PX = 120
COMPACT_TOUCH_PX = 96  # where a screen holds many controls (the door lockout's steps)
STAFF_TOUCH_PX = 64  # staff targets (the walk demands 60)

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
QLabel#notice {{
    color: {TEXT}; font-size: {DETAIL_PT}pt; border: 3px solid {ACCENT}; border-radius: 16px;
    padding: 24px;
}}
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


def palette() -> QPalette:
    """High contrast and dark, like the screens: white on near-black, black on white fields,
    yellow selection. Disabled text stays readable (≥ 4.5:1 on the staff background)."""
    pal = QPalette()
    role = QPalette.ColorRole
    colours = {
        role.Window: BACKGROUND,
        role.WindowText: TEXT,
        role.Base: FIELD_BG,
        role.AlternateBase: "#E8ECF0",
        role.Text: FIELD_TEXT,
        role.PlaceholderText: PLACEHOLDER_TEXT,
        role.Button: STAFF_BUTTON_BG,
        role.ButtonText: TEXT,
        role.BrightText: ACCENT,
        role.Highlight: ACCENT,
        role.HighlightedText: FIELD_TEXT,
        role.ToolTipBase: FIELD_BG,
        role.ToolTipText: FIELD_TEXT,
        role.Link: LINK,
        role.LinkVisited: LINK,
        role.Light: "#5C6673",
        role.Midlight: "#3A434E",
        role.Mid: "#2A313A",
        role.Dark: "#06080A",
        role.Shadow: "#000000",
    }
    for colour_role, colour in colours.items():
        pal.setColor(colour_role, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for colour_role in (role.WindowText, role.ButtonText):
        pal.setColor(disabled, colour_role, QColor(DISABLED_TEXT))
    pal.setColor(disabled, role.Text, QColor("#595959"))  # on a disabled (light grey) field
    pal.setColor(disabled, role.Base, QColor("#D9D9D9"))
    pal.setColor(disabled, role.Highlight, QColor("#8A8F98"))
    return pal


def font() -> QFont:
    app_font = QFont()
    app_font.setFamilies(list(FONT_FAMILIES))
    app_font.setPointSize(STAFF_BODY_PT)
    return app_font


def apply(app: QApplication) -> None:
    """The Fusion style, the palette and the fonts, for the whole application."""
    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
    app.setPalette(palette())
    app.setFont(font())


def application(argv: Sequence[str] | None = None, *, keyboard: bool = False) -> QApplication:
    """The process's QApplication (made once), themed. Every entry point calls this; the
    kiosk's own (``kiosk run``, ``kiosk smoke``, the setup wizard) with ``keyboard``: the
    on-screen keyboard for staff text fields (``kiosk.ui.keyboard``)."""
    # Qt notes, on every start, that Noto Sans has no Gurmukhi before it falls back to
    # Noto Sans Gurmukhi: noise in the journal, not a fault.
    os.environ.setdefault("QT_LOGGING_RULES", "qt.text.font.db=false")
    args = list(sys.argv if argv is None else argv)
    if keyboard:
        from kiosk.ui.keyboard import application as with_keyboard

        app = with_keyboard(args)
    else:
        existing = QApplication.instance()
        app = existing if isinstance(existing, QApplication) else QApplication(args)
    apply(app)
    return app
