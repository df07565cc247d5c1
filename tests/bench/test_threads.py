"""The runner's CPU thread limit: set for the block, restored after, 0 leaves it alone."""

import torch

from bench.threads import cpu_threads


def test_the_count_is_set_and_restored():
    before = torch.get_num_threads()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_zero_leaves_the_count_alone():
    before = torch.get_num_threads()
    with cpu_threads(0):
        assert torch.get_num_threads() == before
