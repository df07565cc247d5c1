"""Shared fixtures: an isolated user cache, a toy task for runner tests, the shared data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Calibrations and caches go to a per-session folder, never the user's."""
    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def one_torch_thread():
    """Tiny models: one thread beats two on a shared CPU (the pools wait on each other)."""
    from bench.tasks.threads import cpu_threads

    with cpu_threads(1):
        yield


@pytest.fixture
def shared_data() -> Path:
    """The real data folder (``../shared/data``); tests using it skip when it is absent."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is not available")
    return path


@dataclass(frozen=True)
class ToyConfig:
    """Config of the toy method: fails on purpose at a chosen epsilon."""

    fail_at: float = -1.0
    scale: float = 1.0


def _toy_run(ctx):
    from bench.privacy.accounting import calibrate
    from bench.privacy.report import privacy_block
    from bench.tasks.base import CellOutput

    if ctx.cell.epsilon == ctx.config.fail_at:
        raise RuntimeError("toy failure")
    cal = calibrate(ctx.budget, 1.0, 1)
    value = ctx.config.scale * (0 if math.isinf(ctx.cell.epsilon) else 1 / ctx.cell.epsilon)
    privacy = privacy_block(
        cal,
        achieved_epsilon=cal.epsilon,
        steps_taken=1,
        max_grad_norm=1.0,
        private_steps=[],
        unit="one toy",
        how_obtained="toy",
    )
    return CellOutput(
        metrics={"mse_mean": value + ctx.cell.seed},
        privacy=privacy,
        risk={},
        dataset={"name": ctx.dataset},
    )


@pytest.fixture(scope="session")
def toy_task():
    """A registered task whose only method is instant; for runner and CLI plumbing tests."""
    from bench.tasks import TASKS, load, register_method, register_task
    from bench.tasks.base import MethodSpec, TaskSpec

    load()
    if "toy" not in TASKS:
        register_task(
            TaskSpec(
                name="toy",
                version=1,
                description="toy",
                primary_metric="mse_mean",
                summary_metrics=("mse_mean",),
                delta=1e-5,
                default_eps=(1.0, math.inf),
                default_seeds=(0,),
                default_methods=("toy-method",),
                datasets=("phantom-mammo",),
                privacy_unit="one toy",
            )
        )
        configs = {p: ToyConfig() for p in ("smoke", "small", "paper")}
        register_method(MethodSpec("toy", "toy-method", "instant", configs, _toy_run))
    return "toy"
