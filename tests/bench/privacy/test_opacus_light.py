"""The torch-free accountants are opacus's: bit-identical epsilons, same calibrated sigma."""

import subprocess
import sys

import pytest
from opacus.accountants import PRVAccountant, RDPAccountant
from opacus.accountants.utils import get_noise_multiplier

from bench.privacy.accounting import epsilon_of_history, quiet_accountant, solve_sigma
from bench.privacy.budget import PrivacyBudget

HISTORIES = [
    [(1.0, 0.01, 1000)],
    [(1.0, 0.01, 10000)],
    [(0.8, 1.0, 1)],
    [(1.5, 0.04, 2250)],
    [(0.34671783447265625, 0.0625, 160)],
    [(1.0, 0.1, 100), (2.0, 0.05, 300)],  # a composition: the heterogeneous branch
]


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize(("name", "cls"), [("prv", PRVAccountant), ("rdp", RDPAccountant)])
def test_light_accountants_are_bit_identical_to_opacus(history, name, cls):
    acc = cls()
    acc.history = list(history)
    with quiet_accountant():
        expected = acc.get_epsilon(delta=1e-5)
    assert epsilon_of_history(history, 1e-5, name) == expected


# Cells of the committed boards (target, delta, q, T) -> the sigma their records carry.
BOARD_CELLS = [
    (1.0, 1e-5, 1.0, 1, 3.7890625),
    (10.0, 1e-5, 1.0, 1, 0.50048828125),
    (100.0, 1e-5, 1.0, 1, 0.0946807861328125),
    (10.0, 1e-5, 0.1, 50, 0.7232666015625),
]


@pytest.mark.parametrize(("eps", "delta", "q", "steps", "sigma"), BOARD_CELLS)
def test_calibration_keeps_the_boards_sigma(eps, delta, q, steps, sigma):
    assert solve_sigma(PrivacyBudget(eps, delta, "prv"), q, steps) == sigma


@pytest.mark.parametrize(
    ("eps", "q", "steps", "accountant"),
    [
        (3.0, 1.0, 1, "prv"),
        (30.0, 1.0, 1, "prv"),
        (3.0, 0.1, 50, "rdp"),
        pytest.param(1.0, 0.5, 20, "rdp", marks=pytest.mark.slow),  # ~9 s
    ],
)
def test_calibration_equals_opacus_get_noise_multiplier(eps, q, steps, accountant):
    with quiet_accountant():
        expected = get_noise_multiplier(
            target_epsilon=eps, target_delta=1e-5, sample_rate=q, steps=steps,
            accountant=accountant, epsilon_tolerance=0.01,
        )  # fmt: skip
    assert solve_sigma(PrivacyBudget(eps, 1e-5, accountant), q, steps) == expected


def test_the_calculator_imports_neither_torch_nor_opacus(tmp_path):
    code = (
        "import sys; from bench.cli import main\n"
        "main(['privacy', '--sigma', '1', '--sample-rate', '0.1', '--steps', '10', '--json'])\n"
        "main(['risk', '--sigma', '1', '--dim', '4', '--json'])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'opacus'))\n"
        "assert not bad, bad"
    )
    env = {"PRIVMEDBENCH_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
