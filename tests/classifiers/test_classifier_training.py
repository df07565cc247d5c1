"""Training loops, SimCLR pre-training and the Swin-T option of the reference classifiers."""

import math

import numpy as np
import pytest
import torch

from bench.errors import BenchError
from bench.metrics.classification import auroc
from bench.privacy.budget import PrivacyBudget
from bench.privacy.ledger import PrivacyLedger
from classifiers.pretrain import PretrainConfig, augment, nt_xent, pretrain_simclr
from classifiers.training import (
    FLIPS,
    TrainConfig,
    features_of,
    fit,
    fit_head,
    flip,
    flipped_features,
    malignancy_scores,
    to_input,
)
from classifiers.vit import VisionTransformer, ViTConfig

TINY = ViTConfig(image_size=16, patch_size=4, dim=16, depth=1, heads=2)


def _toy(n=96, seed=0):
    """Class 1 has a bright centre: separable, so that a few epochs learn it."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 0.5, (n, 16, 16)).astype(np.float32)
    labels = np.arange(n) % 2
    images[labels == 1, 6:10, 6:10] += 0.5
    return to_input(images), torch.as_tensor(labels)


def test_flip_codes():
    x = torch.arange(4.0).view(1, 1, 2, 2).repeat(4, 1, 1, 1)
    out = flip(x, torch.arange(4))
    assert torch.equal(out[0], x[0]) and torch.equal(out[1], x[1].flip(-1))
    assert torch.equal(out[2], x[2].flip(-2)) and torch.equal(out[3], x[3].flip(-1).flip(-2))


@pytest.mark.slow  # ~11 s; the task tests train the same loop end to end
def test_non_private_fit_learns_a_separable_toy():
    torch.manual_seed(0)
    model = VisionTransformer(TINY)
    x, y = _toy()
    training = fit(model, (x, y), TrainConfig(epochs=15, batch_size=32))  # public tensors
    assert training.engine is None and training.achieved_epsilon() == math.inf
    assert auroc(y.numpy(), malignancy_scores(model, x)) > 0.9


@pytest.mark.parametrize("head", [False, True])
def test_private_fit_stays_within_its_budget(head):
    torch.manual_seed(0)
    model, (x, y) = VisionTransformer(TINY), _toy()
    schedule = TrainConfig(epochs=2, batch_size=32)
    ledger = PrivacyLedger(PrivacyBudget(3.0, 1e-5), unit="one image")
    data = ledger.hold("toy", x, y)
    if head:
        model.freeze_backbone()
        feats = features_of(model.backbone, x)
        assert feats.shape == (len(x), FLIPS, TINY.dim)
        features = flipped_features(model.backbone, schedule.augment)
        data = data.map(lambda x, y: features((x[:, 0] + 1) / 2, y), "frozen features")
        training = fit_head(model.head, data, schedule, ledger=ledger)
    else:
        training = fit(model, data, schedule, ledger=ledger)
    assert training.steps_taken() == 2 * 3
    assert 0 < training.achieved_epsilon() <= 3.0
    assert ledger.runs[0]["noise_multiplier"] == training.calibration.sigma
    assert not model.head.training  # left in eval mode for evaluation


def test_features_of_flips_match_flipped_inputs():
    torch.manual_seed(0)
    model, (x, _) = VisionTransformer(TINY), _toy(8)
    feats = features_of(model.backbone, x)
    with torch.no_grad():
        torch.testing.assert_close(feats[:, 1], model.backbone(x.flip(-1)))


def test_nt_xent_prefers_matching_views():
    z = torch.eye(4).repeat(2, 1)  # view i and view i + 4 identical, others orthogonal
    matched = nt_xent(z, 0.1)
    shuffled = nt_xent(torch.cat([z[:4], z[[1, 2, 3, 0]]]), 0.1)
    assert matched < 0.01 < shuffled


def test_simclr_pretraining_changes_the_backbone_and_is_seeded():
    x, _ = _toy(32)
    views = augment(x, torch.Generator().manual_seed(0))
    assert views.shape == x.shape and views.abs().max() <= 1
    states = []
    for _ in range(2):
        torch.manual_seed(0)
        model = VisionTransformer(TINY)
        before = [p.detach().clone() for p in model.backbone.parameters()]
        config = PretrainConfig(epochs=1, batch_size=16)
        pretrain_simclr(model.backbone, x, config, width=TINY.dim, seed=1)
        after = list(model.backbone.parameters())
        assert all(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
        states.append(torch.cat([p.detach().flatten() for p in after]))
    assert torch.equal(states[0], states[1])


def test_swin_needs_a_local_weights_file(tmp_path):
    from classifiers.swin import load_swin_t

    with pytest.raises(BenchError, match=r"pretrained_weights=.*nothing is downloaded"):
        load_swin_t("")
    with pytest.raises(BenchError, match=r"swin_t-704ceda3\.pth"):
        load_swin_t(tmp_path / "missing.pth")
    bogus = tmp_path / "bogus.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bogus)
    with pytest.raises(BenchError, match="not a torchvision swin_t state dict"):
        load_swin_t(bogus)


@pytest.mark.slow
def test_swin_head_only_classifier_from_a_local_state_dict(tmp_path):
    from torchvision.models import swin_t

    from classifiers.swin import swin_classifier

    path = tmp_path / "swin_t.pth"
    torch.save(swin_t(weights=None).state_dict(), path)
    model = swin_classifier(path)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == 296_066  # the paper's head: 768 -> 384 -> 2
    with torch.no_grad():
        assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 2)
