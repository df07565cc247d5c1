"""The ledger's readout options: subject-level epsilon, secure RNG, the delta warning."""

import sys
import types
import warnings

import pytest
import torch

from bench.errors import BenchError
from bench.privacy.budget import PrivacyBudget
from bench.privacy.ledger import LargeDeltaWarning, PrivacyLedger
from tests.bench.privacy.test_ledger import _dp, _held, _train


def test_subject_level_epsilon_is_in_the_block_for_several_records_per_subject():
    ledger = PrivacyLedger(PrivacyBudget(2.0, 1e-5, "rdp"), unit="one frame", records_per_subject=2)
    _train(_dp(ledger, _held(ledger)), epochs=3)
    block = ledger.privacy_block()
    subject = block["subject_level"]
    assert subject["records_per_subject"] == 2 and subject["delta"] == 1e-5
    assert subject["epsilon"] > 2 * block["achieved_epsilon"]
    assert "rng" not in block  # seeded: the default, as in records made before the flag


def test_one_record_per_subject_states_no_subject_level():
    ledger = PrivacyLedger(PrivacyBudget(2.0, 1e-5, "rdp"), unit="one row")
    _train(_dp(ledger, _held(ledger)), epochs=1)
    assert "subject_level" not in ledger.privacy_block()


@pytest.fixture
def fake_csprng(monkeypatch):
    """A stand-in for torchcsprng (not installable beside this torch): the plumbing only."""
    made = []

    def create_random_device_generator(path):
        made.append(path)
        return torch.Generator().manual_seed(int.from_bytes(open(path, "rb").read(4), "little"))

    module = types.SimpleNamespace(create_random_device_generator=create_random_device_generator)
    monkeypatch.setitem(sys.modules, "torchcsprng", module)
    return made


def test_secure_rng_uses_opacus_secure_mode_and_drops_the_seeded_generator(fake_csprng):
    ledger = PrivacyLedger(PrivacyBudget(2.0, 1e-5, "rdp"), unit="one row", secure_rng=True)
    training = _dp(ledger, _held(ledger))  # passes a seeded noise_generator: dropped
    assert training.engine.secure_mode and fake_csprng == ["/dev/urandom"]
    assert training.optimizer.secure_mode
    _train(training, epochs=1)
    assert ledger.privacy_block()["rng"] == "secure"


def test_secure_rng_refuses_a_mechanism_whose_noise_the_caller_draws():
    ledger = PrivacyLedger(PrivacyBudget(2.0, 1e-5), unit="one row", secure_rng=True)
    data = _held(ledger)
    with pytest.raises(BenchError, match="secure-rng"):
        ledger.calibrated("release", data, sample_rate=1.0, steps=1, max_grad_norm=1.0)


def test_delta_of_one_over_n_or_more_warns():
    ledger = PrivacyLedger(PrivacyBudget(2.0, 0.01), unit="one row")
    with pytest.warns(LargeDeltaWarning, match=r"delta 0.01 >= 1/N for the 256 records"):
        _held(ledger)
    quiet = PrivacyLedger(PrivacyBudget(2.0, 1e-5), unit="one row")
    with warnings.catch_warnings():  # a delta well below 1/N does not warn
        warnings.simplefilter("error", LargeDeltaWarning)
        _held(quiet)
