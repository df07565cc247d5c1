"""The mammo-cls task at the smoke profile: honest records, composed budgets, clear errors."""

import math

import numpy as np
import pytest

from bench.api import run
from bench.errors import BenchError, UnknownNameError
from bench.records import iter_records
from bench.runner import RunRequest, validate_request
from bench.tasks import get_method, get_task
from classifiers.mammo.checkpoints import save_checkpoint

REGIMES = ("dp-vit-real", "dp-vit-real+syn", "dp-vit-synpre", "vit-syn-only")


def _request(out, methods=REGIMES, eps=(10.0, math.inf), **kw):
    base = dict(
        task="mammo-cls",
        epsilons=eps,
        methods=methods,
        seeds=(0,),
        profile="smoke",
        dataset="phantom-mammo",
        out=out,
    )
    return RunRequest(**{**base, **kw})


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    out = tmp_path_factory.mktemp("mammo")
    result = run(_request(out))
    assert not result.failed, [s.error for s in result.failed]
    return {(r["method"], r["epsilon"]): r for r in iter_records(out)}


def test_declaration():
    task = get_task("mammo-cls")
    assert task.primary_metric == "auroc_internal" and task.delta == 1e-4
    assert set(task.default_methods) == set(REGIMES) and task.version == 2
    assert task.settings["small"].image_size == 64 and task.settings["paper"].image_size == 128
    config = get_method("mammo-cls", "dp-vit-real").configs["small"]
    assert not hasattr(config, "image_size") and not hasattr(config, "bootstrap")


def _evaluation(privacy):
    *trained, last = privacy["private_data_steps"]
    assert last["name"] == "evaluation" and last["data"].startswith("internal test split")
    return trained


def test_every_record_is_within_its_budget(records):
    assert len(records) == 2 * len(REGIMES)
    for (method, eps), record in records.items():
        privacy = record["privacy"]
        trained = _evaluation(privacy)  # every record states the scoring on the test split
        if method == "vit-syn-only":  # public GAN: no private training record is ever read
            assert privacy["achieved_epsilon"] == 0.0 and trained == []
        elif eps == "inf":
            assert privacy["target_epsilon"] is None
        else:
            assert 0 < privacy["achieved_epsilon"] <= privacy["target_epsilon"]
            assert privacy["noise_multiplier"] > 0 and privacy["sampling"] == "poisson"
            (step,) = trained
            assert step["protection"].startswith("DP-SGD") and "whole ViT" in step["name"]
        public = [step["name"] for step in privacy["public_data_steps"]]
        assert privacy["public_data_steps"][0]["data"] == "public split, without labels"
        assert ("malignancy-conditioned GAN training" in public) == (method != "dp-vit-real")
        assert "unbounded" not in record["risk"]  # every private read is a DP run or scoring


def test_metrics_and_dataset_block(records):
    record = records[("dp-vit-real+syn", "10")]
    metrics = record["metrics"]
    for split in ("internal", "external"):
        auc = metrics[f"auroc_{split}"]
        assert metrics[f"auroc_{split}_ci_low"] <= auc <= metrics[f"auroc_{split}_ci_high"]
        assert 0 <= metrics[f"auprc_{split}"] <= 1 and 0 <= metrics[f"accuracy_{split}"] <= 1
    assert metrics["fid"] >= 0 and metrics["fid_floor"] >= 0
    assert metrics["synthetic_benign"] == metrics["synthetic_malignant"] == 32
    assert record["dataset"]["positive_class"] == "malignant (label 1)"
    scoring = record["scoring"]
    assert scoring["method"]["gan"]["source"] == "public" and scoring["synthetic"]["count"] == 64
    assert scoring["fid_extractor"]["name"] == "phantom-encoder-v1"
    assert record["protocol"]["image_size"] == 32 and record["protocol"]["bootstrap"] == 50
    assert "fid" not in records[("dp-vit-real", "10")]["metrics"]


def test_outputs_reproduce_the_metrics(records):
    from bench.metrics.classification import accuracy, auprc, auroc

    record = records[("dp-vit-real", "10")]
    for split, n in (("internal", "n_test"), ("external", "n_external")):
        out = record["outputs"][split]
        assert out["id"] == list(range(record["protocol"][n]))
        labels, scores = np.array(out["label"]), np.array(out["score"])
        assert set(labels.tolist()) == {0, 1} and ((scores >= 0) & (scores <= 1)).all()
        for metric in (auroc, auprc, accuracy):
            assert metric(labels, scores) == record["metrics"][f"{metric.__name__}_{split}"]


def test_union_lowers_the_sample_rate(records):
    real = records[("dp-vit-real", "10")]["privacy"]
    union = records[("dp-vit-real+syn", "10")]["privacy"]
    assert union["sample_rate"] < real["sample_rate"]  # same batch, twice the records


def test_every_dp_model_states_its_risk(records):
    record = records[("dp-vit-synpre", "10")]
    risk = record["risk"]
    assert risk["sigma"] == record["privacy"]["noise_multiplier"]
    assert risk["dim"] == 32 * 32 and risk["norm"] == 1.01
    assert {"p_mse_le", "rero", "threat_models"} <= set(risk)
    assert records[("vit-syn-only", "10")]["risk"]["private_data_touched"] is False
    baseline = records[("dp-vit-real", "inf")]
    risk, q = baseline["risk"], baseline["risk"]["sample_rate"]
    # no noise: the prior-free adversary succeeds whenever one of the planned steps sampled
    # the target (the ledger takes no accounted step without DP)
    assert risk["sigma"] == 0 and risk["steps"] == baseline["config"]["epochs"] * round(1 / q)
    assert risk["p_mse_le"] == pytest.approx(1 - (1 - q) ** risk["steps"])


@pytest.mark.slow  # ~22 s: a DP GAN and a DP classifier composed (opt-in: pytest -m slow)
def test_dp_gan_budget_is_composed_with_the_classifier(tmp_path):
    request = _request(
        tmp_path,
        ("dp-vit-real+syn", "vit-syn-only"),
        eps=(4.0,),
        overrides={"gan_source": "private-dp"},
        accountant="rdp",
    )
    result = run(request)
    assert not result.failed, [s.error for s in result.failed]
    records = {r["method"]: r for r in iter_records(tmp_path)}
    privacy = records["dp-vit-real+syn"]["privacy"]
    assert privacy["achieved_epsilon"] <= 4.0
    names = [step["name"] for step in _evaluation(privacy)]
    assert names[0] == "cGAN discriminator training" and names[1].startswith("classifier")
    gan, classifier = privacy["runs"]  # the composition, as the leaderboard recomputes it
    assert gan["noise_multiplier"] > 0 and classifier["noise_multiplier"] > 0
    assert records["dp-vit-real+syn"]["risk"]["runs"][0]["name"] == gan["name"]
    from bench.leaderboard.checks import recompute_epsilon

    assert recompute_epsilon(privacy) == pytest.approx(privacy["achieved_epsilon"])
    only = records["vit-syn-only"]["privacy"]  # the GAN spends the whole budget
    assert 3.9 <= only["achieved_epsilon"] <= 4.0
    assert recompute_epsilon(only) == pytest.approx(only["achieved_epsilon"])
    assert records["dp-vit-real+syn"]["scoring"]["method"]["gan"]["source"] == "private-dp"


def _fails_cleanly(out, methods, match, eps=(10.0,), **overrides):
    result = run(_request(out, methods, eps=eps, overrides=overrides))
    assert [s.state for s in result.statuses] == ["failed"] * len(methods)
    assert all(match in s.error for s in result.failed), [s.error for s in result.failed]
    assert iter_records(out) == []  # no partial record


def test_a_non_private_gan_of_private_data_is_refused(tmp_path):
    _fails_cleanly(
        tmp_path, ("vit-syn-only",), "non-private GAN", eps=(math.inf,), gan_source="private-dp"
    )


def test_unknown_regime_is_a_clear_error(tmp_path):
    with pytest.raises(UnknownNameError, match="did you mean 'dp-vit-real'"):
        validate_request(_request(tmp_path, ("dp-vit-rael",)))


def test_missing_pretrained_weights_are_a_clear_error(tmp_path):
    missing = str(tmp_path / "nowhere.pt")
    _fails_cleanly(
        tmp_path / "a", ("dp-vit-real",), "no vit checkpoint", pretrained_weights=missing
    )
    _fails_cleanly(
        tmp_path / "b", ("dp-vit-real",), "nothing is downloaded", backbone="swin-t", train="head"
    )
    _fails_cleanly(tmp_path / "c", ("dp-vit-real",), "head-only", backbone="swin-t")


def test_mismatching_gan_checkpoint_is_a_clear_error(tmp_path):
    from generators.cgan import CGANConfig, Generator

    path = tmp_path / "gan.pt"
    meta = {
        "image_size": 64,
        "width": 8,
        "nz": 100,
        "embed_dim": 50,
        "classes": 2,
        "source": "public",
    }
    state = Generator(CGANConfig(64, 8)).state_dict()
    save_checkpoint(path, "cgan-generator", "user", meta, state)
    _fails_cleanly(
        tmp_path / "a",
        ("vit-syn-only",),
        "image_size: checkpoint 64, expected 32",
        gan_checkpoint=str(path),
    )
    save_checkpoint(
        path, "cgan-generator", "user", {**meta, "image_size": 32, "source": "x"}, state
    )
    _fails_cleanly(
        tmp_path / "b",
        ("vit-syn-only",),
        "source: checkpoint 'x', expected 'public'",
        gan_checkpoint=str(path),
    )
    path.write_bytes(b"not a checkpoint")
    _fails_cleanly(
        tmp_path / "c",
        ("dp-vit-synpre",),
        "corrupt cgan-generator checkpoint",
        gan_checkpoint=str(path),
    )


def test_a_matching_public_gan_checkpoint_is_used(tmp_path):
    from generators.cgan import CGANConfig, Generator

    path = tmp_path / "gan.pt"
    meta = {
        "image_size": 32,
        "width": 8,
        "nz": 100,
        "embed_dim": 50,
        "classes": 2,
        "source": "public",
    }
    save_checkpoint(path, "cgan-generator", "user", meta, Generator(CGANConfig(32, 8)).state_dict())
    result = run(
        _request(
            tmp_path / "out",
            ("vit-syn-only",),
            eps=(10.0,),
            overrides={"gan_checkpoint": str(path)},
        )
    )
    assert not result.failed, [s.error for s in result.failed]
    (record,) = iter_records(tmp_path / "out")
    assert record["scoring"]["method"]["gan"]["checkpoint"] == str(path)


def test_a_damaged_cache_entry_is_rebuilt_and_said(tmp_path, monkeypatch, caplog):
    import torch

    from bench.cache import cache_dir

    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path / "cache"))
    request = _request(tmp_path / "a", ("dp-vit-real",), eps=(math.inf,))
    assert not run(request).failed
    (first,) = iter_records(tmp_path / "a")
    (entry,) = cache_dir("mammo-cls", "vit").glob("*.pt")
    truncated = entry.read_bytes()[:100]
    state, blob, _ = __import__("bench.checkpoints").checkpoints.read_checkpoint(entry, "vit")
    zeroed = {k: torch.zeros_like(v) for k, v in state.items()}
    damages = {
        "truncated": lambda: entry.write_bytes(truncated),
        # zeroed weights whose side-car SHA-256 is recomputed: only the cache index knows
        "zeroed": lambda: save_checkpoint(entry, "vit", blob["key"], blob["meta"], zeroed),
    }
    for name, damage in damages.items():
        damage()
        caplog.clear()
        out = tmp_path / name
        assert not run(_request(out, ("dp-vit-real",), eps=(math.inf,))).failed
        (again,) = iter_records(out)
        assert again["metrics"] == first["metrics"], name
        assert "cached vit" in caplog.text and "rebuilding it" in caplog.text, name


def test_same_seed_gives_identical_records(tmp_path):
    first = run(_request(tmp_path / "a", ("dp-vit-real",), eps=(10.0,)))
    second = run(_request(tmp_path / "b", ("dp-vit-real",), eps=(10.0,)))
    assert not first.failed and not second.failed
    a, b = (iter_records(tmp_path / d)[0] for d in ("a", "b"))
    assert a["metrics"] == b["metrics"] and a["privacy"] == b["privacy"]


def test_head_only_training_is_declared(tmp_path):
    result = run(_request(tmp_path, ("dp-vit-real",), eps=(10.0,), overrides={"train": "head"}))
    assert not result.failed, [s.error for s in result.failed]
    (record,) = iter_records(tmp_path)
    (step,) = _evaluation(record["privacy"])
    assert "MLP head on the frozen backbone" in step["name"]


@pytest.mark.slow  # 5-10 s; tests/classifiers/test_cnn.py checks its per-sample gradients
def test_the_groupnorm_resnet_backbone_trains_under_dp(tmp_path):
    overrides = {"backbone": "resnet-gn"}
    result = run(_request(tmp_path, ("dp-vit-real",), eps=(10.0,), overrides=overrides))
    assert not result.failed, [s.error for s in result.failed]
    (record,) = iter_records(tmp_path)
    names = [s["name"] for s in record["privacy"]["private_data_steps"]]
    assert "classifier training (whole resnet-gn)" in names
    public = [s["name"] for s in record["privacy"]["public_data_steps"]]
    assert "GroupNorm ResNet backbone pre-training (simclr)" in public
    assert 0 < record["privacy"]["achieved_epsilon"] <= 10


def test_bad_input_never_reaches_training(tmp_path):
    from dataclasses import replace

    from bench.privacy.budget import PrivacyBudget
    from classifiers.mammo.synthetic import check_gan_inputs

    config = get_method("mammo-cls", "vit-syn-only").configs["smoke"]
    with pytest.raises(BenchError, match="gan_budget_share"):
        check_gan_inputs(replace(config, gan_budget_share=1.5), PrivacyBudget(1.0, 1e-4), 32)


@pytest.mark.slow
def test_small_profile_auroc_band_and_the_cost_of_dp(tmp_path):
    """The task's calibration claim (docs/mammo-cls.md): about 7 minutes on one core."""
    request = _request(tmp_path, methods=("dp-vit-real",), eps=(1.0, math.inf), profile="small")
    result = run(request)
    assert not result.failed, [s.error for s in result.failed]
    auroc = {r["epsilon"]: r["metrics"]["auroc_internal"] for r in iter_records(tmp_path)}
    assert 0.80 <= auroc["inf"] <= 0.97, auroc
    assert auroc["1"] < auroc["inf"] - 0.05, auroc


def _png_layout(root, n_train=24, n_test=8, variant="private"):
    """Study B's PNG folder (mammo-png) of phantom patches, per-split patients."""
    from PIL import Image

    from bench.datasets.phantoms.mammo import make_mammo

    data = make_mammo(n_train + n_test, variant, size=64, seed=3)
    for i, (image, label) in enumerate(zip(data.images, data.labels, strict=True)):
        split, benign = ("train" if i < n_train else "test"), int(label == 0)
        folder = root / "cbis-ddsm" / split / f"is_benign_{'true' if benign else 'false'}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"patientcbis-ddsm__P_{i:05d}_image{i}_mass0_is_benign_{benign}.png"
        Image.fromarray((image * 255).astype(np.uint8)).save(folder / name)
    return root


def test_a_real_dataset_runs_end_to_end(tmp_path):
    from bench.datasets.loading import describe

    root = _png_layout(tmp_path / "png")
    request = _request(
        tmp_path / "runs", methods=("dp-vit-real", "dp-vit-real+syn"), eps=(10.0,),
        dataset="mammo-png", data_root=root,
    )  # fmt: skip
    result = run(request)
    assert not result.failed, [s.error for s in result.failed]
    for record in iter_records(tmp_path / "runs"):
        dataset, metrics = record["dataset"], record["metrics"]
        assert dataset["name"] == "mammo-png" and dataset["samples"]["train"] == 24
        assert dataset["root_content_hash"] == describe("mammo-png", root)["root_content_hash"]
        assert dataset["external"].startswith("none") and "auroc_external" not in metrics
        assert 0 <= metrics["auroc_internal"] <= 1
        assert record["privacy"]["achieved_epsilon"] <= 10.0
    rerun = run(request)  # resume: the root's content hash matches, nothing recomputed
    assert [s.state for s in rerun.statuses] == ["skipped", "skipped"]


def test_a_real_split_with_one_class_is_a_clear_error(tmp_path):
    root = _png_layout(tmp_path / "png")
    for path in (root / "cbis-ddsm" / "test" / "is_benign_true").glob("*.png"):
        path.unlink()
    request = _request(tmp_path / "runs", methods=("dp-vit-real",), eps=(10.0,),
                       dataset="mammo-png", data_root=root)  # fmt: skip
    (status,) = run(request).failed
    assert "the test split of 'mammo-png'" in status.error and "needs both classes" in status.error


def test_an_external_site_is_scored_and_named(tmp_path):
    from bench.datasets.loading import describe

    root = _png_layout(tmp_path / "png")
    site = _png_layout(tmp_path / "site", n_train=0, n_test=12, variant="external")
    request = _request(
        tmp_path / "runs", methods=("dp-vit-real",), eps=(10.0,), dataset="mammo-png",
        data_root=root, external_dataset="mammo-png", external_data_root=site,
    )  # fmt: skip
    assert not run(request).failed
    (record,) = iter_records(tmp_path / "runs")
    assert record["dataset"]["samples"]["external"] == 12
    assert record["dataset"]["external_site"] == {
        "name": "mammo-png",
        "root_content_hash": describe("mammo-png", site)["root_content_hash"],
        "role": "external test site",
    }
    assert 0 <= record["metrics"]["auroc_external"] <= 1
    assert [s.state for s in run(request).statuses] == ["skipped"]


@pytest.mark.parametrize(
    ("task", "external", "message"),
    [
        ("cardiac-ldm", "acdc", "task 'cardiac-ldm' has no external test site"),
        ("mammo-cls", "phantom-mammo", "phantoms' external site is the default"),
        ("mammo-cls", "acdc", "--external-data acdc is cardiac data"),
    ],
)
def test_a_wrong_external_site_is_refused_before_any_cell(tmp_path, task, external, message):
    root = tmp_path if external != "phantom-mammo" else None
    request = RunRequest(
        task=task, epsilons=(10.0,), methods=(get_task(task).default_methods[0],), seeds=(0,),
        profile="smoke", dataset=get_task(task).datasets[0], out=tmp_path / "runs",
        external_dataset=external, external_data_root=root,
    )  # fmt: skip
    with pytest.raises(BenchError, match=message):
        validate_request(request)
