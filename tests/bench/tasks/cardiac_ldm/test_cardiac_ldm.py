"""The cardiac-ldm task end to end at the smoke profile: honest records, outputs, bad input."""

import math

import numpy as np
import pytest
import torch

from bench.api import run
from bench.records import iter_records
from bench.runner import RunRequest, make_context
from bench.tasks.base import Cell


def _request(out, methods=("dp-ldm", "dp-ldm-scratch"), eps=(10.0, math.inf), **kw):
    base = dict(
        task="cardiac-ldm",
        epsilons=eps,
        methods=methods,
        seeds=(0,),
        profile="smoke",
        dataset="phantom-cardiac",
        out=out,
    )
    return RunRequest(**{**base, **kw})


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cardiac")
    result = run(_request(out, overrides={"save_samples": "true"}))
    assert not result.failed, [s.error for s in result.failed]
    return out, {(r["method"], r["epsilon"]): r for r in iter_records(out)}


def test_achieved_epsilon_within_target_and_every_private_step_listed(smoke_run):
    _, records = smoke_run
    for (method, eps), record in records.items():
        privacy = record["privacy"]
        steps = privacy["private_data_steps"]
        assert [s["name"].split(" ")[0] for s in steps] == ["denoiser", "evaluation"]
        if eps == "inf":
            assert privacy["achieved_epsilon"] is None and privacy["noise_multiplier"] == 0
            assert steps[0]["protection"].startswith("none: non-private")
        else:
            assert 0 < privacy["achieved_epsilon"] <= privacy["target_epsilon"] == 10
            assert steps[0]["protection"].startswith("DP-SGD") and privacy["steps"] > 0
        public = " ".join(privacy["public_data_steps"])
        assert "latent scaling factor" in public and "autoencoder" in public
        assert ("pre-training" in public) == (method == "dp-ldm")


def test_records_carry_metrics_risk_hashes_and_stage_times(smoke_run):
    _, records = smoke_run
    record = records[("dp-ldm", "10")]
    metrics = record["metrics"]
    for name in ("fid", "fid_floor", "fid_3d", "fid_reconstruction", "msssim_generated"):
        assert math.isfinite(metrics[name]) and record["higher_is_better"][name] is False
    assert metrics["fid_floor"] == records[("dp-ldm-scratch", "inf")]["metrics"]["fid_floor"]
    dataset = record["dataset"]
    assert dataset["public_parts"]["data"]["variant"] == "public"
    assert len(dataset["public_parts"]["pretrained_sha256"]) == 64
    assert {e["name"] for e in dataset["evaluation"]["fid_extractors"]} == {
        "phantom-encoder-v1",
        "cardiac-volume-encoder",
    }
    assert {"private training", "sampling", "metrics"} <= set(dataset["stage_seconds"])
    assert record["risk"]["sigma"] == record["privacy"]["noise_multiplier"]
    # both methods share the autoencoder (same seed) and the evaluators
    other = records[("dp-ldm-scratch", "10")]["dataset"]
    assert (
        other["public_parts"]["autoencoder_sha256"] == dataset["public_parts"]["autoencoder_sha256"]
    )
    assert other["evaluation"]["weights_sha256"] == dataset["evaluation"]["weights_sha256"]


def test_pictures_and_nifti_samples_are_written(smoke_run):
    import nibabel as nib

    out, records = smoke_run
    method_dir = out / "cardiac-ldm@v1" / "dp-ldm"
    assert (method_dir / "eps=10" / "seed=0" / "samples.png").stat().st_size > 1000
    assert (method_dir / "samples_by_epsilon_seed=0.png").exists()
    niftis = sorted((method_dir / "eps=inf" / "seed=0" / "samples").glob("*.nii.gz"))
    test_volumes = records[("dp-ldm", "inf")]["dataset"]["test_volumes"]
    assert len(niftis) == test_volumes
    image = nib.load(niftis[0])
    assert image.shape == (16, 16, 4) and image.header.get_zooms()[2] == pytest.approx(32.5)


def test_private_split_keeps_subjects_whole_and_disjoint(tmp_path):
    from bench.tasks.cardiac_ldm_cells import private_split

    ctx = make_context(_request(tmp_path), Cell("cardiac-ldm", "dp-ldm", 10.0, 0))
    split = private_split(ctx)
    train, test = set(split.train.subjects), set(split.test.subjects)
    assert not train & test
    assert len(split.train) == 2 * len(train) and len(split.test) == 2 * len(test)
    assert split.test.attributes[:, 11].tolist().count(1.0) == len(test)  # one ED each


def test_public_parts_do_not_depend_on_the_private_data(tmp_path):
    from bench.tasks.cardiac_ldm_public import public_parts

    cell = Cell("cardiac-ldm", "dp-ldm", 10.0, 0)
    a = public_parts(make_context(_request(tmp_path), cell))
    b = public_parts(make_context(_request(tmp_path, dataset="sunnybrook"), cell))
    assert a.scale == b.scale and a.scaler == b.scaler
    assert a.info["autoencoder_sha256"] == b.info["autoencoder_sha256"]
    assert torch.equal(a.latents, b.latents)


def test_bench_run_on_a_sunnybrook_layout_end_to_end(tmp_path):
    from fixtures.fake_sunnybrook import PATIENTS, FakePatient, make_sunnybrook

    from bench.cli import main
    from bench.datasets.checking import check

    more = tuple(FakePatient(f"SCD00003{k}1", f"SC-HF-NI-{k}", 5, 8, ed=6, es=2) for k in (1, 2))
    root = make_sunnybrook(tmp_path / "sunnybrook", patients=PATIENTS + more)
    argv = ["run", "--task", "cardiac-ldm", "--profile", "smoke", "--eps", "10",
            "--methods", "dp-ldm-scratch", "--data", "sunnybrook", "--data-root", str(root),
            "--out", str(tmp_path / "runs")]  # fmt: skip
    assert main(argv) == 0
    (record,) = iter_records(tmp_path / "runs")
    assert record["dataset"]["name"] == "sunnybrook" and record["dataset"]["subjects"] == 4
    assert record["dataset"]["root_content_hash"] == check("sunnybrook", root).content_hash
    assert record["dataset"]["train_volumes"] == 4 and record["dataset"]["test_volumes"] == 4
    assert record["privacy"]["achieved_epsilon"] <= 10.0


def test_missing_pretrained_checkpoint_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere.pt"
    request = _request(
        tmp_path, methods=("dp-ldm",), eps=(math.inf,),
        overrides={"pretrained_checkpoint": str(missing)},
    )  # fmt: skip
    (status,) = run(request).failed
    assert status.error == f"CheckpointError: pretrained_checkpoint: no checkpoint at {missing}"


def test_corrupt_or_mismatched_checkpoints_are_clear_errors(tmp_path):
    from bench.checkpoints import CheckpointError, load_into, read_checkpoint
    from generators.autoencoder import InPlaneAutoencoder
    from generators.ldm_config import AutoencoderConfig

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        read_checkpoint(garbage, "autoencoder_checkpoint")
    small = tmp_path / "small.pt"
    torch.save(InPlaneAutoencoder(AutoencoderConfig(channels=(4, 8, 8))).state_dict(), small)
    state, _, _ = read_checkpoint(small, "autoencoder_checkpoint")
    with pytest.raises(CheckpointError, match="do not fit this model"):
        load_into(InPlaneAutoencoder(AutoencoderConfig()), state, "autoencoder_checkpoint")


def test_a_tampered_cache_entry_is_refused(tmp_path, monkeypatch):
    from bench.checkpoints import CheckpointError, cached

    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path))

    def build():
        return {"w": torch.ones(2)}, {}

    state, _, sha = cached("cardiac-ldm", "demo", {"seed": 1}, build)
    assert torch.equal(state["w"], torch.ones(2)) and len(sha) == 64
    (path,) = (tmp_path / "cardiac-ldm" / "demo").glob("*.pt")
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")
    with pytest.raises(CheckpointError, match="corrupt"):
        cached("cardiac-ldm", "demo", {"seed": 1}, build)


def test_a_volume_shape_the_autoencoder_cannot_take_fails_the_cell_clearly(tmp_path):
    import dataclasses

    from bench.tasks.cardiac_ldm_cells import run_cell
    from generators.autoencoder import VolumeShapeError

    ctx = make_context(_request(tmp_path), Cell("cardiac-ldm", "dp-ldm", 10.0, 0))
    ctx = dataclasses.replace(ctx, config=dataclasses.replace(ctx.config, volume=(4, 18, 16)))
    with pytest.raises(VolumeShapeError, match=r"\(4, 18, 16\).*multiples of 4"):
        run_cell(ctx)


def test_halves_split_by_subject():
    from bench.tasks.cardiac_ldm_eval import split_halves

    subjects = tuple(str(i // 2) for i in range(20))
    a, b = split_halves(subjects, seed=3)
    assert len(a) == len(b) == 10
    assert not {subjects[i] for i in a} & {subjects[i] for i in b}
    assert np.array_equal(np.sort(np.concatenate([a, b])), np.arange(20))


@pytest.fixture(scope="module")
def small_grid(tmp_path_factory):
    """The small-profile grid (about 20 minutes on 2 CPU cores), or the records of an
    existing run of it named by ``CARDIAC_LDM_SMALL_RUN`` (e.g. the one in the docs)."""
    import os
    from pathlib import Path

    existing = os.environ.get("CARDIAC_LDM_SMALL_RUN")
    out = Path(existing) if existing else tmp_path_factory.mktemp("cardiac-small")
    if not existing:
        result = run(_request(out, eps=(1.0, 10.0, math.inf), profile="small"))
        assert not result.failed, [s.error for s in result.failed]
    records = {(r["method"], r["epsilon"]): r for r in iter_records(out) if r["profile"] == "small"}
    assert len(records) == 6
    return {key: r["metrics"] for key, r in records.items()}


@pytest.mark.slow
def test_pretraining_gives_a_clearly_lower_fid_at_epsilon_10(small_grid):
    pretrained, scratch = small_grid[("dp-ldm", "10")], small_grid[("dp-ldm-scratch", "10")]
    assert pretrained["fid"] < 0.5 * scratch["fid"]
    assert pretrained["fid_3d"] < 0.5 * scratch["fid_3d"]


@pytest.mark.slow
def test_quality_of_training_from_scratch_falls_as_epsilon_shrinks(small_grid):
    fid = {eps: small_grid[("dp-ldm-scratch", eps)]["fid"] for eps in ("inf", "10", "1")}
    assert fid["inf"] < fid["10"] < fid["1"], fid


@pytest.mark.slow
def test_controllability_falls_as_epsilon_shrinks(small_grid):
    # dp-ldm: DP updates at eps <= 10 are noise-dominated, so the model stays close to its
    # public pre-training; private fine-tuning without noise makes it follow the private
    # population's attributes best. Differences between eps 10 and 1 are within noise.
    lv = {eps: small_grid[("dp-ldm", eps)]["lv_volume_r"] for eps in ("inf", "10", "1")}
    cycle = {eps: small_grid[("dp-ldm", eps)]["cycle_accuracy"] for eps in ("inf", "10", "1")}
    assert lv["inf"] > max(lv["10"], lv["1"]) and cycle["inf"] > max(cycle["10"], cycle["1"])
    for eps in ("inf", "10", "1"):  # without pre-training the schedule learns no control
        assert small_grid[("dp-ldm-scratch", eps)]["lv_volume_r"] < lv[eps] - 0.5


def test_attention_only_fine_tuning_needs_pretraining(tmp_path):
    request = _request(
        tmp_path, methods=("dp-ldm-scratch",), eps=(math.inf,),
        overrides={"finetune": "attention"},
    )  # fmt: skip
    (status,) = run(request).failed
    assert "finetune=attention needs pre-trained weights" in status.error
