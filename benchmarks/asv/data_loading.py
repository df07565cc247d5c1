"""Data: generating the built-in phantoms (every offline run starts here)."""

from __future__ import annotations

from bench.datasets.loading import load


class TimePhantoms:
    params = (["phantom-mammo", "phantom-cardiac"],)
    param_names = ("dataset",)

    def time_generate(self, dataset: str) -> None:
        shape = 64 if dataset == "phantom-mammo" else (13, 64, 64)
        load(dataset, shape=shape, n=32, seed=0)

    def peakmem_generate(self, dataset: str) -> None:
        self.time_generate(dataset)
