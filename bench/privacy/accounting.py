"""Accounting for the Poisson-subsampled Gaussian mechanism (opacus accountants).

The reported guarantee comes from ``prv`` (tight numerical composition) or ``rdp``;
the other accountant gives an independent cross-check. opacus's GDP accountant is a
CLT approximation that under-reports epsilon, so it is never used here.

The numbers are opacus's own: its accounting code runs here without torch
(:mod:`bench.privacy.opacus_light`), so the calculator answers in a fraction of a second
while a record's accountant (the one attached to the DP optimizer, :func:`make_accountant`)
is opacus's. Calibration (the smallest noise multiplier whose epsilon stays below a
target) is opacus's bisection, taking the same decisions with fewer accountant calls
(:mod:`bench.privacy.bisection`); results are cached in the user cache directory, keyed
by every input, indexed and re-checked on reading.

PRV accounting discretizes the privacy loss on a grid whose size grows with the loss's
range (tiny sigma, large q T) and with sqrt(T); a grid above :data:`MAX_PRV_POINTS`
(about 1.4 GB, tens of seconds) is refused with an :class:`AccountingError` instead of
running for minutes or exhausting memory, as are opacus's numerical failures.

Example:
    >>> round(compute_epsilon(1.5, 0.04, 2250, 1e-5, "rdp"), 4)  # opacus's own figure
    7.3291
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from bench.cache import cache_dir, discard_entry, index_entry, verified_entry, write_json_atomic
from bench.errors import BenchError
from bench.privacy.budget import ACCOUNTANTS, PrivacyBudget

#: A mechanism run: (noise multiplier, sample rate, steps), as in opacus's history.
Run = tuple[float, float, int]

CALIBRATION_TOLERANCE = 0.01  # epsilon units; the calibrated epsilon lies in [target - tol, target]
PRV_EPS_ERROR = 0.01  # opacus's default eps_error: PRV's epsilon is an upper bound within it
#: Largest PRV grid (points per run) accounted: 7.5M points took 1.3 GB and 19 s on 2 busy
#: cores; the grid is about 2 L / (0.01 / sqrt(T log(12 / delta_error) / 2)) points.
MAX_PRV_POINTS = 2**23
#: Largest privacy loss the PRV grid may reach (its half-width L, from RDP). Beyond about
#: 1000 opacus's discretization was seen to fail: L = 1096 (q 1): "Discrete mean differs
#: significantly"; L = 1479 (q 0.1, T 30): epsilon inf after seconds. Such an L means an
#: epsilon in the hundreds; L = 1101 still worked (epsilon 580) but is refused too.
MAX_PRV_LOSS = 1000.0
#: Largest PRV grid per accountant call when the *calculator* calibrates (``bench
#: privacy --epsilon``, ``bench risk --epsilon``). Calibration makes 3 to 10 calls near the
#: answer; at 2.8M-4.7M points each (epsilon 300, q 0.01, T 100) that took 37 s and 1.2 GB
#: on 2 busy cores, so the calculator stops at 2M points (about 1-2 s a call) and says to
#: use RDP; 0.78M serve (epsilon 8, q 0.01, T 1e4). A training run's calibration (the
#: ledger) is bounded by MAX_PRV_POINTS only, so no cell's sigma changes.
CALCULATOR_MAX_PRV_POINTS = 2**21
#: Largest target PRV calibration accepts (up front: the bisection would visit sigmas
#: whose grid exceeds MAX_PRV_LOSS); RDP calibrates any target.
MAX_PRV_TARGET = 500.0
#: Largest target RDP calibration accepts. opacus's bisection stops within 0.01 of the
#: target, so a huge target needs a relative precision of 1e-11 and more: epsilon 1e9 ran
#: past 60 s (hundreds of calls); 1e5 took 22 calls, 16 s on 2 busy cores; 1000 took 9.
#: An epsilon above 1000 bounds the likelihood ratio by e^1000: no guarantee at all.
MAX_RDP_TARGET = 1000.0


#: RDP orders added to opacus's, which stop at 63 and so floor a tiny epsilon near 0.1
#: (delta 1e-5; TRAPS.md). Sparse up to 1024 as dp-accounting's, so the floor becomes
#: about log(1/delta) / 1023 (0.011 at delta 1e-5). Integer orders take opacus's exact
#: branch, whose cost grows with the order (a few thousand terms in all here); 1024 is the
#: largest whose binomial coefficients stay finite in float64. An optimum below 63 is
#: unchanged, so every committed record keeps its numbers (best order <= 17 there).
EXTRA_RDP_ORDERS = (64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 640, 768, 1024)


class AccountingError(BenchError):
    """An accountant cannot give a trustworthy epsilon for these inputs."""


@contextlib.contextmanager
def accounting_context():
    """Where every accountant call runs: one BLAS thread, two harmless warnings silenced.

    One BLAS thread: opacus's PRV epsilon moves in its last digits with the BLAS library's
    thread count (a summation order: sigma 0.50048828125, q 1, T 1, delta 1e-5 gives
    9.995703575490618 with one thread and ...612 with two). A cell runs with its own
    thread count and ``bench privacy`` with the machine's; pinned here, every path on
    every machine gives a training record's digits.

    The warnings: PRV at q = 1 takes log(1 - q) = -inf on a branch that is masked out
    anyway, and RDP notes when its optimal order is at the edge of the orders tried (its
    epsilon is then a valid but looser upper bound; PRV is the reported guarantee).
    """
    import numpy  # noqa: F401  (loaded first: threadpoolctl limits the libraries it finds)
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", message="Optimal order is the (largest|smallest) alpha")
        yield


def other_accountant(accountant: str) -> str:
    """The accountant used as cross-check for ``accountant``."""
    return "rdp" if accountant == "prv" else "prv"


def _check_name(name: str) -> None:
    if name not in ACCOUNTANTS:
        raise BenchError(f"unknown accountant {name!r} (known: {', '.join(ACCOUNTANTS)})")


def make_accountant(name: str):
    """A fresh opacus accountant, to attach to a DP optimizer and read back after training."""
    from opacus.accountants import PRVAccountant, RDPAccountant

    _check_name(name)
    return PRVAccountant() if name == "prv" else with_extra_orders(RDPAccountant())


def with_extra_orders(rdp_accountant):
    """``rdp_accountant`` with :data:`EXTRA_RDP_ORDERS` after opacus's default orders.

    opacus reads ``self.DEFAULT_ALPHAS`` when no orders are passed, so the instance
    attribute reaches every call, the optimizer's included.
    """
    orders = [*type(rdp_accountant).DEFAULT_ALPHAS, *EXTRA_RDP_ORDERS]
    rdp_accountant.DEFAULT_ALPHAS = orders
    return rdp_accountant


def _light_accountant(name: str):
    from bench.privacy.opacus_light import accountants

    _check_name(name)
    prv_cls, rdp_cls = accountants()
    return prv_cls() if name == "prv" else with_extra_orders(rdp_cls())


def check_mechanism(sigma: float, sample_rate: float, steps: int, delta: float) -> None:
    """Raise a :class:`BenchError` naming the first invalid parameter (NaN and inf included).

    >>> check_mechanism(float("inf"), 0.1, 10, 1e-5)
    Traceback (most recent call last):
    ...
    bench.errors.BenchError: noise multiplier (sigma) must be finite and >= 0, got inf \
(sigma = inf releases nothing: epsilon 0, which no accountant computes)
    """
    if not (0 <= sigma < math.inf):
        hint = " (sigma = inf releases nothing: epsilon 0, which no accountant computes)"
        raise BenchError(
            f"noise multiplier (sigma) must be finite and >= 0, got {sigma}"
            + (hint if sigma == math.inf else "")
        )
    if not (0 < sample_rate <= 1):
        raise BenchError(f"sample rate must be in (0, 1], got {sample_rate}")
    if isinstance(steps, bool) or int(steps) != steps or steps < 1:
        raise BenchError(f"steps must be an integer >= 1, got {steps}")
    if not (0 < delta < 1):
        raise BenchError(f"delta must be in (0, 1), got {delta}")


def _describe(history: Sequence[Run], delta: float) -> str:
    runs = " + ".join(f"sigma {s:g}, q {q:g}, T {t}" for s, q, t in history)
    return f"({runs}; delta {delta:g})"


def _prv_epsilon(history: Sequence[Run], delta: float, max_points: int | None = None) -> float:
    """opacus's ``PRVAccountant.get_epsilon``, refusing a grid above MAX_PRV_POINTS first
    (or above ``max_points``, the calculator's calibration limit, when given).

    The steps of opacus's ``get_epsilon`` and ``_get_dprv`` (same calls, same numbers), split
    so that the grid's size is known before any array is allocated.
    """
    import numpy as np

    from bench.privacy import opacus_light

    acc = opacus_light.accountants()[0]()
    prv = sys.modules[type(acc).__module__]
    delta_error = delta / 1000
    prvs = [prv.PoissonSubsampledGaussianPRV(q, s) for s, q, _ in history]
    steps = [t for _, _, t in history]
    try:
        with np.errstate(all="ignore"):
            domain = acc._get_domain(
                prvs=prvs, num_self_compositions=steps, eps_error=PRV_EPS_ERROR,
                delta_error=delta_error,
            )  # fmt: skip
        size = domain.size
    except (OverflowError, ValueError, RuntimeError):  # an infinite or NaN domain
        size = math.inf
    if size <= MAX_PRV_POINTS and not domain.t_max <= MAX_PRV_LOSS:
        raise AccountingError(
            f"PRV accounting of {_describe(history, delta)} would discretize privacy losses "
            f"up to {domain.t_max:.4g} (limit {MAX_PRV_LOSS:g}, where opacus's discretization "
            "fails): epsilon is in the hundreds or more; the RDP accountant still answers"
        )
    if size > MAX_PRV_POINTS:
        raise AccountingError(
            f"PRV accounting of {_describe(history, delta)} needs a grid of {size:.3g} "
            f"points (limit {MAX_PRV_POINTS:.3g}: memory, minutes): epsilon is far outside "
            "the useful range (a tiny sigma or a large q T); the RDP accountant still answers"
        )
    if max_points is not None and size > max_points:
        raise AccountingError(
            f"PRV accounting of {_describe(history, delta)} needs a grid of {size:.3g} points, "
            f"above the calculator's calibration limit of {max_points:.3g} (calibration makes "
            "3 to 10 such calls: a minute or more, over a GB)"
        )
    try:
        tprvs = [prv.TruncatedPrivacyRandomVariable(p, domain.t_min, domain.t_max) for p in prvs]
        prvs_module = sys.modules.get(f"{opacus_light.PACKAGE}.analysis.prv.prvs")
        if prv.__name__.startswith(opacus_light.PACKAGE) and prvs_module is not None:
            # opacus's discretize + compose, the FFT overlapping the mean (same numbers)
            dprv = opacus_light.discretize_and_compose(
                tprvs, domain, steps, prvs_module.DiscretePRV
            )
        else:  # opacus itself (another layout): its own functions
            dprv = prv.compose_heterogeneous(
                dprvs=[prv.discretize(t, domain) for t in tprvs], num_self_compositions=steps
            )
        epsilon = float(dprv.compute_epsilon(delta, delta_error, PRV_EPS_ERROR)[2])
    except (RuntimeError, ValueError, FloatingPointError, MemoryError) as exc:
        raise AccountingError(
            f"the PRV accountant (opacus) cannot account {_describe(history, delta)}: {exc}"
        ) from None
    if not math.isfinite(epsilon):
        raise AccountingError(
            f"the PRV accountant gave epsilon {epsilon} for {_describe(history, delta)}"
        )
    return epsilon


def epsilon_of_history(
    history: Sequence[Run], delta: float, accountant: str, *, max_points: int | None = None
) -> float:
    """Epsilon of a composition of subsampled Gaussian runs (e.g. GAN then classifier).

    ``max_points``: a PRV grid limit below MAX_PRV_POINTS (the calculator's calibration).

    Raises:
        AccountingError: when the accountant cannot account the history (PRV grid too
            large, opacus's numerical failures).
    """
    _check_name(accountant)
    if not history:
        return 0.0
    for sigma, q, steps in history:
        check_mechanism(sigma, q, steps, delta)
    if any(sigma <= 0 for sigma, _, _ in history):
        return math.inf
    runs = [(float(s), float(q), int(t)) for s, q, t in history]
    with accounting_context():
        if accountant == "prv":
            return _prv_epsilon(runs, delta, max_points)
        acc = _light_accountant("rdp")
        acc.history = runs
        return float(acc.get_epsilon(delta=delta))


def compute_epsilon(
    sigma: float,
    sample_rate: float,
    steps: int,
    delta: float,
    accountant: str = "prv",
    *,
    max_points: int | None = None,
) -> float:
    """Epsilon of ``steps`` Poisson-subsampled Gaussian steps at noise multiplier ``sigma``."""
    check_mechanism(sigma, sample_rate, steps, delta)
    history = [(sigma, sample_rate, steps)]
    return epsilon_of_history(history, delta, accountant, max_points=max_points)


@dataclass(frozen=True)
class Calibration:
    """A noise multiplier calibrated to a target budget.

    Attributes:
        sigma: the noise multiplier (0 for the non-private baseline).
        epsilon: the epsilon of ``sigma`` by the budget's accountant (<= target).
        cross_check_epsilon: the epsilon of ``sigma`` by the other accountant; ``None``
            when that accountant cannot account it (``cross_check_note`` says why).
    """

    budget: PrivacyBudget
    sample_rate: float
    steps: int
    sigma: float
    epsilon: float
    cross_check_epsilon: float | None
    cross_check_note: str | None = None

    @property
    def cross_check_accountant(self) -> str:
        return other_accountant(self.budget.accountant)


def calibrate(
    budget: PrivacyBudget, sample_rate: float, steps: int, *, max_points: int | None = None
) -> Calibration:
    """Calibrate the noise multiplier so that the accountant's epsilon is <= the target.

    ``max_points`` (the calculator passes :data:`CALCULATOR_MAX_PRV_POINTS`) refuses, with
    an :class:`AccountingError`, a calibration whose PRV grids would be larger; the sigma of
    one that stays below is the same as without it.

    The non-private budget (epsilon = inf) gives sigma = 0. Results are cached; a cached
    entry is used only when it matches the cache index, parses, and its sigma still gives
    its epsilon (recomputed: one accountant call), within the tolerance below the target;
    otherwise it is discarded with one warning and rebuilt.
    """
    check_mechanism(0.0, sample_rate, steps, budget.delta)
    if not budget.is_private:
        return Calibration(budget, sample_rate, steps, 0.0, math.inf, math.inf)
    path = cache_dir("calibration") / f"{_cache_key(budget, sample_rate, steps)}.json"
    if verified_entry(path, "cached calibration"):
        cached = _read_cached(path, budget, sample_rate, steps)
        if cached is not None:
            return cached
    sigma, epsilon = _solve(budget, sample_rate, steps, max_points)
    if epsilon > budget.epsilon:  # the guarantee must hold, whatever the solver did
        raise BenchError(f"calibration failed: epsilon {epsilon} exceeds target {budget.epsilon}")
    cross, note = cross_check(sigma, sample_rate, steps, budget.delta, budget.accountant)
    result = {"sigma": sigma, "epsilon": epsilon, "cross_check_epsilon": cross}
    if note:
        result["cross_check_note"] = note
    write_json_atomic(path, result)
    index_entry(path)
    return Calibration(budget, sample_rate, steps, **result)


def cross_check(
    sigma: float, sample_rate: float, steps: int, delta: float, accountant: str
) -> tuple[float | None, str | None]:
    """The other accountant's epsilon, or ``(None, why)`` when it cannot give one."""
    check_mechanism(sigma, sample_rate, steps, delta)
    return cross_check_of_history([(sigma, sample_rate, steps)], delta, accountant)


def cross_check_of_history(
    history: Sequence[Run], delta: float, accountant: str
) -> tuple[float | None, str | None]:
    """:func:`cross_check` of a composition: a cross-check, never a reason to fail the
    guarantee, so an accountant that cannot account it (PRV beyond its grid, say) gives
    ``(None, why)``."""
    try:
        return epsilon_of_history(history, delta, other_accountant(accountant)), None
    except AccountingError as exc:
        return None, str(exc)


def check_calibratable(epsilon: float, accountant: str) -> None:
    """Raise :class:`AccountingError` for a target the accountant cannot calibrate."""
    if accountant == "prv" and math.isfinite(epsilon) and epsilon > MAX_PRV_TARGET:
        raise AccountingError(
            f"epsilon {epsilon:g} is above what PRV calibration supports "
            f"({MAX_PRV_TARGET:g}: its grid would reach privacy losses where opacus's "
            "discretization fails); use --accountant rdp, or a smaller epsilon"
        )
    if accountant == "rdp" and math.isfinite(epsilon) and epsilon > MAX_RDP_TARGET:
        raise AccountingError(
            f"epsilon {epsilon:g} is above what RDP calibration supports "
            f"({MAX_RDP_TARGET:g}: such an epsilon guarantees nothing, and bisecting to "
            "within 0.01 of it takes hundreds of accountant calls); use a smaller epsilon"
        )


def _read_cached(path, budget: PrivacyBudget, sample_rate: float, steps: int):
    """The cached calibration, or ``None`` after discarding an entry that fails a check."""
    why = None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        cal = Calibration(budget, sample_rate, steps, **data)
        numbers = (cal.sigma, cal.epsilon)
        cross = cal.cross_check_epsilon
        if not all(isinstance(x, float) and math.isfinite(x) and x > 0 for x in numbers):
            why = "its sigma and epsilon are not positive finite numbers"
        elif not (cross is None or isinstance(cross, float)):
            why = "its cross-check epsilon is not a number"
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        why = f"it is not a calibration ({type(exc).__name__}: {exc})"
    if why is None:
        low = budget.epsilon - CALIBRATION_TOLERANCE
        if not low <= cal.epsilon <= budget.epsilon:
            why = f"its epsilon {cal.epsilon} is outside [{low}, {budget.epsilon}]"
        else:
            again = compute_epsilon(cal.sigma, sample_rate, steps, budget.delta, budget.accountant)
            if again != cal.epsilon:
                why = f"its sigma {cal.sigma} gives epsilon {again}, not the {cal.epsilon} stored"
    if why is None:
        return cal
    discard_entry(path, why, "cached calibration")
    return None


def _clt_surrogate(sample_rate: float, steps: int, delta: float):
    """A cheap epsilon(sigma) to guess the bisection's path: the mu-GDP (CLT) epsilon.

    Only a guess (the CLT under-reports for small q T); every decision it suggests is
    checked against the accountant (:mod:`bench.privacy.bisection`).
    """
    from bench.privacy.scipy_light import special

    log_ndtr = special.log_ndtr  # scipy.special's ufunc, without importing scipy.special

    def gdp_delta(eps, mu):
        log_a = log_ndtr(-eps / mu + mu / 2)
        return -math.exp(log_a) * math.expm1(eps + log_ndtr(-eps / mu - mu / 2) - log_a)

    def epsilon(sigma):
        inv = 1 / (sigma * sigma) if sigma > 0 else math.inf
        if sample_rate == 1:
            mu = math.sqrt(steps * inv)
        else:
            mu = sample_rate * math.sqrt(steps * math.expm1(min(inv, 700.0)))
        if not mu < 1e6:
            return math.inf
        if mu == 0 or gdp_delta(0.0, mu) <= delta:
            return 1e-12
        lo, hi = 0.0, 1.0
        while gdp_delta(hi, mu) > delta:
            lo, hi = hi, 2 * hi
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if gdp_delta(mid, mu) > delta else (lo, mid)
        return hi

    return epsilon


#: The PRV accountant's eps_error for the surrogate's anchor: a grid 10x coarser than the
#: reported one's (0.3 s instead of 1-1.3 s at q 0.01, T 1e4 on busy cores), whose
#: estimate was within 0.0005 of the reported epsilon there.
ANCHOR_EPS_ERROR = 0.1
#: Largest coarse grid the anchor computes (else the CLT surrogate is used unscaled).
MAX_ANCHOR_POINTS = 2**20


#: Coarse anchors at most, and how close (relative sigma) a walk's answer must come to
#: an anchor to stop adding them.
MAX_ANCHORS = 2
ANCHOR_SETTLED = 0.005


def _anchored_surrogate(clt, budget: PrivacyBudget, sample_rate: float, steps: int):
    """The CLT surrogate corrected by coarse PRV epsilons at the answers of guessed walks.

    Only a better guess: the CLT under-reports, so the first accountant call of a PRV
    calibration used to land off the answer and serve only to scale the guesses (one of
    four calls at epsilon 8, q 0.01, T 1e4). A PRV estimate on a 10x coarser grid does
    that for about a quarter of the price: at the CLT walk's answer, then (once more, when
    the corrected walk ends elsewhere) at the corrected walk's answer, and the guesses
    interpolate those estimates (:func:`bench.privacy.bisection.guess`). The exact calls
    then land where the walk needs them (3 at epsilon 8, q 0.01, T 1e4). Every decision is
    still the accountant's; a failure here leaves the CLT surrogate as it is.
    """
    from bench.privacy.bisection import BudgetTooLow, guess, opacus_walk

    anchors: dict[float, float] = {}

    def surrogate(sigma):
        return guess(sigma, anchors, clt)

    try:
        for _ in range(MAX_ANCHORS):
            sigma, _ = opacus_walk(surrogate, budget.epsilon, CALIBRATION_TOLERANCE)
            if any(abs(sigma - s) <= ANCHOR_SETTLED * s for s in anchors):
                break
            coarse = _coarse_prv_epsilon(sigma, sample_rate, steps, budget.delta)
            if coarse is None:
                break
            anchors[sigma] = coarse
    except (BudgetTooLow, ArithmeticError, ValueError, RuntimeError, MemoryError):
        pass
    return surrogate if anchors else clt


def _check_calculator_grid(surrogate, budget, sample_rate, steps, max_points) -> None:
    """Refuse up front a calibration whose answer needs a PRV grid above ``max_points``.

    The anchored surrogate's walk ends close to the answer, where the exact calls are
    made; a grid above the limit there would be refused at the first of them anyway,
    after the calls farther out (epsilon 300, q 0.01, T 100: 14 s on busy cores).
    """
    from bench.privacy.bisection import BudgetTooLow, opacus_walk

    try:
        sigma, _ = opacus_walk(surrogate, budget.epsilon, CALIBRATION_TOLERANCE)
    except BudgetTooLow:
        return
    size = _grid_points(sigma, sample_rate, steps, budget.delta)
    if size > max_points:
        raise AccountingError(
            f"cannot calibrate epsilon {budget.epsilon:g} with the PRV accountant: its sigma "
            f"(about {sigma:.4g}, q {sample_rate:g}, T {steps}) needs a grid of {size:.3g} "
            f"points, above the calculator's calibration limit of {max_points:.3g} (3 to 10 "
            "such calls: a minute or more, over a GB); use --accountant rdp (about a "
            "second), or a smaller epsilon"
        )


def _grid_points(sigma: float, sample_rate: float, steps: int, delta: float) -> float:
    """The size of opacus's PRV grid for one run (its RDP-based domain: no array)."""
    import numpy as np

    from bench.privacy.opacus_light import accountants

    acc = accountants()[0]()
    prv = sys.modules[type(acc).__module__]
    try:
        with accounting_context(), np.errstate(all="ignore"):
            prvs = [prv.PoissonSubsampledGaussianPRV(sample_rate, sigma)]
            return acc._get_domain(prvs, [steps], PRV_EPS_ERROR, delta / 1000).size
    except (OverflowError, ValueError, RuntimeError):
        return math.inf


def _coarse_prv_epsilon(sigma: float, sample_rate: float, steps: int, delta: float):
    """opacus's PRV estimate + PRV_EPS_ERROR on a grid of eps_error ANCHOR_EPS_ERROR, or
    ``None`` when that grid is too large or the accountant fails (a guess, never reported)."""
    import numpy as np

    from bench.privacy.opacus_light import accountants

    acc = accountants()[0]()
    acc.history = [(sigma, sample_rate, steps)]
    prv = sys.modules[type(acc).__module__]
    delta_error = delta / 1000
    try:
        with accounting_context(), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            prvs = [prv.PoissonSubsampledGaussianPRV(sample_rate, sigma)]
            domain = acc._get_domain(prvs, [steps], ANCHOR_EPS_ERROR, delta_error)
            if not (domain.size <= MAX_ANCHOR_POINTS and domain.t_max <= MAX_PRV_LOSS):
                return None
            dprv = acc._get_dprv(eps_error=ANCHOR_EPS_ERROR, delta_error=delta_error)
            estimate = float(dprv.compute_epsilon(delta, delta_error, ANCHOR_EPS_ERROR)[1])
    except (ArithmeticError, ValueError, RuntimeError, MemoryError):
        return None
    coarse = estimate + PRV_EPS_ERROR  # the reported epsilon is the estimate + its error
    return coarse if 0 < coarse < math.inf else None


def solve_sigma(budget: PrivacyBudget, sample_rate: float, steps: int) -> float:
    """The uncached calibration: opacus's bisection to within the tolerance below target.

    The sigma opacus's ``get_noise_multiplier`` returns, bit for bit (same points, same
    decisions), from a handful of accountant calls instead of about fifteen.
    """
    return _solve(budget, sample_rate, steps)[0]


def _solve(
    budget: PrivacyBudget, sample_rate: float, steps: int, max_points: int | None = None
) -> tuple[float, float]:
    """:func:`solve_sigma`'s sigma and the accountant's epsilon of it (computed by the
    search, which always computes the point it returns; not recomputed)."""
    from bench.privacy.bisection import BudgetTooLow, search

    check_mechanism(0.0, sample_rate, steps, budget.delta)
    delta, name = budget.delta, budget.accountant
    check_calibratable(budget.epsilon, name)
    memo: dict[float, float] = {}

    def exact(sigma):
        if sigma not in memo:
            memo[sigma] = compute_epsilon(
                sigma, sample_rate, steps, delta, name, max_points=max_points
            )
        return memo[sigma]

    surrogate = _clt_surrogate(sample_rate, steps, delta)
    if name == "prv":
        surrogate = _anchored_surrogate(surrogate, budget, sample_rate, steps)
        if max_points is not None:
            _check_calculator_grid(surrogate, budget, sample_rate, steps, max_points)
    try:
        sigma = search(exact, budget.epsilon, CALIBRATION_TOLERANCE, surrogate)
        return sigma, exact(sigma)
    except BudgetTooLow as exc:
        floor = exact(exc.sigma)
        raise BenchError(
            f"epsilon {budget.epsilon:g} is too small for q {sample_rate:g}, T {steps}, "
            f"delta {delta:g} with the {name.upper()} accountant: even sigma {exc.sigma:g} "
            f"gives epsilon {floor:.4g}"
            + (f" (PRV adds its error bound {PRV_EPS_ERROR})" if name == "prv" else "")
        ) from None
    except AccountingError as exc:
        hint = "; use --accountant rdp (about a second), or a smaller epsilon"
        raise AccountingError(
            f"cannot calibrate epsilon {budget.epsilon:g} with the {name.upper()} accountant: {exc}"
            + (hint if max_points is not None and "calibration limit" in str(exc) else "")
        ) from None


def _cache_key(budget: PrivacyBudget, sample_rate: float, steps: int) -> str:
    from bench.privacy.opacus_light import opacus_version

    text = json.dumps(
        [
            budget.epsilon,
            budget.delta,
            budget.accountant,
            sample_rate,
            steps,
            CALIBRATION_TOLERANCE,
            opacus_version(),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]
