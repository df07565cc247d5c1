"""Formal bounds on reconstruction under DP-SGD: theory the core needs for risk blocks.

* :mod:`bench.privacy.bounds.prior_free`: the prior-free MSE/PSNR bounds and their
  calibration, the suite's q < 1 bound, and the GDP <-> (epsilon, delta) conversions.
* :mod:`bench.privacy.bounds.rero`: reconstruction robustness (ReRo) of an informed
  adversary with a prior of size 1/kappa.

numpy/scipy only (float64), so that a calculator that needs a bound never imports torch.
"""
