"""Qt's own standard strings (dialog buttons, context menus) follow the kiosk's language."""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QTranslator

log = logging.getLogger("kiosk.i18n")

# Qt names its catalogs by language (and region for Chinese): our locale -> Qt's.
QT_NAMES = {"fr_CA": "fr", "zh_Hant": "zh_TW"}


class QtTranslations:
    def __init__(self) -> None:
        self._installed: QTranslator | None = None

    def apply(self, locale: str) -> bool:
        app = QCoreApplication.instance()
        if app is None:
            return False
        if self._installed is not None:
            app.removeTranslator(self._installed)
            self._installed = None
        name = QT_NAMES.get(locale, locale)
        translator = QTranslator(app)
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if not translator.load(f"qtbase_{name}", folder):
            if name != "en":
                log.info("no Qt catalog for %s: Qt's own strings stay English", locale)
            return False
        app.installTranslator(translator)
        self._installed = translator
        return True
