# The two commands a newcomer runs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-xcb setup lint typecheck contracts translations extract screenshots manual bench soak package package-debug package-test clean hub

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) translations node_modules/.package-lock.json

# axe-core for the hub's browser tests (tests/web): package.json / package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Compile the Babel catalogs (.mo files are built, never committed).
translations: $(STAMP)
	$(VENV)/bin/pybabel compile -d translations -D kiosk --statistics

# Re-extract the strings and merge them into every catalog (then translate, then compile).
extract: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _ -k ngettext:1,2 -k N_ \
		--sort-output --project kiosk -o translations/kiosk.pot .
	$(VENV)/bin/pybabel update -i translations/kiosk.pot -d translations -D kiosk --no-fuzzy-matching

run: setup
	$(VENV)/bin/kiosk demo

lint: $(STAMP)
	$(VENV)/bin/ruff check kiosk hardware tests tools bench hub
	$(VENV)/bin/ruff format --check kiosk hardware tests tools bench hub

typecheck: $(STAMP)
	$(VENV)/bin/mypy

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

test: setup lint typecheck contracts
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# The UI tests on Qt's real X11 platform (xcb) under a private Xvfb (pytest-xvfb, 1080x1920).
test-xcb: setup
	QT_QPA_PLATFORM=xcb $(PY) -m pytest -q tests/ui

# The real-display walk (tools/display_walk.py) on Xvfb + xcb at both kiosk sizes: every
# participant, staff, PIN pad and setup screen, checked, saved under docs/screenshots/.
screenshots: setup
	rm -rf docs/screenshots/portrait docs/screenshots/landscape
	$(PY) -m tools.xvfb 1080x1920 -- $(PY) -m tools.display_walk --out docs/screenshots
	$(PY) -m tools.xvfb 1920x1080 -- $(PY) -m tools.display_walk --out docs/screenshots

# The operations manual from the staff How-to texts (kiosk/help): build/manual/<locale>/
# manual.html and build/manual/manual-<locale>.pdf, English and French, printed by Debian's
# headless Chromium (HTML only without it). `PAPER=a4 make manual` for A4 (default: Letter).
PAPER ?= letter
manual: translations
	$(PY) -m tools.manual --out build/manual --paper $(PAPER)

# dist/kiosk/ (onedir); kiosk/_build.txt carries the commit and UTC date `kiosk --version` shows.
# PYTHONHASHSEED=0: the same sources give the same files (base_library.zip's order), so a
# release that changes only our code changes only our files (docs/UPDATES.md).
package: setup
	echo "$$(git rev-parse --short HEAD 2>/dev/null || echo nogit) $$(date -u +%Y-%m-%dT%H:%MZ)" \
		> kiosk/_build.txt
	PYTHONHASHSEED=0 $(VENV)/bin/pyinstaller --noconfirm build_kiosk.spec

# dist/kiosk-debug/: the same, logging at DEBUG.
package-debug: setup
	echo "$$(git rev-parse --short HEAD 2>/dev/null || echo nogit) $$(date -u +%Y-%m-%dT%H:%MZ) debug" \
		> kiosk/_build.txt
	KIOSK_DEBUG_BUILD=1 PYTHONHASHSEED=0 $(VENV)/bin/pyinstaller --noconfirm build_kiosk.spec

# The frozen update test (not in `make test`): two real PyInstaller builds that differ only in
# our code, published to a live hub (PostgreSQL); the frozen v1 updates itself to v2 under the
# real launcher through a campaign. Prints the bundle size and the bytes a code-only release
# transfers (goal < 10 MB). About 2-3 minutes on 2 cores.
package-test: setup
	KIOSK_PACKAGE_TEST=1 $(PY) -m pytest -q -s tests/package/test_frozen_update.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

# Figures, not pass/fail: decision latency, encryption cost, finger-to-unit, GUI stalls, the
# hub's push latency/ingest rate/load run (BENCH_HUB_SECONDS=10 for a quick one).
bench: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m bench.bench_kiosk
	$(PY) -m bench.bench_sync
	$(PY) -m bench.bench_hub
	$(PY) -m bench.bench_care
	$(PY) -m bench.bench_oncall
	$(PY) -m bench.bench_updates
	$(PY) -m bench.bench_approval
	QT_QPA_PLATFORM=offscreen $(PY) -m bench.bench_startup

# 1,000 SIGKILLs of the real kiosk process during dispenses; prints the counts. Then the hub's
# sync API fuzzed with 10,000 signed pushes, pulls and provisioning bodies per endpoint.
soak: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.fault.harness --cuts 1000
	HUB_FUZZ_EXAMPLES=10000 $(PY) -m pytest -q tests/hub/test_fuzz.py

# The central sync hub (hub/, Django) on http://127.0.0.1:8800 with the embedded SQLite
# database hub/hub.sqlite3 (production: HUB_DATABASE_URL=postgresql://...). Admin users:
# `HUB_DEBUG=1 $(PY) hub/manage.py createsuperuser`; kiosk codes: `... enroll_machine`.
# DEBUG on: the demo runs on built-in keys, which production refuses (docs/HUB.md).
# The care app (docs/CARE.md) at http://127.0.0.1:8800/ with one demo user per role
# (seed_care_demo prints their new password).
hub: $(STAMP)
	HUB_DEBUG=1 $(PY) hub/manage.py migrate --noinput
	HUB_DEBUG=1 $(PY) hub/manage.py seed_care_demo
	HUB_DEBUG=1 $(PY) hub/manage.py runserver 127.0.0.1:8800
