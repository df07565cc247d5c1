"""Extreme inputs are answered or refused in seconds; the calibration cache is checked."""

import json
import logging
import math

import pytest

from bench.cache import cache_dir, entry_problem, index_entry
from bench.errors import BenchError
from bench.privacy import accounting
from bench.privacy.accounting import (
    AccountingError,
    calibrate,
    check_mechanism,
    compute_epsilon,
    cross_check,
)
from bench.privacy.budget import PrivacyBudget


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((math.inf, 0.1, 10, 1e-5), "epsilon 0, which no accountant computes"),
        ((math.nan, 0.1, 10, 1e-5), "sigma"),
        ((1.0, math.nan, 10, 1e-5), "sample rate"),
        ((1.0, 1.5, 10, 1e-5), "sample rate"),
        ((1.0, 0.1, 2.5, 1e-5), "steps"),
        ((1.0, 0.1, True, 1e-5), "steps"),
        ((1.0, 0.1, 10, math.nan), "delta"),
        ((1.0, 0.1, 10, 1.0), "delta"),
    ],
)
def test_bad_mechanisms_are_named(args, message):
    with pytest.raises(BenchError, match=message):
        check_mechanism(*args)


@pytest.mark.parametrize(
    ("sigma", "q", "steps", "message"),
    [
        (1.0, 0.3, 20000, "needs a grid of"),  # q T huge: was 113 s, then inf
        (0.05, 0.01, 100, "needs a grid of"),  # died in scipy's FFT
        (1.0, 1.0, 10**9, "needs a grid of"),
        (0.0245818, 1.0, 1, "privacy losses up to"),  # opacus: "Discrete mean differs"
    ],
)
def test_prv_refuses_what_it_cannot_account(sigma, q, steps, message):
    with pytest.raises(AccountingError, match=message):
        compute_epsilon(sigma, q, steps, 1e-5, "prv")
    assert compute_epsilon(sigma, q, steps, 1e-5, "rdp") > 0  # RDP still answers
    assert cross_check(sigma, q, steps, 1e-5, "rdp")[0] is None


@pytest.mark.parametrize("delta", [1e-300, 0.999999])
def test_prv_numerical_failures_are_one_line_errors(delta):
    with pytest.raises(AccountingError, match="cannot account"):
        compute_epsilon(1.0, 1.0, 1, delta, "prv")


@pytest.mark.parametrize("accountant", ["prv", "rdp"])
def test_a_tiny_epsilon_is_refused_not_a_traceback(accountant):
    with pytest.raises(BenchError, match="too small"):
        calibrate(PrivacyBudget(1e-9, 1e-5, accountant), 0.01, 100)


def test_a_huge_epsilon_is_refused_by_prv_and_calibrated_by_rdp():
    with pytest.raises(AccountingError, match="above what PRV calibration supports"):
        calibrate(PrivacyBudget(1000.0, 1e-5, "prv"), 0.1, 30)
    cal = calibrate(PrivacyBudget(1000.0, 1e-5, "rdp"), 0.1, 30)
    assert 1000 - 0.01 <= cal.epsilon <= 1000
    assert cal.cross_check_epsilon is None and "privacy losses" in cal.cross_check_note
    assert calibrate(PrivacyBudget(1000.0, 1e-5, "rdp"), 0.1, 30) == cal  # cached with null


def _entry(budget, q, steps):
    return cache_dir("calibration") / f"{accounting._cache_key(budget, q, steps)}.json"


BUDGET = PrivacyBudget(4.0, 1e-5, "rdp")


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path / "cache"))
    cal = calibrate(BUDGET, 0.1, 100)
    path = _entry(BUDGET, 0.1, 100)
    assert entry_problem(path) is None  # written and indexed
    return cal, path


def _tamper(path, text, reindex):
    path.write_text(text)
    if reindex:  # the entry and its index record rewritten together
        index_entry(path)


@pytest.mark.parametrize("reindex", [False, True])
@pytest.mark.parametrize(
    "edit",
    [
        lambda d: {**d, "sigma": 2 * d["sigma"]},  # sigma doubled: caught by the recheck
        lambda d: {**d, "epsilon": d["epsilon"] - 0.5},
        lambda d: {**d, "sigma": "1.0"},
        lambda d: {"sigma": d["sigma"]},
        lambda d: [1, 2],
    ],
)
def test_a_tampered_calibration_is_discarded_and_rebuilt(fresh_cache, edit, reindex, caplog):
    cal, path = fresh_cache
    _tamper(path, json.dumps(edit(json.loads(path.read_text()))), reindex)
    with caplog.at_level(logging.WARNING, logger="bench.cache"):
        again = calibrate(BUDGET, 0.1, 100)
    assert again == cal
    assert [r for r in caplog.records if str(path) in r.getMessage()]  # named, once
    assert entry_problem(path) is None  # rebuilt and indexed


@pytest.mark.parametrize("reindex", [False, True])
def test_garbage_in_the_cache_names_the_file_and_is_rebuilt(fresh_cache, reindex, caplog):
    cal, path = fresh_cache
    _tamper(path, "{not json", reindex)
    with caplog.at_level(logging.WARNING, logger="bench.cache"):
        assert calibrate(BUDGET, 0.1, 100) == cal
    assert len([r for r in caplog.records if str(path) in r.getMessage()]) == 1


def test_the_calculators_grid_limit_refuses_before_any_grid():
    # bench privacy --epsilon 300 --sample-rate 0.01 --steps 100 took 37 s and 1.2 GB
    with pytest.raises(AccountingError, match="calculator's calibration limit") as info:
        calibrate(PrivacyBudget(8.0, 1e-5, "prv"), 0.1, 10, max_points=1000)
    assert "use --accountant rdp" in str(info.value)


def test_the_calculators_grid_limit_keeps_the_sigma_it_allows():
    budget = PrivacyBudget(10.0, 1e-5, "prv")  # a board cell's sigma (test_opacus_light)
    limited = accounting._solve(budget, 1.0, 1, accounting.CALCULATOR_MAX_PRV_POINTS)
    assert limited[0] == 0.50048828125
