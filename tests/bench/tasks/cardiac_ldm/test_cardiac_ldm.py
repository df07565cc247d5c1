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
    result = run(_request(out, overrides={"protocol.save_samples": "true"}))
    assert not result.failed, [s.error for s in result.failed]
    return out, {(r["method"], r["epsilon"]): r for r in iter_records(out)}


def test_achieved_epsilon_within_target_and_every_private_step_listed(smoke_run):
    _, records = smoke_run
    for (method, eps), record in records.items():
        privacy = record["privacy"]
        steps = privacy["private_data_steps"]
        assert [s["name"].split(" ")[0] for s in steps] == ["denoiser", "evaluation"]
        assert "latents of the frozen public autoencoder" in steps[0]["data"]
        if eps == "inf":
            assert privacy["achieved_epsilon"] is None and privacy["noise_multiplier"] == 0
            assert steps[0]["protection"].startswith("none: non-private")
        else:
            assert 0 < privacy["achieved_epsilon"] <= privacy["target_epsilon"] == 10
            assert steps[0]["protection"].startswith("DP-SGD") and privacy["steps"] > 0
        public = " ".join(step["name"] for step in privacy["public_data_steps"])
        assert "latent scaling factor" in public and "autoencoder" in public
        assert "evaluators" in public
        assert ("pre-training" in public) == (method == "dp-ldm")


def test_records_carry_metrics_risk_hashes_and_stage_times(smoke_run):
    _, records = smoke_run
    record = records[("dp-ldm", "10")]
    metrics = record["metrics"]
    for name in ("fid", "fid_floor", "fid_3d", "fid_reconstruction", "msssim_generated"):
        assert math.isfinite(metrics[name]) and record["higher_is_better"][name] is False
    assert metrics["fid_floor"] == records[("dp-ldm-scratch", "inf")]["metrics"]["fid_floor"]
    assert record["dataset"]["public_volumes"]["variant"] == "public"
    assert record["protocol"]["volume"] == [4, 16, 16] and "threads" not in record["config"]
    scoring = record["scoring"]
    public = scoring["artifact"]["public_parts"]
    assert public["data"]["variant"] == "public" and len(public["pretrained_sha256"]) == 64
    assert {e["name"] for e in scoring["evaluation"]["fid_extractors"]} == {
        "phantom-encoder-v1",
        "cardiac-volume-encoder",
    }
    assert {"private training"} <= set(scoring["artifact"]["stage_seconds"])
    assert {"data", "sampling", "metrics"} <= set(scoring["stage_seconds"])
    assert record["risk"]["sigma"] == record["privacy"]["noise_multiplier"]
    assert record["risk"]["dim"] == 4 * 4 * 4  # the paper's latent of a (4, 16, 16) volume
    # both methods share the autoencoder (same seed) and the evaluators
    other = records[("dp-ldm-scratch", "10")]["scoring"]
    assert other["artifact"]["public_parts"]["autoencoder_sha256"] == public["autoencoder_sha256"]
    assert other["evaluation"]["weights_sha256"] == scoring["evaluation"]["weights_sha256"]


def test_metrics_recompute_from_the_records_outputs(smoke_run):
    import hashlib

    from bench.metrics.fid import fid
    from bench.tasks.cardiac_ldm.controllability import pearson

    out, records = smoke_run
    record = records[("dp-ldm-scratch", "10")]
    metrics, outputs = record["metrics"], record["outputs"]
    assert len(outputs["test_ids"]) == record["dataset"]["test_volumes"]
    asked, got = outputs["requested"], outputs["measured_generated"]
    pairs = [(g, a) for g, a in zip(got["lv_volume"], asked["lv_volume"], strict=True)
             if g is not None and a is not None]  # fmt: skip
    assert pearson(*zip(*pairs, strict=True)) == pytest.approx(metrics["lv_volume_r"], abs=1e-5)
    known = [(g, a) for g, a in zip(got["phase"], asked["phase"], strict=True) if a is not None]
    accuracy = np.mean([g == a for g, a in known])
    assert accuracy == pytest.approx(metrics["cycle_accuracy"])
    ssim = outputs["msssim_pairs"]["generated"]
    assert np.mean(ssim) == pytest.approx(metrics["msssim_generated"], rel=1e-6)
    files = outputs["fid_features"]
    path = out / "cardiac-ldm@v2" / "dp-ldm-scratch" / "eps=10" / "seed=0" / files["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == files["sha256"]
    with np.load(path) as f:
        a, b = f["half_a"], f["half_b"]
        real, fake = f["real_slice"], f["generated_slice"]
        dim = real.shape[-1]
        cross = 0.5 * (fid(fake[a].reshape(-1, dim), real[b].reshape(-1, dim))
                       + fid(fake[b].reshape(-1, dim), real[a].reshape(-1, dim)))  # fmt: skip
    assert cross == pytest.approx(metrics["fid"], rel=1e-9)
    assert [a.tolist(), b.tolist()] == [outputs["halves"]["a"], outputs["halves"]["b"]]


def test_pictures_and_nifti_samples_are_written(smoke_run):
    import nibabel as nib

    out, records = smoke_run
    method_dir = out / "cardiac-ldm@v2" / "dp-ldm"
    assert (method_dir / "eps=10" / "seed=0" / "samples.png").stat().st_size > 1000
    assert (method_dir / "samples_by_epsilon_seed=0.png").exists()
    niftis = sorted((method_dir / "eps=inf" / "seed=0" / "samples").glob("*.nii.gz"))
    test_volumes = records[("dp-ldm", "inf")]["dataset"]["test_volumes"]
    assert len(niftis) == test_volumes
    image = nib.load(niftis[0])
    assert image.shape == (16, 16, 4) and image.header.get_zooms()[2] == pytest.approx(32.5)


def _prepare(tmp_path, **kw):
    from bench.privacy.ledger import PrivacyLedger
    from bench.tasks.cardiac_ldm.protocol import PROTOCOL

    ctx = make_context(_request(tmp_path, **kw), Cell("cardiac-ldm", "dp-ldm", 10.0, 0))
    ledger = PrivacyLedger(ctx.budget, unit=ctx.task.privacy_unit)
    return ctx, ledger, PROTOCOL.prepare(ctx, ledger)


def test_the_view_has_the_private_split_behind_the_ledger_and_no_test_volume(tmp_path):
    from bench.privacy.ledger import PrivateData
    from bench.tasks.cardiac_ldm.api import ATTRIBUTES, CardiacView

    _, ledger, prepared = _prepare(tmp_path)
    view, test = prepared.view, prepared.held.test
    assert isinstance(view, CardiacView) and isinstance(view.private, PrivateData)
    assert len(view.private) == prepared.dataset["train_volumes"] == 32
    assert view.volume_shape == (4, 16, 16) and view.attribute_names == ATTRIBUTES
    assert view.public.identity["variant"] == "public" and len(view.public) == 32
    for value in vars(view).values():  # nothing in the view is a test volume
        arrays = [v for v in vars(value).values()] if hasattr(value, "__dict__") else [value]
        for array in arrays:
            if isinstance(array, np.ndarray) and array.shape[1:] == test.images.shape[1:]:
                assert not any(np.array_equal(t, x) for t in test.images for x in array)
    assert ledger.privacy_block()["private_data_steps"] == []


def test_private_split_keeps_subjects_whole_and_disjoint(tmp_path):
    from bench.tasks.cardiac_ldm.data import private_split

    ctx = make_context(_request(tmp_path), Cell("cardiac-ldm", "dp-ldm", 10.0, 0))
    split = private_split(ctx)
    train, test = set(split.train.subjects), set(split.test.subjects)
    assert not train & test
    assert len(split.train) == 2 * len(train) and len(split.test) == 2 * len(test)
    assert split.test.attributes[:, 11].tolist().count(1.0) == len(test)  # one ED each


def test_public_parts_do_not_depend_on_the_private_data(tmp_path):
    from bench.tasks.cardiac_ldm.api import PublicVolumes
    from bench.tasks.cardiac_ldm.data import load_public
    from generators.dp_ldm.public import public_parts

    cell = Cell("cardiac-ldm", "dp-ldm", 10.0, 0)

    def parts(dataset):
        ctx = make_context(_request(tmp_path, dataset=dataset), cell)
        data, identity = load_public(ctx, 32, (4, 16, 16), ctx.derive_seed("public-data"))
        view = PublicVolumes(data.images, data.attributes, data.spacing_mm, identity)
        return public_parts(ctx.for_method(), view)

    a, b = parts("phantom-cardiac"), parts("sunnybrook")
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


def test_a_tampered_cache_entry_is_rebuilt(tmp_path, monkeypatch, caplog):
    from bench.checkpoints import cached, write_checkpoint

    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path))
    builds = []

    def build():
        builds.append(1)
        return {"w": torch.ones(2)}, {}

    state, meta, sha = cached("cardiac-ldm", "demo", {"seed": 1}, build, device="cpu")
    assert torch.equal(state["w"], torch.ones(2)) and len(sha) == 64
    (path,) = (tmp_path / "cardiac-ldm" / "demo").glob("*.pt")
    damages = (
        lambda: path.write_bytes(path.read_bytes()[:-3] + b"xyz"),
        lambda: write_checkpoint(path, {"w": torch.zeros(2)}, meta),  # side-car agrees
        lambda: path.with_suffix(".json").unlink(),  # intact bytes: still trusted
    )
    for damage in damages:
        damage()
        caplog.clear()
        again, _, again_sha = cached("cardiac-ldm", "demo", {"seed": 1}, build, device="cpu")
        # identical weights give identical bytes, so a rebuilt entry has the same SHA-256
        assert torch.equal(again["w"], torch.ones(2)) and again_sha == sha
    assert len(builds) == 3  # the first build and two rebuilds; the intact entry was used


def test_a_cache_entry_is_never_reused_by_other_code_or_another_thread_count(tmp_path, monkeypatch):
    from bench import checkpoints
    from bench.threads import cpu_threads

    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path))
    builds = []

    def build():
        builds.append(torch.get_num_threads())
        return {"w": torch.ones(2)}, {}

    def make():
        return checkpoints.cached("cardiac-ldm", "demo", {"seed": 1}, build, device="cpu")

    with cpu_threads(1):
        make(), make()  # the second is a hit
        digest = checkpoints.source_digest("bench")
        monkeypatch.setattr(checkpoints, "source_digest", lambda name: digest[::-1])
        make()  # "other code": a new entry
        monkeypatch.undo()
        monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path))
    with cpu_threads(2):
        make()
    assert builds == [1, 1, 2]
    assert len(list((tmp_path / "cardiac-ldm" / "demo").glob("*.pt"))) == 3


def test_a_volume_shape_the_autoencoder_cannot_take_fails_the_cell_clearly(tmp_path):
    import dataclasses

    from bench.runner import execute_cell
    from generators.autoencoder import VolumeShapeError

    request = _request(tmp_path)
    ctx = make_context(request, Cell("cardiac-ldm", "dp-ldm", 10.0, 0))
    ctx = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, volume=(4, 18, 16)))
    with pytest.raises(VolumeShapeError, match=r"\(4, 18, 16\).*multiples of 4"):
        execute_cell(request, ctx)


def test_an_artifact_of_the_wrong_shape_or_with_nan_is_refused_clearly():
    from bench.errors import BenchError
    from bench.tasks.cardiac_ldm.scoring import generate_checked

    class Bad:
        def __init__(self, shape, value=0.0):
            self.shape, self.value = shape, value

        def generate(self, attributes, seed):
            return np.full((len(attributes), *self.shape), self.value, np.float32)

    attributes = np.zeros((3, 14), np.float32)
    assert generate_checked(Bad((4, 16, 16)), attributes, 0, (4, 16, 16)).shape == (3, 4, 16, 16)
    with pytest.raises(BenchError, match=r"shape \(3, 4, 8, 8\), not \(3, 4, 16, 16\)"):
        generate_checked(Bad((4, 8, 8)), attributes, 0, (4, 16, 16))
    with pytest.raises(BenchError, match="non-finite"):
        generate_checked(Bad((4, 16, 16), np.nan), attributes, 0, (4, 16, 16))


def test_halves_split_by_subject():
    from bench.tasks.cardiac_ldm.scoring import split_halves

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
