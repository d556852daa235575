"""Leave-one-runner-out validation against force: the shipped calibration, the folds, and
the pinned accuracy table (tests/golden/validation.json)."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from realtime.config import load_config
from realtime.validation.calibrate import (
    FITTED,
    calibrate,
    fold_configs,
    shipped_matches,
    treadmill_trials,
)
from realtime.validation.catalog import runner_of, trials
from realtime.validation.score import Condition, run_validation
from tests.conftest import data_file

GOLDEN = Path(__file__).parent / "golden" / "validation.json"
CONDS = [Condition("side", 30.0, 2.0, "left"), Condition("side", 30.0, 2.0, "right"),
         Condition("rear", 30.0, 2.0, "left"), Condition("side", 60.0, 2.0, "left"),
         Condition("rear", 60.0, 2.0, "left")]


@pytest.fixture(autouse=True)
def _need_data() -> None:
    data_file("mocap/hamner2013/subject10_Run_5_grf.mot")
    data_file("mocap/dorn2012/JA1Gait21.c3d")


def test_shipped_defaults_are_the_calibration_on_all_treadmill_runners() -> None:
    cal = calibrate(treadmill_trials(trials()))
    assert shipped_matches(cal, load_config().metrics) == []
    assert cal.contact_mae_ms < 10.0 and cal.toe_off_mae_ms < 10.0


def test_folds_never_calibrate_on_the_runner_they_score() -> None:
    names = trials()
    configs, cals = fold_configs(names)
    assert set(cals) == {runner_of(t) for t in names if runner_of(t) != "dorn_JA1"} | {"all"}
    for runner, cal in cals.items():
        assert all(runner_of(t) != runner for t in cal.trials)
        assert len(cal.trials) == (20 if runner == "all" else 16)
    for t in names:
        key = runner_of(t) if runner_of(t) in cals else "all"
        assert configs[t] == cals[key].cfg


def _table(results: dict) -> dict:
    """The figures the README's table shows, rounded: what the golden file pins."""
    out: dict = {"calibration": {k: {f: round(v[f], 4) for f in FITTED}
                                 for k, v in results["calibration"].items()}}
    for key, c in results["conditions"].items():
        o = c["overall"]
        row = {k: (round(o[k], 2) if isinstance(o[k], float) else o[k])
               for k in ("n_true", "n_found", "n_false", "ic_mae_ms", "ic_bias_ms", "ic_p95_ms",
                         "to_mae_ms", "cadence_session_err_pct")}
        row["metrics"] = {m: round(v["mae"], 3) for m, v in o["metrics"].items()}
        row["verdict"] = c["verdict"]
        out[key] = row
    return out


def test_leave_one_runner_out_meets_the_targets_and_matches_the_golden_table() -> None:
    res = run_validation(trials(), CONDS)
    assert res["leave_one_runner_out"]
    for key, c in res["conditions"].items():
        assert all(c["verdict"].values()), (key, c["verdict"])
    table = _table(res)
    if os.environ.get("REALTIME_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    if want != json.loads(json.dumps(table)):
        diff = difflib.unified_diff(
            json.dumps(want, indent=1, sort_keys=True).splitlines(),
            json.dumps(table, indent=1, sort_keys=True).splitlines(), "golden", "now",
            lineterm="")
        pytest.fail("the validation table changed (REALTIME_UPDATE_GOLDEN=1 rewrites it "
                    "once the change is wanted):\n" + "\n".join(diff))
