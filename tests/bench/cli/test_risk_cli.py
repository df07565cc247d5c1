"""``bench risk``: every flag is checked; no silent defaults for bad values."""

import json
import subprocess
import sys

import pytest

from bench.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--kappa", "0"], "bad value for --kappa"),  # was: kappa 0.1, exit 0
        (["--kappa", "1"], "bad value for --kappa"),
        (["--kappa", "nan"], "bad value for --kappa"),
        (["--prior-size", "0"], "bad value for --prior-size"),  # was: kappa 0.1, exit 0
        (["--prior-size", "1"], "bad value for --prior-size"),
        (["--norm", "inf"], "bad value for --norm"),  # was: p_mse_le 0, exit 0
        (["--norm", "nan"], "bad value for --norm"),
        (["--norm", "-1"], "bad value for --norm"),
        (["--mse-threshold", "0"], "bad value for --mse-threshold"),
        (["--mse-threshold", "inf"], "bad value for --mse-threshold"),
        (["--data-range", "0"], "bad value for --data-range"),
        (["--psnr-threshold", "nan"], "bad value for --psnr-threshold"),
        (["--target-success", "1"], "bad value for --target-success"),
        (["--target-success", "nan"], "bad value for --target-success"),
        (["--dim", "0"], "bad value for --dim"),
        (["--steps", str(10**13)], "bad value for --steps"),
    ],
)
def test_bad_risk_flags_are_one_line(capsys, argv, message):
    code, out, err = _run(capsys, "risk", "--sigma", "1", *argv)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and not out and len(lines) == 1 and message in lines[0], err


@pytest.mark.parametrize(
    "argv", [["--sigma", "inf"], ["--sigma", "nan"], ["--sigma", "0", "--sample-rate", "2"]]
)
def test_bad_mechanism_is_checked_in_risk_too(capsys, argv):
    code, _, err = _run(capsys, "risk", *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_the_non_private_release_by_either_flag(capsys):
    _, by_sigma, _ = _run(capsys, "risk", "--sigma", "0", "--dim", "4", "--json")
    _, by_eps, _ = _run(capsys, "risk", "--epsilon", "inf", "--dim", "4", "--json")
    assert json.loads(by_sigma) == json.loads(by_eps)
    assert json.loads(by_eps)["p_mse_le"] == 1.0


def test_prior_size_gives_kappa(capsys):
    code, out, _ = _run(capsys, "risk", "--sigma", "1", "--prior-size", "13", "--json")
    assert code == 0 and json.loads(out)["kappa"] == pytest.approx(1 / 13)


def test_huge_steps_fit_in_memory(capsys):
    from bench.privacy.risk import RiskQuery, expected_mse

    big = expected_mse(RiskQuery(sigma=1.0, sample_rate=0.5, steps=10**9))
    assert big == pytest.approx(2 / 10**9, rel=1e-6)


def _json(capsys, *argv):
    code, out, err = _run(capsys, "risk", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_the_assumed_schedule_is_stated(capsys):
    assumed = _json(capsys, "--sigma", "1")
    assert "q = 1, T = 1" in assumed["assumed"] and assumed["sample_rate"] == 1.0
    given = _json(capsys, "--sigma", "1", "--sample-rate", "0.01", "--steps", "100")
    assert "assumed" not in given and given["steps"] == 100
    _, out, _ = _run(capsys, "risk", "--sigma", "1")
    assert out.startswith("mechanism") and "one full-batch step assumed" in out


def test_target_success_alone_solves_for_sigma(capsys):
    argv = ["--target-success", "0.05", "--sample-rate", "0.01", "--steps", "1000"]
    values = _json(capsys, *argv, "--dim", "4096")
    assert values["sigma_from"] == "--target-success"
    assert values["sigma"] == values["required_sigma"] > 0
    assert values["p_mse_le"] == pytest.approx(0.05, rel=1e-6)
    assert values["epsilon"] > 0 and values["cross_check"]["accountant"] == "rdp"


def test_no_noise_no_budget_no_target_is_one_line(capsys):
    code, out, err = _run(capsys, "risk", "--dim", "4")
    assert code == 2 and not out and "give --sigma, --epsilon or --target-success" in err


def test_a_zero_figure_is_explained_and_every_figure_has_its_threat_model(capsys):
    values = _json(capsys, "--sigma", "5", "--dim", "4096", "--mse-threshold", "0.01")
    assert values["p_mse_le"] == 0.0
    assert any("p_mse_le is 0" in n and "Not a general 'safe'" in n for n in values["notes"])
    assert {"p_mse_le", "rero", "expected_mse"} <= set(values["threat_models"])


def test_subsampled_figures_use_the_pld_bound_and_no_full_batch_mu(capsys):
    values = _json(capsys, "--sigma", "1", "--sample-rate", "0.01", "--steps", "100")
    assert "mu" not in values and values["rero_method"].startswith("pld")
    assert values["kappa"] < values["rero"] < 1


def test_cross_check_adds_monte_carlo_and_edgeworth(capsys):
    argv = ["--sigma", "1", "--sample-rate", "0.1", "--steps", "50", "--cross-check"]
    values = _json(capsys, *argv)
    check = values["rero_cross_check"]
    assert check["monte_carlo_upper_95"] >= check["monte_carlo_estimate"]
    assert values["rero"] >= check["monte_carlo_estimate"] - 0.02
    assert "edgeworth_approximation" in check


def test_tiny_rate_many_steps_answers_with_the_bound(capsys):
    values = _json(capsys, "--sigma", "1", "--sample-rate", "1e-6", "--steps", "1000000")
    assert values["kappa"] <= values["rero"] < 0.2


def test_bench_privacy_states_the_assumed_schedule_too(capsys):
    code, out, _ = _run(capsys, "privacy", "--sigma", "1", "--json")
    assert code == 0 and "q = 1, T = 1" in json.loads(out)["assumed"]
    code, out, _ = _run(capsys, "privacy", "--sigma", "1", "--steps", "10", "--json")
    assert code == 0 and "assumed" not in json.loads(out)


#: Queries through every scipy routine of the risk path: the subsampled sums (binomial
#: quantiles, pmf, sf), PSNR, the PLD bound (ndtr, quad, FFT), --target-success
#: (brentq), q = 1 (ndtri) and sigma = 0; T > 10^6 (the truncated support) below.
SCIPY_QUERIES = [
    ["--sigma", "1", "--sample-rate", "0.01", "--steps", "1000", "--prior-size", "10"],
    ["--sigma", "0.8", "--sample-rate", "0.001", "--steps", "5000", "--psnr-threshold", "20"],
    ["--sigma", "1.1", "--sample-rate", "0.05", "--steps", "100", "--dim", "1024"],
    ["--target-success", "0.05", "--sample-rate", "0.01", "--steps", "200", "--dim", "4096"],
    ["--sigma", "2", "--sample-rate", "0.2", "--steps", "10", "--kappa", "0.05"],
    ["--sigma", "1", "--dim", "4", "--psnr-threshold", "10"],
    ["--sigma", "0", "--sample-rate", "0.01", "--steps", "100"],
]


def _with_scipys_packages(monkeypatch):
    import scipy.fft
    import scipy.integrate
    import scipy.optimize
    import scipy.stats

    from bench.privacy import scipy_light

    packages = {"stats": scipy.stats, "fft": scipy.fft, "integrate": scipy.integrate}
    for name, package in {**packages, "optimize": scipy.optimize}.items():
        monkeypatch.setattr(scipy_light, name, package)


@pytest.mark.parametrize("argv", SCIPY_QUERIES)
def test_risk_json_is_what_scipys_own_functions_give(capsys, monkeypatch, argv):
    # The same query with scipy_light's routines replaced by scipy's packages (what the
    # bounds imported before scipy_light): the output must not move by a bit. The ufuncs
    # are scipy's own objects either way (tests/bench/privacy/test_scipy_light.py).
    light = _run(capsys, "risk", *argv, "--json")
    _with_scipys_packages(monkeypatch)
    heavy = _run(capsys, "risk", *argv, "--json")
    assert light[0] == heavy[0] == 0 and light[1] == heavy[1]


@pytest.mark.parametrize(("q", "steps"), [(0.02, 2_000_000), (0.5, 10**9), (1e-6, 3 * 10**6)])
def test_sums_over_the_truncated_support_are_what_scipy_gives(monkeypatch, q, steps):
    from bench.privacy.risk import RiskQuery, _p_mse, expected_mse

    query = RiskQuery(sigma=1.1, sample_rate=q, steps=steps, dim=1024, mse_threshold=0.01)
    light = expected_mse(query), _p_mse(query, 1.1), _p_mse(query, 0.3, eta=0.5)
    _with_scipys_packages(monkeypatch)
    assert light == (expected_mse(query), _p_mse(query, 1.1), _p_mse(query, 0.3, eta=0.5))


def test_risk_imports_no_scipy_package(tmp_path):
    # bench risk computes with scipy's compiled routines only (scipy_light): importing
    # scipy.stats alone costs ~2 s, scipy.special / integrate / fft / optimize ~0.6 s.
    code = (
        "import sys; from bench.cli import main\n"
        "for argv in (['--sigma', '1', '--sample-rate', '0.01', '--steps', '300',\n"
        "              '--psnr-threshold', '20', '--prior-size', '10'],\n"
        "             ['--target-success', '0.05', '--sample-rate', '0.1', '--steps', '20'],\n"
        "             ['--sigma', '1', '--dim', '4']):\n"
        "    assert main(['risk', *argv, '--json']) == 0\n"
        "heavy = ('scipy.special', 'scipy.stats', 'scipy.integrate', 'scipy.fft',\n"
        "         'scipy.optimize', 'scipy.signal', 'scipy.linalg', 'scipy.sparse')\n"
        "bad = sorted(m for m in sys.modules if m.startswith(heavy))\n"
        "bad += sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'opacus'))\n"
        "assert not bad, bad\n"
    )
    env = {"PRIVMEDBENCH_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
