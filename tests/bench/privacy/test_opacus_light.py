"""The torch-free accountants are opacus's: bit-identical epsilons, same calibrated sigma."""

import subprocess
import sys

import pytest
from opacus.accountants import PRVAccountant, RDPAccountant
from opacus.accountants.utils import get_noise_multiplier

from bench.privacy.accounting import accounting_context, epsilon_of_history, solve_sigma
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
    with accounting_context():
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
    with accounting_context():
        expected = get_noise_multiplier(
            target_epsilon=eps, target_delta=1e-5, sample_rate=q, steps=steps,
            accountant=accountant, epsilon_tolerance=0.01,
        )  # fmt: skip
    assert solve_sigma(PrivacyBudget(eps, 1e-5, accountant), q, steps) == expected


def test_the_calculator_imports_neither_torch_nor_opacus(tmp_path):
    # bench privacy imports no scipy package either (scipy.special, integrate, fft: about
    # 0.6 s; their compiled routines give the numbers) nor the other subcommands' modules
    code = (
        "import sys; from bench.cli import main\n"
        "main(['privacy', '--sigma', '1', '--sample-rate', '0.1', '--steps', '10', '--json'])\n"
        "heavy = ('scipy.special', 'scipy.integrate', 'scipy.fft', 'scipy.signal', 'scipy.stats',"
        " 'scipy.optimize', 'pydantic', 'bench.config', 'bench.datasets', 'bench.tasks')\n"
        "bad = sorted(m for m in sys.modules if m.startswith(heavy))\n"
        "assert not bad, bad\n"
        "main(['risk', '--sigma', '1', '--dim', '4', '--json'])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'opacus'))\n"
        "assert not bad, bad"
    )
    env = {"PRIVMEDBENCH_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr


def test_the_scipy_imports_of_opacus_files_are_rewritten_to_scipy_light():
    from bench.privacy import opacus_light, scipy_light

    opacus_light.accountants()
    prvs = sys.modules[f"{opacus_light.PACKAGE}.analysis.prv.prvs"]
    rdp = sys.modules[f"{opacus_light.PACKAGE}.analysis.rdp"]
    assert prvs.integrate is scipy_light.integrate and rdp.special is scipy_light.special
    assert opacus_light._Finder not in map(type, sys.meta_path)  # installed only to load


def test_rewrite_changes_only_whole_lines_found_once():
    from bench.privacy.opacus_light import rewrite

    source = "import numpy as np\nfrom scipy import integrate\nx = 1\n"
    assert rewrite("analysis.prv.prvs", source) == source.replace(
        "from scipy import integrate", "from bench.privacy.scipy_light import integrate"
    )
    twice = "from scipy import special\nfrom scipy import special\n"
    assert rewrite("analysis.rdp", twice) == twice  # not as expected: left alone
    assert rewrite("rdp", "from scipy import special\n") == "from scipy import special\n"
