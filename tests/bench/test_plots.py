"""The headline plots: one panel per declared metric, directions, references, log scale."""

import math

import pytest

from bench.plots import axis_label, headline_figure, plot_headlines
from bench.readout import Plot
from bench.summary import readout, summary_table
from bench.tasks import get_task, load
from tests.bench.test_summary import _metrics, _record


def _summary(name, methods=("a", "b")):
    load()
    task = get_task(name)
    records = [
        _record(task, m, e, s, _metrics(task, s))
        for m in methods
        for e in (1.0, 10.0, math.inf)
        for s in (0, 1)
    ]
    return task, summary_table(task, records)[0]


@pytest.mark.parametrize("name", ["recon-attack", "cardiac-ldm", "mammo-cls"])
def test_one_panel_per_headline_metric_with_its_direction(name):
    task, summary = _summary(name)
    fig = headline_figure(task, readout(task), summary)
    axes = fig.axes
    assert len(axes) == len(task.readout.plots) >= 2
    for ax, plot in zip(axes, task.readout.plots, strict=True):
        assert ax.get_ylabel() == axis_label(plot)
        assert ("better" in ax.get_ylabel()) or ("stronger attack" in ax.get_ylabel())
        assert [t.get_text() for t in ax.get_xticklabels()][-1] == "inf"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"a", "b"} <= set(legend) and any("measured" in t for t in legend)


def test_cardiac_fid_panel_draws_the_floor_and_the_autoencoder_lines():
    task, summary = _summary("cardiac-ldm")
    fid = headline_figure(task, readout(task), summary).axes[0]
    labels = [t.get_text() for t in fid.get_legend().get_texts()]
    assert any(label.startswith("real vs real (floor)") for label in labels)
    assert any(label.startswith("autoencoder reconstructions") for label in labels)
    assert fid.get_ylabel() == "FID, slice-wise (lower is better)"


def test_recon_success_is_on_a_log_axis_with_bounds_apart_from_measurements():
    task, summary = _summary("recon-attack")
    fig = headline_figure(task, readout(task), summary)
    success = fig.axes[0]
    assert success.get_yscale() == "log"
    assert "upper bound" in [t.get_text() for t in fig.legends[0].get_texts()]
    dashed = [line for line in success.get_lines() if line.get_linestyle() == "--"]
    assert dashed  # the bound curves


def test_plot_headlines_writes_a_png(tmp_path):
    task, summary = _summary("mammo-cls")
    plot_headlines(task, readout(task), summary, tmp_path / "summary.png")
    assert (tmp_path / "summary.png").read_bytes()[:4] == b"\x89PNG"


def test_axis_label_takes_the_registry_direction():
    assert axis_label(Plot("auroc_internal", "AUROC")) == "AUROC (higher is better)"
