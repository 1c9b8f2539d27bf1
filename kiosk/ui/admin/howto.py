"""The How-to panel: the open page's help (kiosk/help), over the page, for staff standing at
the machine: large type, black on white, scrolled by dragging a finger, one big Close."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScroller,
    QTextBrowser,
    QVBoxLayout,
)

from kiosk import help as howtos
from kiosk.i18n import _, current_locale
from kiosk.ui import theme

TEXT_PT = 22
MAX_TEXT_PX = 1300  # lines short enough to follow on a landscape screen
# Qt's rich text: headings a step above the text, steps spaced for a finger to follow.
DOCUMENT_STYLE = f"""
h1 {{ font-size: {TEXT_PT + 8}pt; font-weight: 700; }}
h2 {{ font-size: {TEXT_PT + 2}pt; font-weight: 700; margin-top: 18px; }}
li {{ margin-bottom: 10px; }}
p.when {{ margin-bottom: 12px; }}
"""
STYLE = f"""
QTextBrowser#howToText {{ background: #FFFFFF; color: #000000; font-size: {TEXT_PT}pt;
    padding: 12px; border: 2px solid #FFFFFF; border-radius: 10px; }}
QPushButton#howToClose {{ background: {theme.ACCENT}; color: #000000;
    border-color: {theme.ACCENT}; min-height: {theme.STAFF_TOUCH_PX}px; }}
"""


def no_help_html() -> str:
    return "<p>{}</p>".format(_("There is no help for this page yet."))


class HowToPanel(QFrame):
    """One page's help; ``show_topic`` fills it, Close hands back to the page."""

    def __init__(self, on_close: Callable[[], None]) -> None:
        super().__init__()
        self.setObjectName("howTo")
        self.setStyleSheet(STYLE)
        self.key = ""
        self.text = QTextBrowser()
        self.text.setObjectName("howToText")
        self.text.setOpenLinks(False)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.text.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.text.document().setDefaultStyleSheet(DOCUMENT_STYLE)
        # A finger drags the text up and down (the scroll bar is there too, a finger wide).
        QScroller.grabGesture(
            self.text.viewport(), QScroller.ScrollerGestureType.LeftMouseButtonGesture
        )
        self.close_button = QPushButton(_("Close"))
        self.close_button.setObjectName("howToClose")
        self.close_button.clicked.connect(lambda _checked=False: on_close())
        self.text.setMaximumWidth(MAX_TEXT_PX)
        row = QHBoxLayout()  # the text as wide as it may be, centred
        row.addStretch(1)
        row.addWidget(self.text, 100)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row, 1)
        layout.addWidget(self.close_button)

    def show_topic(self, key: str) -> None:
        self.key = key
        try:
            markup = howtos.howto_html(howtos.howto(key, current_locale()))
        except (KeyError, howtos.HelpTextError):
            markup = no_help_html()  # a page without a good help file (the tests refuse one)
        self.text.setHtml(markup)
        self.text.verticalScrollBar().setValue(0)
