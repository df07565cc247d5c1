"""bench run's --delta and --secure-rng as a user meets them: one-line errors."""

import sys

import pytest

from tests.bench.cli.test_cli import _one_line_error, _run


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--delta", "0"], "bad --delta 0: must be in (0, 1)"),
        (["--delta", "1.5"], "bad --delta 1.5: must be in (0, 1)"),
        (["--delta", "nan"], "bad --delta nan"),
    ],
)
def test_bad_delta_is_one_clear_line(capsys, tmp_path, flags, message):
    code, _, err = _run(capsys, "run", "--task", "mammo-cls", *flags, "--out", str(tmp_path))
    assert code == 2 and message in _one_line_error(err)


def test_secure_rng_without_torchcsprng_is_one_clear_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchcsprng", None)
    argv = ["run", "--task", "mammo-cls", "--secure-rng", "--out", str(tmp_path)]
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "--secure-rng needs the torchcsprng package" in _one_line_error(err)


def test_delta_flag_reaches_the_request():
    from bench.cli import build_parser
    from bench.cli.run_cmd import build_request

    args = build_parser().parse_args(["run", "--task", "mammo-cls", "--delta", "1e-4"])
    request = build_request(args)
    assert request.delta == 1e-4 and request.secure_rng is False
