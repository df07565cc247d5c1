"""``bench risk``: every flag is checked; no silent defaults for bad values."""

import json

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
        (["--sample-rate", "1e-6", "--steps", "1000000"], "by Monte Carlo"),
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
