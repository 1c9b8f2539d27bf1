"""The ``kiosk`` command: run, demo, selftest, smoke, db verify, config, --version."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.logsetup import record_traceback, setup_logging
from kiosk.version import version_line

if TYPE_CHECKING:
    from hardware.ports import DispenserController
    from kiosk.services.config import ConfigProblem

log = logging.getLogger("kiosk.cli")

# A configuration that cannot be read or is wrong: distinct from 1 (a check failed) and 2 (a
# command could not do its work), so that a service manager or installer script can tell.
EXIT_BAD_CONFIG = 3
EXIT_UNEXPECTED = 70  # EX_SOFTWARE: a bug; the traceback is in the kiosk log only


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Dispensing kiosk")
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the kiosk (production)")
    run.add_argument("--config", type=Path, help="configuration TOML")
    run.add_argument("--sensor-port", help="fingerprint sensor serial port (overrides config)")
    run.add_argument("--controller-port", help="dispenser serial port (overrides config)")
    run.add_argument("--data-dir", type=Path, help="data directory (overrides config)")
    run.add_argument("--windowed", action="store_true", help="a window instead of full screen")

    demo = sub.add_parser("demo", help="demo mode: emulated hardware, seeded data")
    demo.add_argument("--data-dir", type=Path, help="keep the demo data here (default: temp)")
    demo.add_argument("--fullscreen", action="store_true")

    selftest = sub.add_parser("selftest", help="check that both devices answer correctly")
    selftest.add_argument("--sensor-port", required=True)
    selftest.add_argument("--controller-port", required=True)
    selftest.add_argument("--json", action="store_true", help="machine-readable output")

    smoke = sub.add_parser("smoke", help="start the demo, wait for the idle screen, exit")
    smoke.add_argument("--seconds", type=float, default=30.0, help="give up after (default 30)")

    explain = sub.add_parser("explain", help="why a participant may or may not get a dose")
    explain.add_argument("--data-dir", type=Path, required=True)
    explain.add_argument("--participant", required=True, help="internal id (P-0001) or number")
    explain.add_argument("--at", help="ISO-8601 instant (default: now); naive = site time")
    explain.add_argument("--json", action="store_true")
    explain.add_argument("--key-file", type=Path)

    diagnostics = sub.add_parser("diagnostics", help="a zip for remote support (no personal data)")
    diagnostics.add_argument("--out", type=Path, required=True, help="the zip file to write")
    diagnostics.add_argument("--config", type=Path, help="configuration TOML")
    diagnostics.add_argument("--data-dir", type=Path, help="data directory (instead of --config)")
    diagnostics.add_argument(
        "--no-devices", action="store_true", help="skip the device self-test (the kiosk is running)"
    )

    config = sub.add_parser("config", help="configuration tools (kiosk.toml)")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser(
        "check", help=f"every problem in the file, and what `run` needs (exit {EXIT_BAD_CONFIG})"
    )
    check.add_argument("--config", type=Path, help="configuration TOML (default: as `run`)")
    config_sub.add_parser("keys", help="every key: type, range, default and help")
    config_sub.add_parser("example", help="an example file with every key explained")

    update = sub.add_parser(
        "update", help="report, confirm health, and take an offered release (docs/UPDATES.md)"
    )
    update.add_argument("--config", type=Path, help="configuration TOML (default: as `run`)")
    update.add_argument(
        "--from-folder", type=Path, help="install from a release repository copy (USB stick)"
    )

    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    verify = db_sub.add_parser("verify", help="integrity check and audit-chain walk")
    verify.add_argument("--data-dir", type=Path, required=True)
    verify.add_argument("--key-file", type=Path, help="key file (default: as `run` finds it)")
    verify.add_argument(
        "--controller-port", help="also compare with the controller's vend log (kiosk stopped)"
    )
    ack = db_sub.add_parser(
        "acknowledge", help="accept missing records after checking (audited); dispensing resumes"
    )
    ack.add_argument("--data-dir", type=Path, required=True)
    ack.add_argument("--key-file", type=Path, help="key file (default: as `run` finds it)")
    ack.add_argument("--reason", required=True, help="what was checked, for the audit log")
    return parser


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args, started)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # One line for the person at the terminal; the traceback goes to the log only.
        record_traceback(f"kiosk {args.command} failed")
        print(
            f"kiosk {args.command}: unexpected error ({type(exc).__name__}); "
            "details are in the kiosk log",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED


def _dispatch(args: argparse.Namespace, started: float) -> int:
    if args.command == "smoke":
        return cmd_smoke(args, started)
    if args.command == "selftest":
        return cmd_selftest(args)
    if args.command == "explain":
        return cmd_explain(args)
    if args.command == "diagnostics":
        return cmd_diagnostics(args)
    if args.command == "db":
        if args.db_command == "acknowledge":
            return cmd_db_acknowledge(args)
        return cmd_db_verify(args)
    if args.command == "config":
        return cmd_config(args)
    if args.command == "demo":
        return cmd_demo(args)
    if args.command == "update":
        return cmd_update(args)
    return cmd_run(args)


def cmd_selftest(args: argparse.Namespace) -> int:
    setup_logging(None, logging.WARNING)
    from hardware.controller.driver import SerialController
    from hardware.sensor.driver import ZfmSensor
    from kiosk.services.selftest import as_json, run_selftest

    checks = run_selftest(
        lambda: ZfmSensor(args.sensor_port), lambda: SerialController(args.controller_port)
    )
    ok = all(check.ok for check in checks)
    if args.json:
        print(json.dumps(as_json(checks), indent=2))
    else:
        for check in checks:
            facts = ", ".join(f"{k}={v}" for k, v in check.facts.items())
            verdict = "OK  " if check.ok else "FAIL"
            print(f"{verdict} {check.device}: {check.detail}{' (' + facts + ')' if facts else ''}")
    return 0 if ok else 1


def _open_database(args: argparse.Namespace) -> tuple[Any, Path] | str:
    """(connection, database path), or the one-line reason it cannot be opened."""
    from kiosk.store.db import DatabaseError, StoreError, connect
    from kiosk.store.keyfile import KeyError_, read_key_file, resolve_key_path

    database = args.data_dir / "kiosk.db"
    if not database.exists():
        return f"no database at {database}"
    try:
        key = read_key_file(resolve_key_path(args.data_dir, args.key_file))
        return connect(database, key, migrate=False), database
    except (KeyError_, StoreError, DatabaseError) as exc:
        return str(exc)


def cmd_db_verify(args: argparse.Namespace) -> int:
    """Integrity, the whole audit chain, the anchor file and (with --controller-port) the
    controller's own vend log. Exit 0 all well, 1 a problem found, 2 cannot check."""
    setup_logging(None, logging.WARNING)
    from kiosk.services.books import check_books
    from kiosk.store.anchor import anchor_path
    from kiosk.store.audit import verify_chain
    from kiosk.store.db import DatabaseError, integrity_check, schema_version
    from kiosk.store.repository import Store

    opened = _open_database(args)
    if isinstance(opened, str):
        print(f"FAIL {opened}")
        return 2
    conn, database = opened
    controller: DispenserController | None = None
    try:
        problems = integrity_check(conn)
        if problems:
            print(f"FAIL integrity check: {problems[0]}")
            return 1
        report = verify_chain(conn)
        if not report.ok:
            print(f"FAIL audit chain broken at entry {report.first_bad_seq}: {report.problem}")
            return 1
        if args.controller_port:
            opened_controller = _open_controller(args.controller_port)
            if isinstance(opened_controller, str):
                print(f"FAIL {opened_controller}")
                return 2
            controller = opened_controller
        books = check_books(Store(conn, anchor=anchor_path(database)), controller)
        if not books.ok:
            print(f"FAIL {books.problems[0]}")
            return 1
        witness = "anchor file" + (" and controller log" if books.controller_checked else "")
        print(
            f"OK   database {database}: schema {schema_version(conn)}, integrity ok, "
            f"audit chain of {report.entries} entries verified against the {witness}"
        )
        return 0
    except DatabaseError as exc:
        print(f"FAIL the database cannot be read: {exc}")
        return 1
    finally:
        conn.close()
        if controller is not None:
            controller.close()


def _open_controller(port: str) -> DispenserController | str:
    """An open SerialController, or why it cannot be opened."""
    from hardware.controller.driver import SerialController
    from hardware.ports import DeviceError

    controller = SerialController(port)
    try:
        controller.open()
    except DeviceError as exc:
        return f"the controller cannot be reached: {exc.message}"
    return controller


def cmd_db_acknowledge(args: argparse.Namespace) -> int:
    """A technician accepts that records are missing (after checking the machine and the
    hub): the loss is audited, the controller's unrecorded vends are kept as acknowledged,
    the anchor moves to the current head and the kiosk may dispense again."""
    setup_logging(None, logging.WARNING)
    from kiosk.services.books import acknowledge_loss
    from kiosk.services.clock import SystemClock
    from kiosk.store.anchor import anchor_path
    from kiosk.store.db import DatabaseError, StoreError
    from kiosk.store.repository import Store

    if not args.reason.strip():
        print("FAIL a reason is needed (--reason)")
        return 2
    opened = _open_database(args)
    if isinstance(opened, str):
        print(f"FAIL {opened}")
        return 2
    conn, database = opened
    try:
        summary = acknowledge_loss(
            Store(conn, anchor=anchor_path(database)), SystemClock().now(), args.reason
        )
    except (DatabaseError, StoreError) as exc:
        print(f"FAIL {exc}")
        return 1
    finally:
        conn.close()
    print(f"OK   {summary}")
    return 0


def cmd_diagnostics(args: argparse.Namespace) -> int:
    setup_logging(None, logging.WARNING)
    from dataclasses import asdict

    from hardware.controller.driver import SerialController
    from hardware.sensor.driver import ZfmSensor
    from kiosk.services.config import (
        ConfigError,
        config_for_data_dir,
        default_config_path,
        load_config,
    )
    from kiosk.services.diagnostics import write_zip
    from kiosk.services.selftest import run_selftest
    from kiosk.store.db import StoreError, connect
    from kiosk.store.keyfile import KeyError_, read_key_file, resolve_key_path

    try:
        if args.data_dir is not None:
            config = config_for_data_dir(args.data_dir)
        else:
            config = load_config(args.config or default_config_path())
    except ConfigError as exc:
        return bad_config(exc.problems)
    conn = None
    try:
        key = read_key_file(resolve_key_path(config.data_dir, config.key_file))
        conn = connect(config.database_path, key, migrate=False)
    except (KeyError_, StoreError) as exc:
        print(f"kiosk diagnostics: database not read ({exc}); writing the rest", file=sys.stderr)
    selftest = None
    if not args.no_devices and config.sensor_port and config.controller_port:
        sensor_port, controller_port = config.sensor_port, config.controller_port

        def selftest() -> list[dict[str, object]]:
            checks = run_selftest(
                lambda: ZfmSensor(sensor_port), lambda: SerialController(controller_port)
            )
            return [asdict(check) for check in checks]

    try:
        path = write_zip(args.out, config, conn, selftest)
    except OSError as exc:
        print(f"kiosk diagnostics: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    finally:
        if conn is not None:
            conn.close()
    print(f"diagnostics written to {path}")
    return 0


def bad_config(problems: Iterable[ConfigProblem]) -> int:
    """One line a problem on stderr (never a traceback), and the exit code that says so."""
    for problem in problems:
        print(f"kiosk: configuration problem: {problem}", file=sys.stderr)
    return EXIT_BAD_CONFIG


def cmd_config(args: argparse.Namespace) -> int:
    from kiosk.services.config import (
        default_config_path,
        describe_keys,
        example_toml,
        inspect_config,
    )

    if args.config_command == "keys":
        print(describe_keys(), end="")
        return 0
    if args.config_command == "example":
        print(example_toml(), end="")
        return 0
    report = inspect_config(args.config or default_config_path(), for_run=True)
    for problem in report.problems:
        print(problem)
    if report.problems:
        return EXIT_BAD_CONFIG
    print(f"OK {report.file}: {len(report.keys)} keys")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    setup_logging(None, logging.WARNING)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from kiosk.i18n import set_locale
    from kiosk.services.clock import SystemClock
    from kiosk.services.config import ConfigError, config_for_data_dir
    from kiosk.services.decide import DecideService
    from kiosk.services.explain import explain_json, explain_text
    from kiosk.store.db import StoreError, connect
    from kiosk.store.keyfile import KeyError_, read_key_file, resolve_key_path
    from kiosk.store.repository import Store

    try:
        config = config_for_data_dir(args.data_dir)
        key = read_key_file(resolve_key_path(args.data_dir, args.key_file or config.key_file))
        conn = connect(args.data_dir / "kiosk.db", key, migrate=False)
    except (ConfigError, KeyError_, StoreError) as exc:
        print(f"kiosk explain: {exc}", file=sys.stderr)
        return 2
    try:
        store = Store(conn)
        participant = store.participant_by_code(args.participant)
        if participant is None and args.participant.isdigit():
            participant = store.participant(int(args.participant))
        if participant is None:
            print(f"kiosk explain: no participant {args.participant}", file=sys.stderr)
            return 2
        at = SystemClock().now()
        if args.at:
            try:
                at = datetime.fromisoformat(args.at)
            except ValueError:
                print(f"kiosk explain: --at {args.at!r} is not ISO-8601", file=sys.stderr)
                return 2
            if at.tzinfo is None:
                at = at.replace(tzinfo=ZoneInfo(config.timezone))
        set_locale(config.language)
        view = DecideService(store, SystemClock(), config.site).decide(participant.id, at=at)
        if args.json:
            body = explain_json(view, config.site)
            body["participant"] = participant.code
            print(json.dumps(body, indent=2, ensure_ascii=False))
        else:
            print(f"{participant.code}")
            print(explain_text(view, config.site))
        return 0
    finally:
        conn.close()


def cmd_demo(args: argparse.Namespace) -> int:
    from kiosk.app import run_gui, start_demo

    setup_logging(args.data_dir)
    runtime = start_demo(args.data_dir)
    print(f"demo data in {runtime.config.data_dir}", flush=True)
    return run_gui(runtime, windowed=not args.fullscreen, demo=True)


def cmd_smoke(args: argparse.Namespace, started: float) -> int:
    from kiosk.smoke import run_smoke

    setup_logging(None, logging.WARNING)
    return run_smoke(args.seconds, started)


def cmd_update(args: argparse.Namespace) -> int:
    from kiosk.services.config import ConfigError, default_config_path, load_config
    from kiosk.update_round import run_round

    try:
        config = load_config(args.config or default_config_path())
    except ConfigError as exc:
        return bad_config(exc.problems)
    setup_logging(config.data_dir, max_mb=config.log_max_mb, files=config.log_files)
    return run_round(config, args.from_folder)


def cmd_run(args: argparse.Namespace) -> int:
    from kiosk.app import StoreUnavailable, build_runtime, run_gui, run_store_unavailable
    from kiosk.services.config import (
        ConfigError,
        default_config_path,
        load_config,
        problems_for_run,
    )

    config_path = args.config or default_config_path()
    if not config_path.exists():
        # First run: the setup wizard writes the configuration, then the kiosk starts on it.
        from kiosk.ui.setup_wizard import run_setup_wizard

        setup_logging(None)
        if run_setup_wizard(config_path, windowed=args.windowed, data_dir=args.data_dir) is None:
            print("kiosk: setup was not finished; no configuration written", file=sys.stderr)
            return 2
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return bad_config(exc.problems)
    config = replace(
        config,
        sensor_port=args.sensor_port or config.sensor_port,
        controller_port=args.controller_port or config.controller_port,
        data_dir=args.data_dir or config.data_dir,
    )
    if problems := problems_for_run(config, str(config_path)):
        return bad_config(problems)
    setup_logging(config.data_dir, max_mb=config.log_max_mb, files=config.log_files)
    try:
        runtime = build_runtime(config)
    except StoreUnavailable as exc:
        return run_store_unavailable(config, str(exc), windowed=args.windowed)
    return run_gui(runtime, windowed=args.windowed, demo=False)


if __name__ == "__main__":
    sys.exit(main())
