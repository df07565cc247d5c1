"""Thread limits of cells: applied on the CPU only, always restored."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from bench.tasks.threads import limit_threads


def _seen(ctx):
    return torch.get_num_threads()


def test_the_count_applies_during_the_cell_and_is_restored_after():
    before = torch.get_num_threads()
    assert limit_threads(1)(_seen)(SimpleNamespace(device="cpu")) == 1
    assert torch.get_num_threads() == before


def test_a_count_from_the_config_and_zero_leaves_torch_alone():
    run = limit_threads(lambda ctx: ctx.config.threads)(_seen)
    before = torch.get_num_threads()
    assert run(SimpleNamespace(device="cpu", config=SimpleNamespace(threads=1))) == 1
    assert run(SimpleNamespace(device="cpu", config=SimpleNamespace(threads=0))) == before


def test_restored_even_when_the_cell_fails_and_other_devices_run_unchanged():
    before = torch.get_num_threads()

    @limit_threads(1)
    def failing(ctx):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing(SimpleNamespace(device="cpu"))
    assert torch.get_num_threads() == before
    assert limit_threads(1)(_seen)(SimpleNamespace(device="cuda")) == before
