"""A kiosk window fills its screen and never grows past it, with or without a window manager.

``showFullScreen()`` only asks a window manager for full screen; under cage it works, but on a
bare X server (no window manager, as docs/INSTALL.md allows) nobody answers and the window
keeps whatever size it had (720x1387 on a 1080x1920 screen). So the geometry is set to the
screen's explicitly, again whenever the screen changes, and the window's size is capped at
the screen: a page wider than the screen is squeezed (the real-display walk fails it) instead
of pushing the window, Log out and the idle screen's corner past the screen's edge.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QLayout, QWidget

# The windowed (desktop, demo) size: a half-size portrait kiosk, never larger than the screen.
WINDOWED = QSize(1080 // 2, 1920 // 2)


class ScreenFit(QObject):
    """Owned by the window it fits (a child QObject): lives and dies with it."""

    def __init__(self, window: QWidget, *, fullscreen: bool, windowed: QSize = WINDOWED) -> None:
        super().__init__(window)
        self._window = window
        self._fullscreen = fullscreen
        self._windowed = windowed
        self._screen: QScreen | None = None
        layout = window.layout()
        if layout is not None:
            # The screen sets the window's size, never its contents' minimum size.
            layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.primaryScreenChanged.connect(self._follow)
        self._follow(QGuiApplication.primaryScreen())

    @property
    def fullscreen(self) -> bool:
        return self._fullscreen

    def target(self) -> QRect:
        """Where the window belongs: the whole screen, or a window that fits on it."""
        screen = self._screen
        if screen is None:
            return QRect(0, 0, self._windowed.width(), self._windowed.height())
        if self._fullscreen:
            return screen.geometry()
        available = screen.availableGeometry()
        size = self._windowed.boundedTo(available.size())
        return QRect(available.topLeft(), size)

    def fit(self) -> None:
        rect = self.target()
        window = self._window
        window.setMinimumSize(0, 0)
        if self._screen is not None:
            limit = (
                self._screen.geometry() if self._fullscreen else self._screen.availableGeometry()
            )
            window.setMaximumSize(limit.size())
        if self._fullscreen:
            window.setGeometry(rect)
        else:
            window.resize(rect.size())

    def show(self) -> None:
        """Show the window fitted; full screen is also asked of a window manager, if any."""
        self.fit()
        if self._fullscreen:
            state = self._window.windowState() & ~Qt.WindowState.WindowMaximized
            self._window.setWindowState(state | Qt.WindowState.WindowFullScreen)
            self.fit()  # a window manager may move it; without one nobody else sets it
        self._window.show()

    def _follow(self, screen: QScreen | None) -> None:
        if self._screen is not None:
            self._screen.geometryChanged.disconnect(self._geometry_changed)
        self._screen = screen
        if screen is not None:
            screen.geometryChanged.connect(self._geometry_changed)
        if self._window.isVisible():
            self.fit()

    def _geometry_changed(self, _geometry: QRect) -> None:
        self.fit()
