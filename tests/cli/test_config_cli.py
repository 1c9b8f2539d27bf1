"""`kiosk config check`, and `run`/`diagnostics` on a bad configuration: one line a problem,
exit EXIT_BAD_CONFIG, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.cli import EXIT_BAD_CONFIG, main
from tests.cli.test_cli import kiosk

GOOD = """\
[site]
name = "North"
timezone = "America/Toronto"

[devices]
sensor_port = "/dev/kiosk-sensor"
controller_port = "/dev/kiosk-controller"
"""

BAD = """\
[site]
day_start_hour = 1.9
language = "de"

[devices]
sensor_port = "/dev/kiosk-sensor"

[dispensing]
retry_remaindr = "false"
"""


def test_the_exit_code_is_its_own() -> None:
    assert EXIT_BAD_CONFIG not in (0, 1, 2)


def test_check_says_ok_and_counts_the_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(GOOD)
    assert main(["config", "check", "--config", str(path)]) == 0
    assert capsys.readouterr().out == f"OK {path}: 4 keys\n"


def test_check_prints_every_problem_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(BAD)
    result = kiosk("config", "check", "--config", str(path))
    assert result.returncode == EXIT_BAD_CONFIG
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{path}: site.day_start_hour: expected an integer from 0 to 23, got 1.9 (float)",
        f'{path}: site.language: expected one of "en", "fr_CA", "es", "zh_Hant", "pa", '
        'got "de" (string)',
        f"{path}: dispensing.retry_remaindr: unknown key (did you mean retry_remainder?)",
        f"{path}: devices.controller_port: missing: `kiosk run` needs both device ports",
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[site]\nname = \n", "not valid TOML: Invalid value (at line 2, column 8)"),
        (None, "cannot be read: No such file or directory"),
        (b"\xff\xfe[site]", "not valid TOML: not UTF-8 text (byte 0)"),
    ],
)
def test_check_a_file_that_is_not_toml_or_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, problem: str
) -> None:
    path = tmp_path / "kiosk.toml"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    assert main(["config", "check", "--config", str(path)]) == EXIT_BAD_CONFIG
    assert capsys.readouterr().out == f"{path}: {problem}\n"


def test_run_refuses_a_bad_configuration_plainly(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(BAD)
    result = kiosk("run", "--config", str(path))
    assert result.returncode == EXIT_BAD_CONFIG
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"kiosk: configuration problem: {path}: ") for line in lines)
    assert lines[0].endswith(
        "site.day_start_hour: expected an integer from 0 to 23, got 1.9 (float)"
    )


def test_run_without_a_port_says_which_instead_of_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n')
    assert main(["run", "--config", str(path), "--sensor-port", "/dev/x"]) == EXIT_BAD_CONFIG
    assert capsys.readouterr().err == (
        f"kiosk: configuration problem: {path}: devices.controller_port: missing: "
        "`kiosk run` needs both device ports\n"
    )
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_diagnostics_refuses_a_bad_configuration_plainly(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text("[site]\nname = \n")
    result = kiosk("diagnostics", "--out", str(tmp_path / "d.zip"), "--config", str(path))
    assert result.returncode == EXIT_BAD_CONFIG
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr == (
        f"kiosk: configuration problem: {path}: not valid TOML: "
        "Invalid value (at line 2, column 8)\n"
    )
    assert not (tmp_path / "d.zip").exists()


def test_keys_and_example(capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.services.config import describe_keys, example_toml

    assert main(["config", "keys"]) == 0
    assert capsys.readouterr().out == describe_keys()
    assert main(["config", "example"]) == 0
    assert capsys.readouterr().out == example_toml()
