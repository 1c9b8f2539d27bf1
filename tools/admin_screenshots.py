"""``make screenshots`` for the admin panel: a demo machine, an admin logged in, each page."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from kiosk.app import build_admin_services, start_demo
from kiosk.services.seed import DEMO_ADMIN_PIN, DEMO_PHARMACIST_PIN
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.panel import AdminPanel
from kiosk.ui.background import Backend

LANDSCAPE = (1920, 1080)


def _settle(app: QCoreApplication, backend: Backend, seconds: float = 0.6) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end or backend.busy:
        app.processEvents()
        time.sleep(0.01)


def render_admin(out: Path) -> list[Path]:
    app = QApplication.instance() or QApplication(sys.argv)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="kiosk-shots-") as tmp:
        runtime = start_demo(Path(tmp), realistic_timing=False)
        services = build_admin_services(runtime)
        backend = Backend()
        runtime.store.raise_alert(
            "lane_jammed",
            "lane:2",
            "Lane 2 is jammed: staff must clear and reset it.",
            runtime.clock.now(),
        )

        out.mkdir(parents=True, exist_ok=True)
        done: set[str] = set()
        for pin in (DEMO_ADMIN_PIN, DEMO_PHARMACIST_PIN):  # together they see every page
            session = services.staff.login(pin)

            def context(show, session=session):  # type: ignore[no-untyped-def]
                return AdminContext(
                    services, backend, runtime.config.site, runtime.clock, session, show
                )

            panel = AdminPanel(context, lambda _reason: None)
            panel.resize(*LANDSCAPE)
            panel.show()
            for page in panel.pages:
                if page.key in done:
                    continue
                panel.open_page(page.key)
                _settle(app, backend)
                if page.key == "participants":
                    page.search.setText("P-0002")  # type: ignore[attr-defined]
                    page.activated()
                    _settle(app, backend)
                    page.results.selectRow(0)  # type: ignore[attr-defined]
                    _settle(app, backend)
                path = out / f"admin_{page.key}.png"
                panel.grab().save(str(path))
                written.append(path)
                done.add(page.key)
            panel.shutdown()
            panel.close()
        backend.shutdown()
        runtime.close()
    return written


if __name__ == "__main__":
    for shot in render_admin(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")):
        print(shot)
