"""The cardiac sample grids a person looks at: titled, rows labelled readably."""

import math

import numpy as np

from bench.tasks.cardiac_ldm.outputs import _grid_by_epsilon, epsilon_text, grid_figure


def test_grid_has_its_title_and_readable_row_labels():
    images = np.zeros((3, 8, 8))
    fig = grid_figure([("real\n(test)", images), ("ε = 1", images)], "dp-ldm, ε = 1, seed 0")
    assert fig._suptitle.get_text() == "dp-ldm, ε = 1, seed 0"
    labels = [ax.get_ylabel() for ax in fig.axes[::3]]
    assert labels == ["real\n(test)", "ε = 1"]
    assert fig.axes[0].yaxis.label.get_fontsize() >= 10


def test_by_epsilon_grid_orders_rows_and_names_the_non_private_one(tmp_path, monkeypatch):
    from bench.tasks.cardiac_ldm import outputs

    for eps in ("inf", "1", "10"):
        folder = tmp_path / "dp-ldm" / f"eps={eps}" / "seed=0"
        folder.mkdir(parents=True)
        real, generated = np.zeros((2, 4, 4)), np.ones((2, 4, 4))
        np.savez(folder / "central_slices.npz", real=real, generated=generated)
    drawn = {}
    monkeypatch.setattr(outputs, "_grid", lambda rows, path, title: drawn.update(
        labels=[label for label, _ in rows], path=path, title=title))  # fmt: skip
    _grid_by_epsilon(tmp_path / "dp-ldm", "seed=0")
    assert drawn["labels"] == ["real\n(test)", "ε = 1", "ε = 10", "ε = inf\n(non-private)"]
    assert drawn["title"].startswith("dp-ldm, seed 0:")
    assert drawn["path"].name == "samples_by_epsilon_seed=0.png"
    assert epsilon_text(math.inf) == "ε = inf (non-private)"
