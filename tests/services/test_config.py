"""kiosk.toml against its schema: no coercion, every problem at once, nothing unknown passes."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest

from kiosk.services.config import (
    SCHEMA,
    Config,
    ConfigError,
    Section,
    check_config,
    describe_keys,
    example_toml,
    inspect_config,
    load_config,
    problems_for_run,
    to_toml,
    validate,
    write_config,
)

FILE = "kiosk.toml"
EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "kiosk.toml.example"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Relative to the current folder, problems read as an installer sees them: "kiosk.toml: ...".
    monkeypatch.chdir(tmp_path)


def problems_in(text: str) -> list[str]:
    Path(FILE).write_text(text, encoding="utf-8")
    return [str(problem) for problem in inspect_config(Path(FILE)).problems]


def test_a_good_file_loads_and_says_which_keys_it_sets() -> None:
    Path(FILE).write_text(
        '[site]\nname = "North"\nday_start_hour = 0\nsound_cues = true\n'
        '[storage]\ndata_dir = "/var/lib/kiosk"\nmin_free_mb = 100\n'
        "[dispensing]\nretry_remainder = true\n"
    )
    report = inspect_config(Path(FILE))
    assert report.problems == ()
    assert report.keys == (
        "site.name",
        "site.day_start_hour",
        "site.sound_cues",
        "storage.data_dir",
        "storage.min_free_mb",
        "dispensing.retry_remainder",
    )
    config = load_config(Path(FILE))
    assert (config.site_name, config.day_start_hour, config.sound_cues) == ("North", 0, True)
    assert (config.data_dir, config.min_free_mb) == (Path("/var/lib/kiosk"), 100)
    assert config.retry_remainder is True
    assert (config.log_max_mb, config.log_files, config.missed_dose_days) == (10, 5, 3)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[dispensing]\nretry_remainder = "false"\n',
            'dispensing.retry_remainder: expected true or false, got "false" (string)',
        ),
        (
            "[site]\nday_start_hour = 1.9\n",
            "site.day_start_hour: expected an integer from 0 to 23, got 1.9 (float)",
        ),
        (
            "[site]\nmissed_dose_days = true\n",
            "site.missed_dose_days: expected an integer from 1 to 60, got true (boolean)",
        ),
        (
            '[hub]\ninterval_seconds = "60"\n',
            'hub.interval_seconds: expected an integer from 5 to 86400, got "60" (string)',
        ),
        ("[site]\nname = 5\n", "site.name: expected a non-empty string, got 5 (integer)"),
        ('[site]\nname = "  "\n', 'site.name: expected a non-empty string, got "  " (string)'),
        (
            '[site]\nlanguage = "de"\n',
            'site.language: expected one of "en", "fr_CA", "es", "zh_Hant", "pa", got "de" '
            "(string)",
        ),
        (
            '[site]\ntimezone = "Mars/Olympus"\n',
            "site.timezone: expected an IANA time zone such as America/Vancouver, "
            'got "Mars/Olympus" (string)',
        ),
        (
            '[site]\ntimezone = "localtime"\n',
            "site.timezone: expected an IANA time zone such as America/Vancouver, "
            'got "localtime" (string)',
        ),
        (
            '[storage]\nkey_file = ""\n',
            'storage.key_file: expected a non-empty path, got "" (string)',
        ),
        (
            "[storage]\ndata_dir = []\n",
            "storage.data_dir: expected a non-empty path, got an array",
        ),
        (
            "[devices]\nsensor_port = { path = '/dev/x' }\n",
            "devices.sensor_port: expected a non-empty string, got a table",
        ),
        (
            '[hub]\nurl = "http://hub.example.org"\n',
            "hub.url: expected an https:// URL, or http:// on loopback only, "
            'got "http://hub.example.org" (string)',
        ),
        (
            "[site]\nday_start_hour = 1979-05-27\n",
            "site.day_start_hour: expected an integer from 0 to 23, got 1979-05-27 (date)",
        ),
    ],
)
def test_no_value_is_coerced(text: str, problem: str) -> None:
    assert problems_in(text) == [f"{FILE}: {problem}"]


@pytest.mark.parametrize(
    ("section", "name", "low", "high"),
    [
        ("site", "day_start_hour", 0, 23),
        ("site", "missed_dose_days", 1, 60),
        ("storage", "min_free_mb", 1, 100_000),
        ("storage", "log_max_mb", 1, 1000),
        ("storage", "log_files", 1, 100),
        ("hub", "interval_seconds", 5, 86400),
    ],
)
def test_ranges_are_checked_at_both_ends(section: str, name: str, low: int, high: int) -> None:
    for good in (low, high):
        assert problems_in(f"[{section}]\n{name} = {good}\n") == []
    for bad in (low - 1, high + 1):
        assert problems_in(f"[{section}]\n{name} = {bad}\n") == [
            f"{FILE}: {section}.{name}: expected an integer from {low} to {high}, "
            f"got {bad} (integer)"
        ]


def test_the_hub_url_may_be_plain_http_on_loopback_only() -> None:
    for url in ("https://hub.example.org", "http://127.0.0.1:8800", "http://localhost/x"):
        assert problems_in(f'[hub]\nurl = "{url}"\n') == []
    for url in ("ftp://hub.example.org", "hub.example.org", "https://", ""):
        assert len(problems_in(f'[hub]\nurl = "{url}"\n')) == 1


def test_an_unknown_key_is_refused_with_the_nearest_name() -> None:
    assert problems_in("[dispensing]\nretry_remaindr = true\n") == [
        f"{FILE}: dispensing.retry_remaindr: unknown key (did you mean retry_remainder?)"
    ]
    # The right name in the wrong section points to where it belongs.
    assert problems_in("[site]\nretry_remainder = true\n") == [
        f"{FILE}: site.retry_remainder: unknown key (did you mean dispensing.retry_remainder?)"
    ]
    assert problems_in("[site]\nflavour = 1\n") == [f"{FILE}: site.flavour: unknown key"]


def test_an_unknown_section_is_refused_with_the_nearest_name() -> None:
    assert problems_in('[hubb]\nurl = "https://hub.example.org"\n') == [
        f"{FILE}: [hubb]: unknown section (did you mean hub?)"
    ]
    assert problems_in("[printer]\nmodel = 1\n") == [f"{FILE}: [printer]: unknown section"]
    # A key written above every section header.
    assert problems_in('timezone = "America/Toronto"\n') == [
        f"{FILE}: timezone: a key outside any [section] (did you mean site.timezone?)"
    ]
    assert problems_in("site = 3\n") == [f"{FILE}: site: expected a table, got 3 (integer)"]


def test_every_problem_is_reported_together() -> None:
    found = problems_in(
        '[site]\nday_start_hour = 24\nlanguage = "klingon"\n'
        '[storage]\nkey_file = ""\nlog_files = 1.5\n'
        "[dispensing]\nretry_remaindr = false\n"
        "[extra]\n"
    )
    assert [line.split(": ")[1] for line in found] == [
        "site.day_start_hour",
        "site.language",
        "storage.key_file",
        "storage.log_files",
        "dispensing.retry_remaindr",
        "[extra]",
    ]
    with pytest.raises(ConfigError) as raised:
        load_config(Path(FILE))
    assert [str(problem) for problem in raised.value.problems] == found
    assert raised.value.problems[0].file == FILE
    assert raised.value.problems[0].key == "site.day_start_hour"


def test_invalid_toml_is_one_problem_with_line_and_column() -> None:
    assert problems_in('[site]\nname = "North"\nday_start_hour = \n') == [
        f"{FILE}: not valid TOML: Invalid value (at line 3, column 18)"
    ]
    assert problems_in("[site]\nname = 1\nname = 2\n") == [
        f"{FILE}: not valid TOML: Cannot overwrite a value (at line 3, column 9)"
    ]
    Path(FILE).write_bytes(b"[site]\nname = '\xff'\n")
    assert [str(p) for p in inspect_config(Path(FILE)).problems] == [
        f"{FILE}: not valid TOML: not UTF-8 text (byte 15)"
    ]


def test_a_file_that_cannot_be_read_is_one_problem() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(Path("missing.toml"))
    assert str(raised.value) == "missing.toml: cannot be read: No such file or directory"
    Path("folder.toml").mkdir()
    [problem] = inspect_config(Path("folder.toml")).problems
    assert str(problem) == "folder.toml: cannot be read: Is a directory"


def test_run_needs_both_ports_which_the_schema_leaves_optional() -> None:
    assert problems_in('[site]\nname = "Demo"\n') == []
    config = load_config(Path(FILE))
    assert [str(problem) for problem in problems_for_run(config, FILE)] == [
        f"{FILE}: devices.sensor_port: missing: `kiosk run` needs both device ports",
        f"{FILE}: devices.controller_port: missing: `kiosk run` needs both device ports",
    ]
    ready = dataclasses.replace(config, sensor_port="/dev/a", controller_port="/dev/b")
    assert problems_for_run(ready) == []
    same = dataclasses.replace(ready, controller_port="/dev/a")
    assert [str(problem) for problem in problems_for_run(same)] == [
        "devices.controller_port: expected a port other than devices.sensor_port"
    ]


def test_for_run_a_refused_port_is_not_also_missing() -> None:
    Path(FILE).write_text("[devices]\nsensor_port = 3\n")
    report = inspect_config(Path(FILE), for_run=True)
    assert [problem.key for problem in report.problems] == [
        "devices.sensor_port",
        "devices.controller_port",
    ]
    assert "missing" in report.problems[1].message


def test_a_config_built_in_code_meets_the_same_rules() -> None:
    assert check_config(Config()) == []
    validate(Config(hub_url="http://127.0.0.1:8000"))
    bad = Config(day_start_hour=24, language="xx", site_name="", hub_interval_seconds=True)
    with pytest.raises(ConfigError) as raised:
        validate(bad)
    assert [problem.key for problem in raised.value.problems] == [
        "site.name",
        "site.day_start_hour",
        "site.language",
        "hub.interval_seconds",
    ]
    assert str(raised.value.problems[1]) == (
        "site.day_start_hour: expected an integer from 0 to 23, got 24 (integer)"
    )


def test_write_then_load_gives_the_same_config(tmp_path: Path) -> None:
    config = Config(
        site_name='Clinique "du Nord" \\ é 中文 \x7f',
        timezone="America/Toronto",
        day_start_hour=0,
        missed_dose_days=60,
        language="zh_Hant",
        sound_cues=True,
        sensor_port="/dev/ttyUSB0",
        controller_port="/dev/ttyUSB1",
        data_dir=tmp_path / "data",
        key_file=tmp_path / "db.key",
        min_free_mb=100_000,
        log_max_mb=1,
        log_files=100,
        retry_remainder=True,
        hub_url="https://hub.example.org",
        hub_interval_seconds=5,
    )
    write_config(config, tmp_path / "etc" / "kiosk.toml")
    assert load_config(tmp_path / "etc" / "kiosk.toml") == config
    write_config(Config(data_dir=tmp_path), tmp_path / "default.toml")
    assert load_config(tmp_path / "default.toml") == Config(data_dir=tmp_path)


def test_the_enrollment_code_and_a_default_interval_are_not_written() -> None:
    text = to_toml(Config(hub_url="https://hub.example.org", hub_enrollment_code="SECRET-1"))
    assert "SECRET-1" not in text and "interval_seconds" not in text
    assert "interval_seconds = 30" in to_toml(Config(hub_interval_seconds=30))
    assert "[hub]" not in to_toml(Config())


def test_the_file_is_written_0600_even_over_a_readable_one(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text("old")
    path.chmod(0o644)
    stale = tmp_path / "kiosk.toml.tmp"  # left by a crash, readable by others
    stale.write_text("half")
    stale.chmod(0o644)
    write_config(Config(data_dir=tmp_path), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not stale.exists()
    assert load_config(path) == Config(data_dir=tmp_path)


def test_the_schema_declares_each_config_field_once() -> None:
    assert sorted(key.config_field for key in SCHEMA) == sorted(
        field.name for field in dataclasses.fields(Config)
    )
    dotted = [key.dotted for key in SCHEMA]
    assert len(set(dotted)) == len(dotted)
    assert {key.section for key in SCHEMA} == set(Section)
    for key in SCHEMA:
        assert key.help.strip(), key.dotted
        if key.example is not None:
            raw = str(key.example) if isinstance(key.example, Path) else key.example
            assert key.kind.accept(raw) == key.example, key.dotted


def test_the_new_storage_keys() -> None:
    config = Config()
    assert (config.min_free_mb, config.log_max_mb, config.log_files) == (64, 10, 5)
    assert problems_in("[storage]\nmin_free_mb = 500\nlog_max_mb = 20\nlog_files = 9\n") == []
    loaded = load_config(Path(FILE))
    assert (loaded.min_free_mb, loaded.log_max_mb, loaded.log_files) == (500, 20, 9)


def test_the_example_file_is_generated_from_the_schema_and_loads_cleanly() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text == example_toml(), "run: kiosk config example > deploy/kiosk.toml.example"
    report = inspect_config(EXAMPLE, for_run=True)
    assert report.problems == ()
    assert report.keys == tuple(key.dotted for key in SCHEMA if not key.example_commented)
    for key in SCHEMA:
        if key.example_commented:
            assert f"\n# {key.name} = " in text, key.dotted
    assert load_config(EXAMPLE).data_dir == Path("/var/lib/kiosk")


def test_the_key_listing_names_every_key_its_range_and_default() -> None:
    listing = describe_keys()
    for key in SCHEMA:
        assert f"{key.dotted}  ({key.kind.expected()}; default: " in listing
    assert "site.day_start_hour  (an integer from 0 to 23; default: 4)" in listing
    assert "storage.min_free_mb  (an integer from 1 to 100000; default: 64)" in listing


def test_where_and_when_staff_are_is_one_short_line_each_shown_as_written() -> None:
    from kiosk.domain.model import SiteContact

    assert (
        problems_in(
            '[site]\nstaff_location = "the front desk, ground floor"\n'
            'staff_hours = "every day, 8:00 to 22:00"\n'
        )
        == []
    )
    config = load_config(Path(FILE))
    assert config.contact == SiteContact("the front desk, ground floor", "every day, 8:00 to 22:00")
    assert Config().contact == SiteContact(None, None)  # left out: the screens say nothing
    expected = "expected one line of text, at most 60 characters"
    assert problems_in('[site]\nstaff_hours = "8:00 to 22:00\\nclosed Sundays"\n') == [
        f'{FILE}: site.staff_hours: {expected}, got "8:00 to 22:00\\nclosed Sundays" (string)'
    ]
    [too_long] = problems_in(f'[site]\nstaff_location = "{"x" * 61}"\n')
    assert too_long.startswith(f"{FILE}: site.staff_location: {expected}, got")
    assert problems_in('[site]\nstaff_location = " "\n')[0].endswith('got " " (string)')


def test_the_roles_that_clear_a_door_lockout_are_a_site_setting() -> None:
    from kiosk.domain.permissions import Role

    assert set(Config().door_clear_roles) == {Role.TECHNICIAN, Role.PHARMACIST, Role.ADMIN}
    assert Config().on_call is None
    text = '[site]\ndoor_clear_roles = ["staff", "admin"]\non_call = "Call 604-555-0100"\n'
    assert problems_in(text) == []
    config = load_config(Path(FILE))
    assert config.door_clear_roles == (Role.STAFF, Role.ADMIN)
    assert config.on_call == "Call 604-555-0100"
    expected = "expected an array of distinct role names from " + ", ".join(
        f'"{role.value}"' for role in Role
    )
    for bad, got in (
        ('["staff", "janitor"]', '["staff", "janitor"] (array)'),
        ('["admin", "admin"]', '["admin", "admin"] (array)'),
        ("[]", "an array"),
        ('"staff, admin"', '"staff, admin" (string)'),
        ("[1]", "[1] (array)"),
    ):
        assert problems_in(f"[site]\ndoor_clear_roles = {bad}\n") == [
            f"{FILE}: site.door_clear_roles: {expected}, got {got}"
        ]
    assert problems_in('[site]\non_call = ""\n') == [
        f'{FILE}: site.on_call: expected a non-empty string, got "" (string)'
    ]


def test_the_door_clear_roles_are_written_and_read_back(tmp_path: Path) -> None:
    from kiosk.domain.permissions import Role

    config = Config(
        data_dir=tmp_path, door_clear_roles=(Role.STAFF, Role.TECHNICIAN), on_call="Ring 555"
    )
    assert 'door_clear_roles = ["staff", "technician"]' in to_toml(config)
    write_config(config, tmp_path / "kiosk.toml")
    assert load_config(tmp_path / "kiosk.toml") == config
    assert check_config(dataclasses.replace(config, door_clear_roles=())) != []
