"""The CLI as a user meets it: one-line errors, exit codes, JSON outputs, start-up time."""

import json
import subprocess
import sys

import pytest

from bench.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_list_shows_tasks_methods_datasets(capsys):
    code, out, _ = _run(capsys, "list")
    assert code == 0
    for word in ("recon-attack", "prior-free", "identification", "phantom-cardiac", "smoke"):
        assert word in out


def test_privacy_reproduces_opacus_rdp_figure(capsys):
    code, out, _ = _run(
        capsys,
        "privacy",
        "--sigma",
        "1.5",
        "--sample-rate",
        "0.04",
        "--steps",
        "2250",
        "--delta",
        "1e-5",
        "--accountant",
        "rdp",
        "--json",
    )
    values = json.loads(out)
    assert code == 0 and round(values["epsilon"], 4) == 7.3291
    assert {"epsilon", "sigma", "delta", "sample_rate", "steps", "accountant"} <= set(values)


def test_privacy_calibrates_sigma_from_epsilon(capsys):
    code, out, _ = _run(
        capsys, "privacy", "--epsilon", "8", "--sample-rate", "0.01", "--steps", "1000", "--json"
    )
    values = json.loads(out)
    assert code == 0 and values["epsilon"] <= 8 and values["sigma"] > 0


def test_risk_reproduces_paper_examples(capsys):
    code, out, _ = _run(
        capsys,
        "risk",
        "--sigma",
        "1",
        "--dim",
        "1",
        "--norm",
        "1",
        "--mse-threshold",
        "0.1",
        "--kappa",
        str(1 / 13),
        "--json",
    )
    values = json.loads(out)
    assert code == 0
    assert round(values["p_mse_le"], 5) == 0.24817
    assert round(values["rero"], 5) == 0.33503
    assert values["mu"] == pytest.approx(1.0) and values["expected_mse"] == pytest.approx(1.0)


def test_risk_inverse_gives_sigma_meeting_the_target(capsys):
    code, out, _ = _run(
        capsys,
        "risk",
        "--epsilon",
        "8",
        "--dim",
        "16",
        "--prior-size",
        "13",
        "--psnr-threshold",
        "20",
        "--target-success",
        "0.05",
        "--json",
    )
    values = json.loads(out)
    assert code == 0 and values["kappa"] == pytest.approx(1 / 13)
    assert {
        "sigma",
        "epsilon",
        "delta",
        "mu",
        "p_mse_le",
        "p_psnr_ge",
        "expected_mse",
        "rero",
        "required_sigma",
    } <= set(values)
    _, check, _ = _run(
        capsys, "risk", "--sigma", str(values["required_sigma"]), "--dim", "16", "--json"
    )
    assert json.loads(check)["p_mse_le"] == pytest.approx(0.05, rel=1e-6)


def test_risk_table_without_json(capsys):
    code, out, _ = _run(capsys, "risk", "--sigma", "1")
    assert code == 0 and "p_mse_le" in out and "rero" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--task", "recon-atack"], "did you mean 'recon-attack'"),
        (["run", "--task", "recon-attack", "--eps", "-1"], "bad epsilon '-1'"),
        (["run", "--task", "recon-attack", "--eps", "0"], "bad epsilon '0'"),
        (["run", "--task", "recon-attack", "--eps", "abc"], "bad epsilon 'abc'"),
        (["run", "--task", "recon-attack", "--eps", "nan"], "bad epsilon 'nan'"),
        (["run", "--task", "recon-attack", "--methods", "prior-fre"], "did you mean"),
        (["run", "--task", "recon-attack", "--seeds", "a"], "bad seed list"),
        (["run", "--task", "recon-attack", "--set", "trials"], "expected KEY=VALUE"),
        (["run", "--task", "recon-attack", "--device", "cuda"], "CUDA is not available"),
        (["run", "--task", "recon-attack", "--data", "acdcc"], "cannot use dataset"),
        (["run", "--task", "recon-attack", "--data", "acdc"], "needs --data-root"),
        (["show", "/nonexistent/run"], "no run directory"),
        (["privacy", "--sigma", "1", "--sample-rate", "2"], "sample rate"),
        (["risk", "--sigma", "1", "--dim", "0"], "--dim"),
    ],
)
def test_bad_input_gives_one_clear_line(capsys, tmp_path, argv, message):
    code, _, err = _run(capsys, *argv, *(["--out", str(tmp_path)] if argv[0] == "run" else []))
    assert code == 2
    assert message in _one_line_error(err)


def test_unwritable_out_is_reported(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = _run(
        capsys,
        "run",
        "--task",
        "recon-attack",
        "--profile",
        "smoke",
        "--out",
        str(blocker / "runs"),
    )
    assert code == 2 and "cannot write to --out" in _one_line_error(err)


def test_argparse_errors_are_one_line_too():
    proc = subprocess.run([sys.executable, "-m", "bench", "run"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--task" in _one_line_error(proc.stderr)


@pytest.mark.parametrize("argv", [["--help"], ["list"]])
def test_fast_commands_do_not_import_torch(argv):
    code = (
        "import sys; from bench.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy'))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_external_data_flags_reach_the_request(capsys, tmp_path):
    code, _, err = _run(
        capsys, "run", "--task", "cardiac-ldm", "--external-data", "acdc",
        "--external-data-root", str(tmp_path), "--out", str(tmp_path / "runs"),
    )  # fmt: skip
    assert code == 2 and "task 'cardiac-ldm' has no external test site" in err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").rglob("*.json"))
