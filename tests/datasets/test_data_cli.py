"""``bench data`` and ``bench run --data`` as a user meets them: reports, exit codes, records."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fixtures import fake_cardiac, fake_mammo, fake_sunnybrook
from fixtures.fake_dicom import truncate

from bench.cli import main
from bench.records import iter_records


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_data_list_names_layouts_licences_and_sources(capsys):
    code, out, _ = run_cli(capsys, "data", "list")
    assert code == 0
    for word in ("sunnybrook", "CC0 1.0", "cbis-ddsm", "metadata.csv", "ukbb", "needs --data-root"):
        assert word in out
    assert out.count("licence:") == out.count("layout:") >= 9


def test_data_list_imports_no_numpy():
    code = (
        "import sys; from bench.cli import main\n"
        "main(['data', 'list'])\n"
        "assert 'numpy' not in sys.modules and 'torch' not in sys.modules"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_check_json_of_a_clean_copy(capsys, sunnybrook_root):
    code, out, _ = run_cli(
        capsys, "data", "check", "--dataset", "sunnybrook", "--data-root", sunnybrook_root, "--json"
    )
    report = json.loads(out)
    assert code == 0
    assert (report["subjects"], report["samples"], report["problems"]) == (2, 4, [])
    assert report["labels"] == {"ED": 2, "ES": 2, "segmented": 4}


def test_check_exit_codes_and_every_problem_listed(capsys, tmp_path):
    root = fake_sunnybrook.make_sunnybrook(tmp_path / "sb")
    bad = sorted((root / "dicoms" / "SCD0000201").glob("*.dcm"))
    for path in bad[:3]:
        truncate(path)
    code, out, _ = run_cli(capsys, "data", "check", "--dataset", "sunnybrook", "--data-root", root)
    assert code == 1  # usable, with problems
    assert all(str(path) in out for path in bad[:3]) and "problems: " in out
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, _ = run_cli(capsys, "data", "check", "--dataset", "acdc", "--data-root", empty)
    assert code == 2 and "NOT usable" in out and "missing: split folder" in out


def test_check_without_a_root_is_one_line(capsys):
    code, _, err = run_cli(capsys, "data", "check", "--dataset", "acdc")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "needs --data-root" in err


def test_preview_writes_a_png(capsys, tmp_path, cbis_root):
    root, _ = cbis_root
    out = tmp_path / "grid.png"
    code, text, _ = run_cli(
        capsys, "data", "preview", "--dataset", "cbis-ddsm", "--data-root", root, "--out", out
    )
    assert code == 0 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "6 of 6" in text


@pytest.mark.integration
def test_recon_attack_runs_on_sunnybrook_end_to_end(capsys, tmp_path, sunnybrook_root):
    acdc = tmp_path / "acdc"
    fake_cardiac.make_acdc(acdc, n=2)
    code, _, err = run_cli(
        capsys, "run", "--task", "recon-attack", "--profile", "smoke", "--eps", "10",
        "--data", "sunnybrook", "--data-root", sunnybrook_root,
        "--public-data", "acdc", "--public-data-root", acdc, "--out", tmp_path / "runs",
    )  # fmt: skip
    assert code == 0, err
    records = iter_records(tmp_path / "runs")
    assert len(records) == 5  # every method of the task
    _, out, _ = run_cli(capsys, "data", "check", "--dataset", "sunnybrook",
                        "--data-root", sunnybrook_root, "--json")  # fmt: skip
    root_hash = json.loads(out)["content_hash"]
    for record in records:
        block = record["dataset"]
        assert block["name"] == "sunnybrook" and block["root_content_hash"] == root_hash
        assert block["public"]["name"] == "acdc" and block["public"]["role"] == "public"
        assert len(block["public"]["root_content_hash"]) == 16


def test_recon_attack_on_real_mammo_patches(capsys, tmp_path, png_root):
    root, _ = png_root
    code, _, err = run_cli(
        capsys, "run", "--task", "recon-attack", "--profile", "smoke", "--eps", "10",
        "--methods", "prior-free", "--data", "mammo-png", "--data-root", root,
        "--out", tmp_path, "--set", "protocol.prior_free.trials=20",
    )  # fmt: skip
    assert code == 0, err
    (record,) = iter_records(tmp_path)
    assert record["dataset"]["distinct_samples"] == 8 and record["dataset"]["samples"] == 20


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--data", "acdc"], "dataset 'acdc' needs --data-root DIR"),
        (["--data-root", "."], "--data-root . given, but phantom-cardiac is built in"),
        (["--data", "phantom", "--public-data", "cbis-ddsm", "--public-data-root", "."],
         "is mammo data but --data phantom-cardiac is cardiac"),
        (["--data", "mammo-png", "--data-root", ".", "--public-data", "mammo-png",
          "--public-data-root", "."], "must not be the private data"),
    ],
)  # fmt: skip
def test_bad_data_flags_are_one_clear_line(capsys, tmp_path, extra, message):
    code, _, err = run_cli(capsys, "run", "--task", "recon-attack", "--out", tmp_path, *extra)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err


def test_identification_refuses_a_pool_smaller_than_its_prior(capsys, tmp_path):
    fake_mammo.make_vindr(tmp_path / "vindr")
    code, _, err = run_cli(
        capsys, "run", "--task", "recon-attack", "--profile", "smoke", "--eps", "10",
        "--methods", "identification", "--data", "vindr-mammo",
        "--data-root", tmp_path / "vindr", "--out", tmp_path / "runs",
    )  # fmt: skip
    assert code == 1 and "gives 3 distinct target images" in err
