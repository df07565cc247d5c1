"""Every registered task runs its smoke path with every method (one parametrized test), and
every record carries the ledger's complete privacy block."""

import math

import pytest

from bench.api import run
from bench.records import iter_records
from bench.runner import RunRequest
from bench.tasks import get_task, methods_of, task_names

BUILTIN = [name for name in task_names() if name != "toy"]


@pytest.mark.parametrize("task_name", BUILTIN)
def test_smoke_profile_of_every_task(task_name, tmp_path):
    task = get_task(task_name)
    methods = tuple(m.name for m in methods_of(task_name))
    request = RunRequest(
        task=task_name,
        epsilons=(10.0, math.inf),
        methods=methods,
        seeds=(0,),
        profile="smoke",
        dataset=task.datasets[0],
        out=tmp_path,
    )
    result = run(request)
    assert not result.failed, [s.error for s in result.failed]
    records = iter_records(tmp_path)
    assert len(records) == 2 * len(methods)
    assert task.primary_metric in records[0]["metrics"]
    assert (tmp_path / f"{task_name}@v{task.version}" / "summary.png").exists()
    for record in records:
        _check_privacy(record, task)


PRIVACY_KEYS = {
    "target_epsilon", "achieved_epsilon", "delta", "noise_multiplier", "sample_rate", "steps",
    "max_grad_norm", "sampling", "accountant", "cross_check", "neighbouring", "unit",
    "how_obtained", "private_data_steps", "public_data_steps",
}  # fmt: skip


def _check_privacy(record: dict, task) -> None:
    """The ledger's block: complete, the test-split evaluation listed, achieved <= target."""
    privacy, label = record["privacy"], f"{record['method']} eps={record['epsilon']}"
    assert set(privacy) >= PRIVACY_KEYS, (label, PRIVACY_KEYS - set(privacy))
    assert privacy["delta"] == task.delta and privacy["unit"] == task.privacy_unit
    names = [step["name"] for step in privacy["private_data_steps"]]
    assert "evaluation" in names, (label, names)
    if privacy["target_epsilon"] is not None and privacy["achieved_epsilon"] is not None:
        assert privacy["achieved_epsilon"] <= privacy["target_epsilon"], label
    assert record["outputs"], f"{label}: no per-example outputs"
