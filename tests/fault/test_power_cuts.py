"""CI's share of the fault-injection soak: 12 SIGKILLs of the real kiosk process (about a
second each; `make soak` runs 1,000). Fewer than before to keep `make test` under 15 minutes
as the suite grew; the seed is fixed, so the same cuts are replayed every run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fault.harness import run

CUTS = 12


@pytest.mark.timeout(600)
def test_random_power_cuts_lose_and_double_nothing(tmp_path: Path) -> None:
    report = run(CUTS, tmp_path, seed_value=7)
    print(report.line())
    assert report.problems == []
    assert report.cuts == CUTS
    assert report.vends > 0
    assert report.cuts_during_vend > 0, "no cut landed inside a vend: the test proves little"
    assert report.units_recorded == report.units_dropped
