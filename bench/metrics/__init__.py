"""The metric registry: every reported metric has a name, a direction and a meaning.

Confidence-interval companions (``<name>_ci_low`` / ``<name>_ci_high``) share the
direction of their metric.

Example:
    >>> higher_is_better("psnr_mean"), higher_is_better("mse_mean_ci_high")
    (True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.registry import Registry


@dataclass(frozen=True)
class MetricSpec:
    name: str
    higher_is_better: bool
    description: str


METRICS: Registry[MetricSpec] = Registry("metric")


def register_metric(name: str, higher_is_better: bool, description: str) -> MetricSpec:
    """Declare a metric; tasks may only report declared metrics."""
    return METRICS.add(name, MetricSpec(name, higher_is_better, description))


def base_name(name: str) -> str:
    """The metric a CI companion belongs to."""
    for suffix in ("_ci_low", "_ci_high"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def higher_is_better(name: str) -> bool:
    """Direction of ``name`` (or of the metric its CI belongs to)."""
    return METRICS.get(base_name(name)).higher_is_better


for _name, _up, _text in [
    # From the attacker's point of view: higher success = more risk = worse privacy,
    # but the attack tasks rank attacks, so "higher is better" means a stronger attack.
    ("p_mse_le_empirical", True, "empirical P[MSE <= eta] of the attack"),
    ("p_mse_le_bound", True, "theoretical upper bound on P[MSE <= eta]"),
    ("p_psnr_ge_empirical", True, "empirical P[PSNR >= rho] of the attack"),
    ("p_psnr_ge_bound", True, "theoretical upper bound on P[PSNR >= rho]"),
    ("coverage", True, "fraction of trials whose MSE is above the theoretical 5% quantile"),
    ("mse_mean", False, "mean squared error of the reconstructions"),
    ("psnr_mean", True, "mean PSNR (dB) of the reconstructions"),
    ("ssim_mean", True, "mean SSIM of the reconstructions"),
    ("success_empirical", True, "empirical attack success rate (the task's headline)"),
    ("rero_bound", True, "ReRo upper bound on identification success"),
    ("success_bound", True, "theoretical upper bound on success_empirical for this attack"),
    ("observed_fraction", True, "fraction of trials in which the target was sampled"),
    ("trials", True, "number of attack trials"),
]:
    register_metric(_name, _up, _text)
