"""scipy_light calls scipy's compiled routines as scipy does: the same objects, the same bits."""

import numpy as np
import pytest
import scipy.fft
import scipy.integrate
import scipy.special

from bench.privacy import scipy_light


@pytest.mark.parametrize("name", ["erfc", "binom", "log_ndtr"])
def test_the_ufuncs_are_scipy_specials_own(name):
    assert getattr(scipy_light.special, name) is getattr(scipy.special, name)


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


def test_quad_hands_a_quadpack_warning_to_scipy():
    # 1/sqrt|t| with limit 1: QUADPACK stops (ier 1); scipy's own quad warns, same numbers
    def f(t):
        return 1 / np.sqrt(abs(t) + 1e-300)

    with pytest.warns(scipy.integrate.IntegrationWarning):
        light = scipy_light.quad(f, -1.0, 1.0, limit=1)
    with pytest.warns(scipy.integrate.IntegrationWarning):
        assert light == scipy.integrate.quad(f, -1.0, 1.0, limit=1)
