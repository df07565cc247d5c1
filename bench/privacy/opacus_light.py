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

and three import lines are rewritten as the files are loaded (:data:`REWRITES`):
``from scipy import integrate``, ``from scipy.special import erfc`` and ``from scipy
import special`` import the same functions from :mod:`bench.privacy.scipy_light`, which
calls scipy's compiled routines without importing ``scipy.integrate`` and
``scipy.special`` (about 0.6 s of imports). Nothing else in the files changes; a line
not found as expected is left alone (scipy is then imported, as opacus does).

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
import importlib.abc
import importlib.machinery
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
#: Whole lines of opacus's files (module, line) and their replacement: the same names,
#: from :mod:`bench.privacy.scipy_light` (scipy's routines, without their packages).
REWRITES = {
    "analysis.prv.prvs": {
        "from scipy import integrate": "from bench.privacy.scipy_light import integrate",
        "from scipy.special import erfc": "from bench.privacy.scipy_light import erfc",
    },
    "analysis.rdp": {"from scipy import special": "from bench.privacy.scipy_light import special"},
}


class IAccountant(abc.ABC):
    """Stand-in for ``opacus.accountants.accountant.IAccountant`` (history only)."""

    @abc.abstractmethod
    def __init__(self):
        self.history = []


def _self_compose(pmf, num_self_composition):
    """The pmf of opacus 1.6 ``analysis/prv/compose._compose_fourier``: its lines, with
    ``rfft`` / ``irfft`` from :mod:`bench.privacy.scipy_light` (the same pocketfft calls).
    Only numpy and pocketfft, which releases the GIL: it may run in a worker thread."""
    from bench.privacy.scipy_light import irfft, rfft  # scipy.fft's, without its imports

    if len(pmf) % 2 != 0:
        raise ValueError("Can only compose evenly sized discrete PRVs")
    composed_pmf = irfft(rfft(pmf) ** num_self_composition)
    m = num_self_composition - 1
    if num_self_composition % 2 == 0:
        m += len(composed_pmf) // 2
    return np.roll(composed_pmf, m)


def _compose_fourier(dprv, num_self_composition):
    """opacus 1.6 ``analysis/prv/compose._compose_fourier`` (pmf: :func:`_self_compose`)."""
    if len(dprv) % 2 != 0:
        raise ValueError("Can only compose evenly sized discrete PRVs")
    composed_pmf = _self_compose(dprv.pmf, num_self_composition)
    domain = dprv.domain.shift_right(dprv.domain.shifts * (num_self_composition - 1))
    return type(dprv)(pmf=composed_pmf, domain=domain)


def _compose_two(dprv_left, dprv_right):
    """opacus 1.6 ``analysis/prv/compose._compose_two``, verbatim."""
    from scipy.signal import convolve

    pmf = convolve(dprv_left.pmf, dprv_right.pmf, mode="same")
    domain = dprv_left.domain.shift_right(dprv_right.domain.shifts)
    return type(dprv_left)(pmf=pmf, domain=domain)


def _convolution_tree(dprvs):
    """opacus 1.6 ``analysis/prv/compose._compose_convolution_tree``, verbatim."""
    while len(dprvs) > 1:
        convolved = []
        if len(dprvs) % 2 == 1:
            convolved.append(dprvs.pop())
        for left, right in zip(dprvs[:-1:2], dprvs[1::2], strict=False):
            convolved.append(_compose_two(left, right))
        dprvs = convolved
    return dprvs[0]


def compose_heterogeneous(dprvs, num_self_compositions):
    """opacus 1.6 ``analysis/prv/compose.compose_heterogeneous``, verbatim."""
    if len(dprvs) != len(num_self_compositions):
        raise ValueError("dprvs and num_self_compositions must have the same length")
    dprvs = [_compose_fourier(d, n) for d, n in zip(dprvs, num_self_compositions, strict=True)]
    return _convolution_tree(dprvs)


def discretize_and_compose(tprvs, domain, num_self_compositions, discrete_prv_cls):
    """``compose_heterogeneous([discretize(t, domain) for t in tprvs], num_self_compositions)``
    of opacus 1.6 (``PRVAccountant._get_dprv``'s last two steps): the same operations on
    the same values, so the same numbers, in another order.

    opacus's ``discretize`` computes a run's pmf, then its continuous mean (QUADPACK over
    ``cdf``: Python-bound, about a third of a query), then only shifts the domain by it;
    the FFT self-composition (about half of a query, GIL released) needs only the pmf. So
    the FFT runs in a worker thread while the mean is computed: on a machine with a spare
    core, the mean costs no wall time.
    """
    from concurrent.futures import ThreadPoolExecutor

    if len(tprvs) != len(num_self_compositions):
        raise ValueError("dprvs and num_self_compositions must have the same length")
    composed = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        for prv, n in zip(tprvs, num_self_compositions, strict=True):
            # opacus's discretize, up to the mean
            tC = domain.ts
            tL = tC - domain.dt / 2
            tR = tC + domain.dt / 2
            discrete_pmf = prv.cdf(tR) - prv.cdf(tL)
            future = pool.submit(_self_compose, discrete_pmf, n)  # _compose_fourier's pmf
            try:
                mean_d = np.dot(domain.ts, discrete_pmf)
                mean_c = prv.mean()
                mean_shift = mean_c - mean_d
                if np.abs(mean_shift) >= domain.dt / 2:
                    raise RuntimeError("Discrete mean differs significantly from continuous mean.")
                domain_shifted = domain.shift_right(mean_shift)
                composed_pmf = future.result()
            finally:
                future.cancel()
            # _compose_fourier's domain
            composed_domain = domain_shifted.shift_right(domain_shifted.shifts * (n - 1))
            composed.append(discrete_prv_cls(pmf=composed_pmf, domain=composed_domain))
    return _convolution_tree(composed)


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


def rewrite(module: str, source: str) -> str:
    """``source`` of ``module`` (relative to the package) with :data:`REWRITES` applied;
    each line replaced only where it occurs exactly once, as a whole line."""
    lines = source.split("\n")
    for old, new in REWRITES.get(module, {}).items():
        where = [i for i, line in enumerate(lines) if line == old]
        if len(where) == 1:
            lines[where[0]] = new
        else:
            log.debug("%s: %r found %d times; left as it is", module, old, len(where))
    return "\n".join(lines)


class _RewritingLoader(importlib.machinery.SourceFileLoader):
    """opacus's file, compiled after :func:`rewrite` (never from opacus's bytecode cache,
    which holds the unrewritten code)."""

    def get_code(self, fullname):
        source = self.get_data(self.path).decode("utf-8")
        module = fullname.removeprefix(PACKAGE + ".")
        return compile(rewrite(module, source), self.path, "exec", dont_inherit=True)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the package's modules in opacus's folder; those in :data:`REWRITES` get
    :class:`_RewritingLoader`. Installed only while the package loads."""

    def find_spec(self, fullname, path, target=None):
        if not fullname.startswith(PACKAGE + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and fullname.removeprefix(PACKAGE + ".") in REWRITES:
            spec.loader = _RewritingLoader(fullname, spec.origin)
        return spec


def _load_private_package(folder: Path):
    package = types.ModuleType(PACKAGE)
    package.__path__ = [str(folder)]  # submodules are found in opacus's folder
    package.__package__ = PACKAGE
    sys.modules[PACKAGE] = package
    _stub("accountant", IAccountant=IAccountant)
    _stub("analysis.prv.compose", compose_heterogeneous=compose_heterogeneous)
    finder = _Finder()
    sys.meta_path.insert(0, finder)
    try:
        prv = importlib.import_module(f"{PACKAGE}.prv")
        rdp = importlib.import_module(f"{PACKAGE}.rdp")
    finally:
        sys.meta_path.remove(finder)
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
