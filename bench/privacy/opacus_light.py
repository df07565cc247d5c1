"""opacus's PRV and RDP accountants without torch: the same code, loaded from opacus's files.

``import opacus.accountants`` runs ``opacus/__init__.py``, which imports torch (seconds)
although the accounting itself is numpy/scipy. Here opacus's own source files
(``accountants/rdp.py``, ``prv.py``, ``analysis/rdp.py``, ``analysis/prv/prvs.py``,
``domain.py``) are executed as a private package, ``bench.privacy._opacus_accountants``,
whose ``__init__`` is empty. Two modules are replaced by stand-ins:

* ``accountant``: the abstract base class, whose module imports opacus's DP optimizer (and
  so torch) only for the optimizer hook; the calculator never attaches an optimizer.
* ``analysis/prv/compose``: the same two functions as opacus's, copied, because opacus's
  module imports ``scipy.signal`` (slow to import) at the top for the heterogeneous case;
  here it is imported when that case occurs.

So the numbers are opacus's, bit for bit (tests compare the two on several histories).
When opacus's layout is not the one expected (another version), :func:`accountants` falls
back to ``opacus.accountants`` itself: slower, same numbers.

Example:
    >>> prv_cls, rdp_cls = accountants()
    >>> acc = rdp_cls()
    >>> acc.history = [(1.5, 0.04, 2250)]
    >>> round(acc.get_epsilon(delta=1e-5), 4)
    7.3291
"""

from __future__ import annotations

import abc
import functools
import importlib
import importlib.util
import logging
import sys
import types
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

PACKAGE = "bench.privacy._opacus_accountants"
#: The opacus files executed here; their absence means another layout (fall back).
FILES = ("rdp.py", "prv.py", "analysis/rdp.py", "analysis/prv/prvs.py", "analysis/prv/domain.py")


class IAccountant(abc.ABC):
    """Stand-in for ``opacus.accountants.accountant.IAccountant`` (history only)."""

    @abc.abstractmethod
    def __init__(self):
        self.history = []


def _compose_fourier(dprv, num_self_composition):
    """opacus 1.6 ``analysis/prv/compose._compose_fourier``, verbatim."""
    from scipy.fft import irfft, rfft

    if len(dprv) % 2 != 0:
        raise ValueError("Can only compose evenly sized discrete PRVs")
    composed_pmf = irfft(rfft(dprv.pmf) ** num_self_composition)
    m = num_self_composition - 1
    if num_self_composition % 2 == 0:
        m += len(composed_pmf) // 2
    composed_pmf = np.roll(composed_pmf, m)
    domain = dprv.domain.shift_right(dprv.domain.shifts * (num_self_composition - 1))
    return type(dprv)(pmf=composed_pmf, domain=domain)


def _compose_two(dprv_left, dprv_right):
    """opacus 1.6 ``analysis/prv/compose._compose_two``, verbatim."""
    from scipy.signal import convolve

    pmf = convolve(dprv_left.pmf, dprv_right.pmf, mode="same")
    domain = dprv_left.domain.shift_right(dprv_right.domain.shifts)
    return type(dprv_left)(pmf=pmf, domain=domain)


def compose_heterogeneous(dprvs, num_self_compositions):
    """opacus 1.6 ``analysis/prv/compose.compose_heterogeneous``, verbatim."""
    if len(dprvs) != len(num_self_compositions):
        raise ValueError("dprvs and num_self_compositions must have the same length")
    dprvs = [_compose_fourier(d, n) for d, n in zip(dprvs, num_self_compositions, strict=True)]
    while len(dprvs) > 1:  # _compose_convolution_tree
        convolved = []
        if len(dprvs) % 2 == 1:
            convolved.append(dprvs.pop())
        for left, right in zip(dprvs[:-1:2], dprvs[1::2], strict=False):
            convolved.append(_compose_two(left, right))
        dprvs = convolved
    return dprvs[0]


def _opacus_dir() -> Path | None:
    spec = importlib.util.find_spec("opacus")  # locates the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "accountants"
    return folder if all((folder / f).is_file() for f in FILES) else None


def _stub(name: str, **attrs) -> None:
    module = types.ModuleType(f"{PACKAGE}.{name}")
    module.__dict__.update(attrs)
    sys.modules[module.__name__] = module


def _load_private_package(folder: Path):
    package = types.ModuleType(PACKAGE)
    package.__path__ = [str(folder)]  # submodules are found in opacus's folder
    package.__package__ = PACKAGE
    sys.modules[PACKAGE] = package
    _stub("accountant", IAccountant=IAccountant)
    _stub("analysis.prv.compose", compose_heterogeneous=compose_heterogeneous)
    prv = importlib.import_module(f"{PACKAGE}.prv")
    rdp = importlib.import_module(f"{PACKAGE}.rdp")
    return prv.PRVAccountant, rdp.RDPAccountant


@functools.cache
def accountants() -> tuple[type, type]:
    """opacus's ``(PRVAccountant, RDPAccountant)`` classes, loaded without torch if possible."""
    folder = _opacus_dir()
    if folder is not None:
        try:
            return _load_private_package(folder)
        except Exception as exc:  # another opacus layout: use opacus itself
            log.debug("light opacus accountants unavailable (%s); importing opacus", exc)
            for name in [m for m in sys.modules if m.startswith(PACKAGE)]:
                del sys.modules[name]
    from opacus.accountants import PRVAccountant, RDPAccountant

    return PRVAccountant, RDPAccountant


@functools.cache
def opacus_version() -> str:
    """opacus's version string, read from its metadata (no import)."""
    from importlib.metadata import version

    return version("opacus")
