"""The scipy functions the calculator calls, without importing their scipy packages.

opacus's PRV and RDP code calls ``scipy.integrate.quad``, ``scipy.special.erfc``,
``binom`` and ``log_ndtr``, and (composition) ``scipy.fft.rfft`` / ``irfft``; the bounds
of ``bench risk`` (:mod:`bench.privacy.bounds`) call ``gammainc``, ``ndtr``, ``ndtri``,
``quad``, ``rfft`` / ``irfft`` with a length, ``next_fast_len``, ``brentq`` and
``scipy.stats.binom``. Importing ``scipy.special``, ``scipy.integrate``, ``scipy.fft``,
``scipy.optimize`` or ``scipy.stats`` runs the package's ``__init__``, which (scipy 1.17)
imports ``scipy._lib._array_api``, array_api_compat, ``scipy.optimize`` and
``scipy.sparse.linalg`` and parses hundreds of docstrings: about 0.6 s, and 2 s for
``scipy.stats``, of a calculator query that computes for less than that. The functions
themselves live in compiled extension modules that need none of it:

* ``scipy.special._special_ufuncs``: ``erfc``, ``binom``, ``log_ndtr``, ``gammainc``,
  ``ndtr``, ... and ``scipy.special._ufuncs``: ``ndtri`` and the boost distributions
  (``_binom_pmf``, ``_binom_sf``, ``_binom_ppf``, ``_binom_isf``) that
  ``scipy.stats.binom`` calls: the very ufunc objects ``scipy.special`` exports
  (``is``-identical; a test checks);
* ``scipy.integrate._quadpack``: QUADPACK's ``_qagse``, which ``quad`` calls for a
  finite interval without weight or break points;
* ``scipy.fft._pocketfft.pypocketfft``: ``r2c`` / ``c2r``, which ``rfft`` / ``irfft``
  call for a real (resp. complex) 1-D array, and ``good_size`` (``next_fast_len``);
* ``scipy.optimize._zeros``: ``_brentq``, which ``brentq`` calls.

Here those extension files are loaded directly (not through their package) and called
with exactly the arguments scipy's wrappers pass for the calls made here; anything
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


#: Compiled modules that import siblings from their package as they initialize:
#: ``scipy.special._ufuncs`` runs ``from ._special_ufuncs import ...`` and cimports
#: ``_ufuncs_cxx``, ``_ellip_harm_2`` and ``_gufuncs``. Loaded from its file alone, those
#: imports run ``scipy.special/__init__`` (what this module avoids), which then fails
#: half-way (it imports the module being loaded) and leaves half a package behind.
_SIBLING_IMPORTS = frozenset({"scipy.special._ufuncs"})


@functools.cache
def _extension(name: str) -> types.ModuleType | None:
    """The compiled module ``name`` (e.g. ``scipy.integrate._quadpack``), loaded from its
    file without importing its package, or ``None`` when that fails (then use scipy's).

    A module whose package is already imported is taken from there (no second copy).
    """
    package = name.rsplit(".", 1)[0]
    if package in sys.modules:
        return importlib.import_module(name)
    if name in _SIBLING_IMPORTS:
        return _import_in_unexecuted_package(name, package)
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


def _import_in_unexecuted_package(name: str, package: str) -> types.ModuleType | None:
    """Import ``name`` while its package stands in ``sys.modules`` without its ``__init__``.

    The package is scipy's own module object, made from its spec (so its ``__path__``
    finds the sibling files) but not executed: the module's imports of its siblings load
    those compiled files and nothing else. Every entry this adds under the package,
    the package included, is then removed from ``sys.modules`` again, so that scipy's own
    later import runs the package's ``__init__`` as if this had not happened. It finds the
    same objects: a Cython module is initialized once per process and hands back the
    module it made, a single-phase one is copied from Python's extension cache (a test
    checks that ``scipy.special.ndtri`` is then this module's ``ndtri``).

    Called in the importing thread of a calculator (module level of the bounds), before
    any worker thread; another thread importing ``scipy.special`` at that very moment
    would see the empty package.
    """
    before = set(sys.modules)
    try:
        spec = importlib.util.find_spec(package)  # imports the parent (light), not package
        sys.modules[package] = importlib.util.module_from_spec(spec)
        return importlib.import_module(name)
    except Exception as exc:  # another layout: scipy's own functions are used
        log.debug("cannot load %s on its own (%s); importing scipy's package", name, exc)
        return None
    finally:
        for key in set(sys.modules) - before:
            if key == package or key.startswith(package + "."):
                del sys.modules[key]


#: The compiled modules holding ``scipy.special``'s ufuncs, searched in this order: most
#: are in the C++ module; ``ndtri`` and the boost distributions of ``scipy.stats``
#: (``_binom_pmf``, ...) only in the Cython one, which is bigger and takes more care.
_UFUNC_MODULES = ("scipy.special._special_ufuncs", "scipy.special._ufuncs")


def _ufunc(name: str):
    for module_name in _UFUNC_MODULES:
        module = _extension(module_name)
        if module is not None and isinstance(getattr(module, name, None), np.ufunc):
            return getattr(module, name)
    import scipy.special

    if name.startswith("_"):  # not exported by the package: where scipy.stats takes it
        import scipy.special._ufuncs

        return getattr(scipy.special._ufuncs, name)
    return getattr(scipy.special, name)


class _Special:
    """``scipy.special``'s ufuncs used here, looked up on first use."""

    def __getattr__(self, name: str):
        value = _ufunc(name)
        setattr(self, name, value)
        return value


special = _Special()


#: ``from bench.privacy.scipy_light import <name>``: the ufunc itself (no wrapper call).
UFUNCS = frozenset({"erfc", "gammainc", "gammaincinv", "log_ndtr", "ndtr", "ndtri"})


def __getattr__(name: str):
    if name in UFUNCS:
        return getattr(special, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def quad(func, a, b, limit: int = 50, *, epsabs: float = QUAD_EPSABS, epsrel: float = QUAD_EPSREL):
    """``scipy.integrate.quad(func, a, b, epsabs=epsabs, epsrel=epsrel, limit=limit)[:2]``.

    ``a == b`` gives scipy's ``(0.0, 0.0)``; for finite ``a != b`` this is the call scipy
    makes (``_qagse``, flipping ``a > b``); when QUADPACK reports a problem (``ier != 0``)
    or for any other case scipy's own ``quad`` is called, so its warnings and errors are
    unchanged too.
    """
    if a == b:  # scipy's shortcut, before any check
        return 0.0, 0.0
    quadpack = _extension("scipy.integrate._quadpack")
    if quadpack is not None and math.isfinite(a) and math.isfinite(b):
        flip, lo, hi = b < a, min(a, b), max(a, b)
        result, abserr, ier = quadpack._qagse(func, lo, hi, (), 0, epsabs, epsrel, limit)
        if ier == 0:
            return (-result if flip else result), abserr
    from scipy import integrate as scipy_integrate

    return scipy_integrate.quad(func, a, b, epsabs=epsabs, epsrel=epsrel, limit=limit)


integrate = types.SimpleNamespace(quad=quad)


def _pocketfft():
    return _extension("scipy.fft._pocketfft.pypocketfft")


def _native(x: np.ndarray) -> np.ndarray:
    # scipy.fft's _asfarray for a float or complex array: native byte order, aligned
    return np.array(x, dtype=x.dtype.newbyteorder("="), copy=None if x.flags.aligned else True)


def _is_1d(x, dtype, min_size: int) -> bool:
    return isinstance(x, np.ndarray) and x.ndim == 1 and x.dtype == dtype and x.size >= min_size


def _length(n) -> bool:
    return n is None or (isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 1)


def _fix_length(x: np.ndarray, n: int) -> np.ndarray:
    # scipy.fft's _fix_shape_1d on the last axis: the first n values, zero-padded to n
    if x.shape[-1] >= n:
        return x[:n]
    z = np.zeros(n, x.dtype)
    z[: x.shape[-1]] = x
    return z


def rfft(x, n=None):
    """``scipy.fft.rfft(x, n)``: for a 1-D float64 array pocketfft's ``r2c`` as scipy calls
    it (cut or zero-padded to n, forward, norm "backward" = 0, one worker); else scipy's."""
    pfft = _pocketfft()
    if pfft is not None and _is_1d(x, np.float64, 1) and _length(n):
        tmp = _native(x) if n is None else _fix_length(_native(x), int(n))
        return pfft.r2c(tmp, (-1,), True, 0, None, 1)
    from scipy import fft as scipy_fft

    return scipy_fft.rfft(x, n)


def irfft(x, n=None):
    """``scipy.fft.irfft(x, n)``: for a 1-D complex128 array pocketfft's ``c2r`` as scipy
    calls it (n = 2 (len - 1) or the input cut or zero-padded to n // 2 + 1, backward,
    norm mode 2, one worker); else scipy's own."""
    pfft = _pocketfft()
    if pfft is not None and _is_1d(x, np.complex128, 2 if n is None else 1) and _length(n):
        if n is None:
            tmp, n = _native(x), (x.shape[-1] - 1) * 2
        else:
            tmp, n = _fix_length(_native(x), int(n) // 2 + 1), int(n)
        return pfft.c2r(tmp, (-1,), n, False, 2, None, 1)
    from scipy import fft as scipy_fft

    return scipy_fft.irfft(x, n)


def next_fast_len(target, real=False):
    """``scipy.fft.next_fast_len(target, real)``: pocketfft's ``good_size``, which scipy's
    function is (behind a cache)."""
    pfft = _pocketfft()
    if pfft is not None:
        return pfft.good_size(target, real)
    from scipy import fft as scipy_fft

    return scipy_fft.next_fast_len(target, real)


fft = types.SimpleNamespace(rfft=rfft, irfft=irfft, next_fast_len=next_fast_len)

#: scipy.optimize.brentq's defaults (``_xtol``, ``_rtol``, ``_iter``; the smallest rtol).
BRENTQ_XTOL = 2e-12
BRENTQ_RTOL = 4 * float(np.finfo(float).eps)
BRENTQ_MAXITER = 100


class _NaNValue(Exception):
    """The function gave NaN, which scipy's brentq refuses (with its own message)."""


def brentq(f, a, b, xtol: float = BRENTQ_XTOL, rtol: float = BRENTQ_RTOL,
           maxiter: int = BRENTQ_MAXITER):  # fmt: skip
    """``scipy.optimize.brentq(f, a, b, xtol=xtol, rtol=rtol, maxiter=maxiter)``.

    scipy checks the tolerances, wraps ``f`` so that a NaN value raises, and calls the
    compiled ``_brentq(f, a, b, xtol, rtol, maxiter, (), False, True)``, which returns the
    root (disp: no convergence raises). That call is made here with the same guard; on any
    error (NaN, no sign change, no convergence, an error of ``f``) or for other arguments
    scipy's own brentq is called, which computes the same steps again and raises its own
    error.
    """
    zeros = _extension("scipy.optimize._zeros")
    if zeros is not None and xtol > 0 and rtol >= BRENTQ_RTOL and type(maxiter) is int:

        def checked(x):
            fx = f(x)
            if np.isnan(fx):
                raise _NaNValue
            return fx

        try:
            return zeros._brentq(checked, a, b, xtol, rtol, maxiter, (), False, True)
        except Exception:  # scipy's own brentq says what went wrong
            pass
    from scipy import optimize as scipy_optimize

    return scipy_optimize.brentq(f, a, b, xtol=xtol, rtol=rtol, maxiter=maxiter)


optimize = types.SimpleNamespace(brentq=brentq)


def _is_count(n) -> bool:
    # an integer 1 <= n <= 2^53: its float64 is exact, as scipy's cast of it is
    return isinstance(n, int | np.integer) and not isinstance(n, bool) and 1 <= n <= 2**53


def _is_open_unit(x) -> bool:
    return isinstance(x, float) and 0 < x < 1  # float and np.float64, not float32


class _Binom:
    """``scipy.stats.binom``'s ``pmf``, ``sf``, ``ppf`` and ``isf`` for an integer n >= 1
    and 0 < p < 1.

    scipy 1.17's ``binom_gen`` computes them with boost ufuncs of ``scipy.special._ufuncs``
    (``_pmf``: ``_binom_pmf``; ``_sf``: ``_binom_sf`` at floor(k); ``_ppf``:
    ``_binom_ppf``; ``_isf``: ``_binom_isf``), on float64 after numpy's casts;
    ``rv_discrete``'s methods wrap them in argument checks, the support 0..n, a clip to
    [0, 1] (pmf, sf) and ``+ loc`` with loc = 0 (ppf, isf). For the arguments accepted here
    every one of those branches is known (all arguments valid, k integral in the support,
    q in (0, 1)), so what runs is the same ufunc on the same float64 values followed by
    the same operation: the same bits (a test compares over a grid). Any other argument,
    or a scipy without these ufuncs, goes to ``scipy.stats.binom`` itself.
    """

    @staticmethod
    def _scipy():
        from scipy.stats import binom

        return binom

    def pmf(self, k, n, p):
        """``scipy.stats.binom.pmf(k, n, p)`` for a 1-D float64 or int64 array of integral
        k in [0, n]."""
        if (
            _is_count(n)
            and _is_open_unit(p)
            and isinstance(k, np.ndarray)
            and k.ndim == 1
            and k.dtype in (np.float64, np.int64)
        ):
            kf = k.astype(np.float64)
            if np.all((kf >= 0) & (kf <= n) & (np.floor(kf) == kf)):
                return np.clip(special._binom_pmf(kf, np.float64(n), np.float64(p)), 0, 1)
        return self._scipy().pmf(k, n, p)

    def sf(self, k, n, p):
        """``scipy.stats.binom.sf(k, n, p)`` for an integer 0 <= k < n."""
        if _is_count(n) and _is_open_unit(p) and isinstance(k, int | np.integer) and 0 <= k < n:
            value = special._binom_sf(np.float64(k), np.float64(n), np.float64(p))
            return np.clip(value, 0, 1)[()]
        return self._scipy().sf(k, n, p)

    def _quantile(self, ufunc, method, q, n, p):
        if _is_count(n) and _is_open_unit(p) and _is_open_unit(q):
            return (ufunc(np.float64(q), np.float64(n), np.float64(p)) + 0.0)[()]
        return getattr(self._scipy(), method)(q, n, p)

    def ppf(self, q, n, p):
        """``scipy.stats.binom.ppf(q, n, p)`` for 0 < q < 1."""
        return self._quantile(special._binom_ppf, "ppf", q, n, p)

    def isf(self, q, n, p):
        """``scipy.stats.binom.isf(q, n, p)`` for 0 < q < 1."""
        return self._quantile(special._binom_isf, "isf", q, n, p)


stats = types.SimpleNamespace(binom=_Binom())
