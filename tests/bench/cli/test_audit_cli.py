"""``bench audit``: bad input is one line and exit 2; a false claim exits 1."""

from __future__ import annotations

import pytest

from bench.cli import main


def _controls() -> None:
    """The controls register through their entry point once installed; an editable install
    made before they existed lacks it."""
    from bench.tasks import load

    load()
    import controls.methods  # noqa: F401


def _run(capsys, *argv):
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    return code, *capsys.readouterr()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["dp-sgdd", "--task", "privacy-audit", "--eps", "1"], "did you mean 'dp-sgd'"),
        (["dp-sgd", "--task", "privacy-audit", "--eps", "inf"], "finite epsilons"),
        (["dp-sgd", "--task", "privacy-audit", "--eps", "one"], "expected numbers"),
        (["dp-sgd", "--task", "privacy-audit", "--eps", "1", "--runs", "0"], "runs >= 1"),
        (["dp-sgd", "--task", "privacy-audit", "--eps", "1", "--profile", "huge"], "--profile"),
        (["dp-sgd", "--task", "privacy-audt", "--eps", "1"], "unknown task"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, says):
    _controls()
    code, _, err = _run(capsys, "audit", *argv)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and says in lines[0], err


def test_a_false_claim_exits_1_and_prints_its_flag(capsys):
    _controls()
    argv = ["broken-no-noise", "--task", "privacy-audit", "--eps", "1", "--canaries", "200"]
    code, out, _ = _run(capsys, "audit", *argv, "--runs", "1")
    assert code == 1 and "LOWER BOUND ABOVE CLAIM" in out


def test_progress_is_a_line_on_stderr_at_most_every_10_s_and_after_the_last_run(capsys):
    from bench.cli.audit_cmd import _progress

    report = _progress("m eps=1")
    for done, seconds in ((1, 1.0), (2, 5.0), (3, 12.0), (4, 13.0)):
        report(done, 4, seconds)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and lines[1].startswith("audit m eps=1: run 3/4, 12 s")
    assert "about 0 s left" in lines[2]


def test_input_canaries_name_their_kind_and_catch_a_leaky_map(capsys):
    _controls()
    argv = ["broken-leaky-map", "--task", "privacy-audit", "--eps", "1", "--canary", "input"]
    code, out, _ = _run(capsys, "audit", *argv, "--runs", "1", "--canaries", "200",
                        "--profile", "small")  # fmt: skip
    assert code == 1 and "200 input canaries" in out and "trials n/a" in out, out
