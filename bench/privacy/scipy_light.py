"""The scipy functions opacus's accountant calls, without importing their scipy packages.

opacus's PRV and RDP code calls ``scipy.integrate.quad``, ``scipy.special.erfc``,
``binom`` and ``log_ndtr``, and (composition) ``scipy.fft.rfft`` / ``irfft``. Importing
``scipy.special``, ``scipy.integrate`` or ``scipy.fft`` runs the package's ``__init__``,
which (scipy 1.17) imports ``scipy._lib._array_api``, array_api_compat, ``scipy.optimize``
and ``scipy.sparse.linalg`` and parses hundreds of docstrings: about 0.6 s of a
calculator query that computes for less than that. The functions themselves live in
compiled extension modules that need none of it:

* ``scipy.special._special_ufuncs``: ``erfc``, ``binom``, ``log_ndtr``, the very ufunc
  objects ``scipy.special`` exports (``is``-identical; a test checks);
* ``scipy.integrate._quadpack``: QUADPACK's ``_qagse``, which ``quad`` calls for a
  finite interval without weight or break points;
* ``scipy.fft._pocketfft.pypocketfft``: ``r2c`` / ``c2r``, which ``rfft`` / ``irfft``
  call for a real (resp. complex) 1-D array.

Here those extension files are loaded directly (not through their package) and called
with exactly the arguments scipy's wrappers pass for the calls opacus makes; anything
else (another argument, a QUADPACK warning, a scipy whose files are elsewhere) is handed
to scipy's own function, imported then. So every number is scipy's, bit for bit; the
tests compare with scipy's functions.

Example:
    >>> float(special.erfc(0.0))
    1.0
    >>> round(integrate.quad(lambda t: t * t, 0.0, 3.0)[0], 12)
    9.0
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import logging
import math
import sys
import types
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: scipy.integrate.quad's default tolerances (passed to QUADPACK as they are).
QUAD_EPSABS = 1.49e-8
QUAD_EPSREL = 1.49e-8


@functools.cache
def _extension(name: str) -> types.ModuleType | None:
    """The compiled module ``name`` (e.g. ``scipy.integrate._quadpack``), loaded from its
    file without importing its package, or ``None`` when that fails (then use scipy's).

    A module whose package is already imported is taken from there (no second copy).
    """
    package = name.rsplit(".", 1)[0]
    if package in sys.modules:
        return importlib.import_module(name)
    try:
        spec = importlib.util.find_spec("scipy")  # the top-level package is light
        root = Path(next(iter(spec.submodule_search_locations)))
        parts = name.split(".")[1:]
        folder = root.joinpath(*parts[:-1])
        path = next(
            folder / (parts[-1] + suffix)
            for suffix in importlib.machinery.EXTENSION_SUFFIXES
            if (folder / (parts[-1] + suffix)).is_file()
        )
        loader = importlib.machinery.ExtensionFileLoader(name, str(path))
        module = importlib.util.module_from_spec(
            importlib.util.spec_from_file_location(name, str(path), loader=loader)
        )
        loader.exec_module(module)
    except Exception as exc:  # another layout: scipy's own functions are used
        log.debug("cannot load %s on its own (%s); importing scipy's package", name, exc)
        return None
    # A single-phase extension enters itself in sys.modules. Left there without its
    # package, scipy's own later import would find it and not set it as the package's
    # attribute; removed, that import initializes it again from Python's extension
    # cache (the same function objects), as if this load had not happened.
    if sys.modules.get(name) is module and package not in sys.modules:
        del sys.modules[name]
    return module


def _ufunc(name: str):
    module = _extension("scipy.special._special_ufuncs")
    if module is not None and isinstance(getattr(module, name, None), np.ufunc):
        return getattr(module, name)
    import scipy.special

    return getattr(scipy.special, name)


class _Special:
    """``scipy.special``'s ufuncs that opacus uses, looked up on first use."""

    def __getattr__(self, name: str):
        value = _ufunc(name)
        setattr(self, name, value)
        return value


special = _Special()


def __getattr__(name: str):
    # ``from bench.privacy.scipy_light import erfc``: the ufunc itself (no wrapper call)
    if name == "erfc":
        return special.erfc
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def quad(func, a, b, limit: int = 50):
    """``scipy.integrate.quad(func, a, b, limit=limit)[:2]`` with the default tolerances.

    For finite ``a != b`` this is the call scipy makes (``_qagse``, flipping ``a > b``);
    when QUADPACK reports a problem (``ier != 0``) or for any other case scipy's own
    ``quad`` is called, so its warnings and errors are unchanged too.
    """
    quadpack = _extension("scipy.integrate._quadpack")
    if quadpack is not None and math.isfinite(a) and math.isfinite(b) and a != b:
        flip, lo, hi = b < a, min(a, b), max(a, b)
        result, abserr, ier = quadpack._qagse(func, lo, hi, (), 0, QUAD_EPSABS, QUAD_EPSREL, limit)
        if ier == 0:
            return (-result if flip else result), abserr
    from scipy import integrate as scipy_integrate

    return scipy_integrate.quad(func, a, b, limit=limit)


integrate = types.SimpleNamespace(quad=quad)


def _pocketfft():
    return _extension("scipy.fft._pocketfft.pypocketfft")


def _native(x: np.ndarray) -> np.ndarray:
    # scipy.fft's _asfarray for a float or complex array: native byte order, aligned
    return np.array(x, dtype=x.dtype.newbyteorder("="), copy=None if x.flags.aligned else True)


def _is_1d(x, dtype, min_size: int) -> bool:
    return isinstance(x, np.ndarray) and x.ndim == 1 and x.dtype == dtype and x.size >= min_size


def rfft(x):
    """``scipy.fft.rfft(x)``: for a 1-D float64 array pocketfft's ``r2c`` as scipy calls
    it (forward, norm "backward" = 0, one worker); else scipy's own."""
    pfft = _pocketfft()
    if pfft is not None and _is_1d(x, np.float64, 1):
        return pfft.r2c(_native(x), (-1,), True, 0, None, 1)
    from scipy import fft as scipy_fft

    return scipy_fft.rfft(x)


def irfft(x):
    """``scipy.fft.irfft(x)``: for a 1-D complex128 array of length >= 2 pocketfft's
    ``c2r`` as scipy calls it (n = 2 (len - 1), backward, norm mode 2, one worker)."""
    pfft = _pocketfft()
    if pfft is not None and _is_1d(x, np.complex128, 2):
        return pfft.c2r(_native(x), (-1,), (x.shape[-1] - 1) * 2, False, 2, None, 1)
    from scipy import fft as scipy_fft

    return scipy_fft.irfft(x)
