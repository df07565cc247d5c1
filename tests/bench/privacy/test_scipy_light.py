"""scipy_light calls scipy's compiled routines as scipy does: the same objects, the same bits."""

import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.fft
import scipy.integrate
import scipy.optimize
import scipy.special
import scipy.special._ufuncs
import scipy.stats

from bench.privacy import scipy_light

UFUNCS = ["erfc", "binom", "log_ndtr", "gammainc", "gammaincinv", "ndtr", "ndtri"]


@pytest.mark.parametrize("name", UFUNCS)
def test_the_ufuncs_are_scipy_specials_own(name):
    assert getattr(scipy_light.special, name) is getattr(scipy.special, name)


@pytest.mark.parametrize("name", ["_binom_pmf", "_binom_sf", "_binom_ppf", "_binom_isf"])
def test_the_binomial_ufuncs_are_those_scipy_stats_calls(name):
    assert getattr(scipy_light.special, name) is getattr(scipy.special._ufuncs, name)


def test_loaded_first_the_ufuncs_are_still_scipys_own_and_scipy_imports_normally():
    # A fresh process: scipy_light loads _ufuncs (ndtri, the binomial) in an unexecuted
    # package, leaves no scipy.special behind, and scipy's own import then works and
    # exports the same objects.
    code = (
        "import sys\n"
        "from bench.privacy.scipy_light import ndtri, gammainc, special, stats\n"
        "pmf = special._binom_pmf\n"
        "light = (stats.binom.isf(1e-13, 1000, 0.01), ndtri(0.3), gammainc(0.5, 0.2))\n"
        "assert not [m for m in sys.modules if m.startswith('scipy.special')]\n"
        "import scipy.special, scipy.special._ufuncs, scipy.stats\n"
        "assert scipy.special.ndtri is ndtri and scipy.special.gammainc is gammainc\n"
        "assert scipy.special._ufuncs._binom_pmf is pmf\n"
        "heavy = (scipy.stats.binom.isf(1e-13, 1000, 0.01), scipy.special.ndtri(0.3),\n"
        "         scipy.special.gammainc(0.5, 0.2))\n"
        "assert light == heavy, (light, heavy)\n"
        "assert scipy.special.errstate and scipy.special.SpecialFunctionWarning\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _same(light, heavy):
    """Same type, shape and bits (so 0.0 and -0.0, or two NaNs, are told apart)."""
    assert type(light) is type(heavy)
    light, heavy = np.asarray(light), np.asarray(heavy)
    assert light.dtype == heavy.dtype and light.shape == heavy.shape
    assert light.tobytes() == heavy.tobytes()


STEPS = [1, 2, 3, 7, 10, 100, 1000, 12_345, 10**5, 10**6]
RATES = [1e-12, 1e-9, 1e-6, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.9, 0.99, 1 - 1e-6, 1 - 1e-12]


@pytest.mark.parametrize("steps", STEPS)
def test_binom_quantiles_and_sf_are_bit_identical_to_scipy_stats(steps):
    light, heavy = scipy_light.stats.binom, scipy.stats.binom
    tails = [1e-300, 1e-13, 1e-6, 0.025, 0.5, 0.975, 1 - 1e-6, 1 - 1e-13]
    for p in RATES:
        _same(light.sf(0, steps, p), heavy.sf(0, steps, p))
        _same(light.sf(steps - 1, steps, p), heavy.sf(steps - 1, steps, p))
        for q in tails:
            _same(light.ppf(q, steps, p), heavy.ppf(q, steps, p))
            _same(light.isf(q, steps, p), heavy.isf(q, steps, p))


@pytest.mark.parametrize("steps", STEPS)
def test_binom_pmf_is_bit_identical_to_scipy_stats(steps):
    light, heavy = scipy_light.stats.binom, scipy.stats.binom
    for p in RATES:
        # the mass the bounds sum over (tails of 1e-13 left out), and the whole support
        lo, hi = int(heavy.ppf(1e-13, steps, p)), int(heavy.isf(1e-13, steps, p))
        for k in (np.arange(max(lo, 1), max(hi, lo) + 1, dtype=float), np.arange(0, steps + 1)):
            k = k[:: max(1, k.size // 2000)]  # T = 1e6: every 500th k (time)
            _same(light.pmf(k, steps, p), heavy.pmf(k, steps, p))


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("pmf", (np.array([-1.0, 0.0, 2.5, 11.0]), 10, 0.3)),  # outside the support, k = 2.5
        ("pmf", (np.arange(4.0), 10, 1.0)),  # p = 1
        ("pmf", (np.arange(4.0), 0, 0.3)),  # n = 0
        ("pmf", (np.arange(4.0, dtype=np.float32), 10, 0.3)),
        ("pmf", (np.arange(4.0).reshape(2, 2), 10, 0.3)),
        ("pmf", (3, 10, 0.3)),  # a scalar k
        ("sf", (10, 10, 0.3)),  # k = n
        ("sf", (-1, 10, 0.3)),
        ("sf", (2.5, 10, 0.3)),
        ("ppf", (0.0, 10, 0.3)),
        ("ppf", (1.0, 10, 0.3)),
        ("ppf", (0.5, 10.5, 0.3)),  # n not an integer: nan
        ("isf", (0.5, 10, 0.0)),  # p = 0
        ("isf", (np.array([0.1, 0.9]), 10, 0.3)),
    ],
)
def test_other_binom_arguments_go_to_scipy_stats(method, args):
    _same(
        getattr(scipy_light.stats.binom, method)(*args), getattr(scipy.stats.binom, method)(*args)
    )


def test_erfc_is_the_ufunc_itself():
    from bench.privacy.scipy_light import erfc

    assert erfc is scipy.special.erfc


@pytest.mark.parametrize("n", [2, 10, 778, 1024, 2 * 3889])  # 2 * prime: Bluestein's branch
def test_rfft_and_irfft_are_bit_identical_to_scipy(n):
    x = np.random.default_rng(n).random(n)
    y = scipy_light.rfft(x)
    assert y.dtype == np.complex128 and np.array_equal(y, scipy.fft.rfft(x))
    z = y**7
    assert np.array_equal(scipy_light.irfft(z), scipy.fft.irfft(z))


@pytest.mark.parametrize(("size", "n"), [(5, 8), (100, 128), (129, 128), (778, 1600), (7, 7)])
def test_rfft_and_irfft_with_a_length_are_bit_identical_to_scipy(size, n):
    # pld's FFT convolution: zero-padded to next_fast_len, cut after the inverse
    x = np.random.default_rng(size).random(size)
    y = scipy_light.rfft(x, n)
    assert np.array_equal(y, scipy.fft.rfft(x, n))
    z = y * y
    for m in (n, n + 1, 2 * n, n // 2 + 1):  # as given, odd, padded, cut
        assert np.array_equal(scipy_light.irfft(z, m), scipy.fft.irfft(z, m))


@pytest.mark.parametrize("target", [1, 2, 7, 97, 1000, 1999, 388_363, 10**6 + 1])
def test_next_fast_len_is_scipys(target):
    for real in (False, True):
        assert scipy_light.next_fast_len(target, real) == scipy.fft.next_fast_len(target, real)
        assert scipy_light.next_fast_len(target, real=real) == scipy.fft.next_fast_len(target, real)


def test_other_fft_inputs_go_to_scipy():
    ints = np.arange(6)  # not float64: scipy's own rfft converts it
    assert np.array_equal(scipy_light.rfft(ints), scipy.fft.rfft(ints))
    two_d = np.ones((2, 4))
    assert np.array_equal(scipy_light.rfft(two_d), scipy.fft.rfft(two_d))


def _cdf(t):
    return 0.5 * scipy.special.erfc(-np.asarray(t) / np.sqrt(2))


@pytest.mark.parametrize(
    ("func", "a", "b", "limit"),
    [
        (_cdf, -12.0, -1e-5, 500),
        (_cdf, 1e-5, 12.0, 500),
        (_cdf, 3.0, -2.0, 500),  # a > b: flipped, as scipy does
        (lambda t: np.exp(-t * t), -1.0, 2.5, 50),
        (np.cos, 0.0, 0.0, 50),  # empty interval
    ],
)
def test_quad_is_bit_identical_to_scipy(func, a, b, limit):
    assert scipy_light.quad(func, a, b, limit=limit) == scipy.integrate.quad(
        func, a, b, limit=limit
    )


@pytest.mark.parametrize(
    ("a", "b"), [(-0.4, -0.05), (-0.05, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.6), (2.0, 2.0)]
)
def test_quad_with_tolerances_is_bit_identical_to_scipy(a, b):
    # pld's piecewise mean loss: epsabs 1e-17, epsrel 1e-12, limit 200
    def f(y):
        return np.logaddexp(np.log1p(-0.01), np.log(0.01) + (2 * y - 1) / 0.02) * np.exp(-y * y)

    kwargs = {"epsabs": 1e-17, "epsrel": 1e-12, "limit": 200}
    assert scipy_light.quad(f, a, b, **kwargs) == scipy.integrate.quad(f, a, b, **kwargs)


def _gdp_excess(e):
    from bench.privacy.bounds.prior_free import gdp_delta

    return gdp_delta(e, 1.7) - 1e-5


@pytest.mark.parametrize(
    ("f", "a", "b", "kwargs"),
    [
        (lambda x: x * x - 2, 0.0, 2.0, {"xtol": 1e-14, "rtol": 1e-13}),
        (lambda x: np.cos(x) - x, -1.0, 3.0, {}),
        (lambda x: np.expm1(x) - 1e-9, -1.0, 1.0, {"xtol": 1e-14}),
        (_gdp_excess, 0.0, 20.0, {"xtol": 1e-13, "rtol": 1e-13}),
    ],
)
def test_brentq_is_bit_identical_to_scipy(f, a, b, kwargs):
    assert scipy_light.brentq(f, a, b, **kwargs) == scipy.optimize.brentq(f, a, b, **kwargs)


@pytest.mark.parametrize(
    ("f", "a", "b", "kwargs"),
    [
        (lambda x: x * x + 1, 0.0, 2.0, {}),  # no sign change
        (lambda x: np.nan if x > 0.5 else x - 1, 0.0, 2.0, {}),  # NaN
        (lambda x: x - 1, 0.0, 2.0, {"maxiter": 1}),  # no convergence
        (lambda x: x - 1, 0.0, 2.0, {"rtol": 1e-20}),  # rtol below scipy's smallest
    ],
)
def test_brentq_errors_are_scipys(f, a, b, kwargs):
    with pytest.raises((ValueError, RuntimeError)) as expected:
        scipy.optimize.brentq(f, a, b, **kwargs)
    with pytest.raises(expected.type, match=re.escape(str(expected.value))):
        scipy_light.brentq(f, a, b, **kwargs)


def test_quad_hands_a_quadpack_warning_to_scipy():
    # 1/sqrt|t| with limit 1: QUADPACK stops (ier 1); scipy's own quad warns, same numbers
    def f(t):
        return 1 / np.sqrt(abs(t) + 1e-300)

    with pytest.warns(scipy.integrate.IntegrationWarning):
        light = scipy_light.quad(f, -1.0, 1.0, limit=1)
    with pytest.warns(scipy.integrate.IntegrationWarning):
        assert light == scipy.integrate.quad(f, -1.0, 1.0, limit=1)
