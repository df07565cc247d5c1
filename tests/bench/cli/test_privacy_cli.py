"""``bench privacy`` on extreme and bad input: one line, exit 2, or strict JSON."""

import json

import pytest

from bench.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


MECH = ["--sample-rate", "0.01", "--steps", "100"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epsilon", "1e-9", *MECH], "is too small for q 0.01"),
        (["--sigma", "inf", *MECH], "sigma = inf releases nothing"),
        (["--sigma", "inf", *MECH, "--accountant", "rdp"], "sigma = inf releases nothing"),
        (["--sigma", "nan", *MECH], "must be finite and >= 0"),
        (["--sigma", "-1"], "must be finite and >= 0"),
        (["--sigma", "0"], "non-private"),
        (["--sigma", "1", "--sample-rate", "0"], "sample rate must be in (0, 1]"),
        (["--sigma", "1", "--sample-rate", "nan"], "sample rate"),
        (["--sigma", "1", "--steps", "0"], "steps must be an integer >= 1"),
        (["--sigma", "1", "--delta", "0"], "delta must be in (0, 1)"),
        (["--sigma", "1", "--delta", "1"], "delta must be in (0, 1)"),
        (["--sigma", "1", "--delta", "nan"], "delta must be in (0, 1)"),
        (["--sigma", "1", "--delta", "1e-300"], "Floating point errors will dominate"),
        (["--epsilon", "nan"], "bad epsilon 'nan'"),
        (["--epsilon", "-1"], "bad epsilon '-1'"),
        (["--epsilon", ""], "bad epsilon ''"),
        (["--epsilon", "inf"], "non-private case"),
        (["--epsilon", "1000", "--sample-rate", "0.1", "--steps", "30"], "above what PRV"),
        (["--epsilon", "1e9", "--sample-rate", "0.01", "--steps", "10000"], "above what PRV"),
        (["--epsilon", "1e9", *MECH, "--accountant", "rdp"], "above what RDP"),  # ran > 60 s
        (["--epsilon", "300", *MECH], "calculator's calibration limit"),  # was 37 s, 1.2 GB
        (["--epsilon", "300", "--sample-rate", "0.01", "--steps", "10000"], "needs a grid"),
        (["--sigma", "0.05", *MECH], "needs a grid of"),
        (["--sigma", "1", "--sample-rate", "1", "--steps", "1000000000"], "needs a grid"),
    ],
)
def test_bad_or_extreme_input_is_one_line(capsys, argv, message):
    code, out, err = _run(capsys, "privacy", *argv)
    assert code == 2 and not out
    assert message in _one_line(err)


def test_an_unaccountable_cross_check_is_null_with_a_reason(capsys):
    argv = ["--sigma", "1", "--sample-rate", "0.3", "--steps", "20000", "--accountant", "rdp"]
    code, out, _ = _run(capsys, "privacy", *argv, "--json")
    values = json.loads(out)  # strict: no Infinity, no NaN
    assert code == 0 and values["epsilon"] > 1000
    assert values["cross_check"]["epsilon"] is None
    assert "needs a grid of" in values["cross_check"]["note"]


def test_a_normal_answer_has_no_note(capsys):
    code, out, _ = _run(capsys, "privacy", "--sigma", "1", *MECH, "--json")
    values = json.loads(out)
    assert code == 0 and values["cross_check"]["epsilon"] > values["epsilon"] > 0
    assert "note" not in values["cross_check"]


def test_the_calculator_builds_only_its_own_parser():
    from bench.cli import _light_command

    assert _light_command(["privacy", "--sigma", "1"]) == ("privacy_cmd",)
    assert _light_command(["-v", "risk", "--sigma", "1"]) == ("risk_cmd",)
    assert _light_command(["-h", "privacy"]) is None  # the full help
    assert _light_command(["run", "--task", "toy"]) is None
    assert _light_command([]) is None


def test_the_top_level_help_still_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["-h", "privacy"])
    out = capsys.readouterr().out
    assert all(name in out for name in ("privacy", "risk", "leaderboard", "audit"))
