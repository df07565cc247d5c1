"""The summaries a person reads: narrow tables, readable numbers, privacy and risk shown."""

import math

import pytest

from bench.summary import summary_table
from bench.summary_format import WIDTH, fit_table, fmt, fmt_std
from bench.tasks import get_task, load


def _record(task, method, eps, seed, metrics, subject=None):
    privacy = {
        "achieved_epsilon": None if math.isinf(eps) else 0.99 * eps,
        "noise_multiplier": 0.0 if math.isinf(eps) else 1.7,
        "delta": task.delta,
        "accountant": "prv",
    }
    if subject is not None and math.isfinite(eps):
        privacy["subject_level"] = {"records_per_subject": 2, "epsilon": subject * eps}
    return {
        "method": method,
        "epsilon": "inf" if math.isinf(eps) else f"{eps:g}",
        "seed": seed,
        "metrics": metrics,
        "privacy": privacy,
        "risk": {"rero": 0.15, "p_mse_le": 5.638e-306, "kappa": 0.1},
    }


def _metrics(task, seed):
    """Every metric the task's summary and readout name, with long-tailed values."""
    names = set(task.summary_metrics) | {c.metric for c in task.readout.columns}
    for plot in task.readout.plots:
        names |= {plot.metric, plot.bound} | {r.metric for r in plot.references}
    out = {}
    for i, name in enumerate(sorted(n for n in names if n)):
        out[name] = 0.123456789 * (i + 1) + 0.01 * seed
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = 0.0001, 0.98765
    return out


@pytest.mark.parametrize("name", ["recon-attack", "cardiac-ldm", "mammo-cls"])
def test_summary_md_fits_a_100_column_terminal_and_states_privacy(name):
    load()
    task = get_task(name)
    methods = ["inverting-gradients", "prior-free-hidden"]
    records = [
        _record(task, m, e, s, _metrics(task, s), subject=2.2)
        for m in methods
        for e in (1.0, 10.0, math.inf)
        for s in (0, 1, 2)
    ]
    summary, text = summary_table(task, records)
    assert any(line.startswith("|") for line in text.splitlines())
    assert max(map(len, text.splitlines())) <= WIDTH  # tables, notes and headers
    assert "ε achieved" in text and "σ" in text and "ReRo" in text
    assert "< 1e-12" in text and "e-306" not in text  # no 5.638e-306
    assert "± " in text and "| 3   |" in text  # mean ± std, n = 3 seeds
    assert "ε subject" in text
    assert set(summary["seeds"]) == {3}
    # the wide CSV keeps every summary metric
    assert all(f"{m}_mean" in summary for m in task.summary_metrics)


def test_fit_table_drops_trailing_columns_and_keeps_the_fixed_ones():
    rows = [["a-long-method-name", "1"] + ["0.123 ± 0.045"] * 12]
    headers = ["method", "ε"] + [f"metric{i}" for i in range(12)]
    text, shown = fit_table(headers, rows, fixed=2)
    assert shown[:2] == ["method", "ε"] and 2 < len(shown) < len(headers)
    assert max(map(len, text.splitlines())) <= WIDTH


@pytest.mark.parametrize(
    ("value", "text"),
    [(5.638e-306, "< 1e-12"), (0.0, "0"), (-8.8, "-8.8"), (None, "-"), (math.nan, "-"),
     (1.263e-17, "< 1e-12"), (0.000401, "0.0004"), (123456.0, "1.2e+05"), (0.9956, "0.996")],
)  # fmt: skip
def test_numbers_are_formatted_for_a_person(value, text):
    assert fmt(value) == text


def test_spread_has_two_significant_digits():
    assert fmt_std(0.01666) == "0.017" and fmt_std(0.0) == "0" and fmt_std(2e-18) == "< 1e-12"


def test_bench_show_prints_the_summary_and_writes_nothing(toy_task, tmp_path, capsys):
    from bench.api import run
    from bench.cli import main
    from tests.bench.test_runner import _request

    result = run(_request(tmp_path, seeds=(0,)))
    folder = tmp_path / "runs/toy@v1"
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    assert main(["show", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert result.table in out and "ε achieved" in out
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} == before
