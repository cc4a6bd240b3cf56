"""The experiment file (friendly errors) and the plan: run ids, call counts, the dry run's estimate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.batch import build_plan, estimate_plan, load_experiment, scenario_calls
from harness.cli import main
from harness.errors import DataError
from harness.loaders import load_scenario
from tests.batch.conftest import FAKE_SMOKE, ROOT, SMOKE

DEFAULT = ROOT / "scenarios" / "tsd-2016-nk-crisis.yaml"


def test_calls_and_critical_path_follow_the_scenario() -> None:
    smoke = scenario_calls(load_scenario(SMOKE))
    # 3 delegations × 2 members × 1 round + 3 cards + 3 reports + 3 questions + 3 answers + 3 hot-wash
    assert (smoke.calls, smoke.critical_path, smoke.moves) == (21, 7, 1)
    full = scenario_calls(load_scenario(DEFAULT))
    # per move: 3 × (4 turns + card) + 3 reports + 6 plenary = 24; 5 moves + 3 hot-wash
    assert (full.calls, full.critical_path) == (123, 5 * (4 + 1 + 1 + 2) + 1)
    assert scenario_calls(load_scenario(SMOKE), narrate=True).calls == 22


def test_plan_grid_and_deterministic_run_ids(experiment: Callable[..., Path]) -> None:
    path = experiment(
        sampling={"temperature": [0.2, None], "seed": [3, 4]},
        repetitions=2,
        personas=[{"name": "default"}, {"name": "same", "personas": str(ROOT / "personas")}],
    )
    plan = build_plan(load_experiment(path))
    assert len(plan.conditions) == 4 and len(plan.runs) == 16
    ids = [r.run_id for r in plan.runs]
    assert len(set(ids)) == 16
    assert ids[0] == "fake-smoke-fake-default-t0.2-s3-r1"
    assert "fake-smoke-fake-same-tdef-s4-r2" in ids
    assert ids == [r.run_id for r in build_plan(load_experiment(path)).runs]
    first, second = plan.runs[0], plan.runs[1]
    assert first.sampling.seed == 3 and second.rep == 2 and second.sampling.seed != 3
    assert plan.total_calls == 16 * 21


def test_dry_run_prints_runs_calls_and_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_BASE_URL", "http://127.0.0.1:9/v1")
    rc = main(
        ["batch", str(FAKE_SMOKE), "--out", str(tmp_path / "b"), "--dry-run", "--max-total-tokens", "1000"]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "20 runs (0 done, 20 to do), 420 model calls, ≈ 630,000 tokens" in " ".join(out.split())
    assert "will stop the batch before it ends" in out
    assert not (tmp_path / "b").exists()  # nothing was spent, nothing was written
    est = estimate_plan(build_plan(load_experiment(FAKE_SMOKE)), tmp_path / "b")
    assert (est.runs, est.todo, est.calls, est.tokens) == (20, 20, 420, 630_000)


@pytest.mark.parametrize(
    ("change", "field", "cause"),
    [
        ({"repetitons": 2}, "repetitons", "unknown field"),
        ({"sampling": {"seed": [1, 2, 1]}}, "sampling.seed[2]", "listed twice"),
        ({"backends": [{"name": "a b"}]}, "backends[0].name", "pattern"),
        ({"backends": [{"name": "x"}, {"name": "x"}]}, "backends[1].name", "used twice"),
        ({"scenarios": ["nowhere.yaml"]}, "scenarios[0]", "not found"),
        ({"concurrency": 0}, "concurrency", "greater than or equal to 1"),
    ],
)
def test_spec_errors_name_file_and_field(
    experiment: Callable[..., Path], change: dict[str, object], field: str, cause: str
) -> None:
    path = experiment(**change)
    with pytest.raises(DataError) as err:
        load_experiment(path)
    assert err.value.path == str(path)
    assert err.value.field == field
    assert cause in err.value.cause


def test_spec_error_on_the_command_line_is_one_line(
    experiment: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = experiment(retries="many")
    assert main(["batch", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "retries" in err and str(path.name) in err
    assert ":" in err and "Traceback" not in err
