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

# cardiac-ldm (study A). FID names are generic: another task may declare them first.
for _name, _up, _text in [
    (
        "fid",
        False,
        "Frechet distance of generated vs real test volumes (central slices, offline "
        "phantom-encoder-v1; the record names the extractor and its weights)",
    ),
    ("fid_floor", False, "the same FID between the two halves of the real test set"),
    ("fid_3d", False, "Frechet distance of whole volumes (3D encoder trained on public data)"),
    ("fid_3d_floor", False, "the same 3D FID between the two halves of the real test set"),
    (
        "fid_reconstruction",
        False,
        "slice FID of the autoencoder's reconstructions of the real test volumes: the "
        "floor the frozen autoencoder sets for generated volumes",
    ),
    ("fid_inception", False, "slice-wise FID with InceptionV3 pool features (local weights)"),
    ("fid_inception_floor", False, "the Inception FID between the real test halves"),
    (
        "msssim_generated",
        False,
        "mean MS-SSIM of consecutive generated volumes (lower = more "
        "diverse; compare with msssim_real)",
    ),
    ("msssim_real", False, "mean MS-SSIM of consecutive real test volumes (the reference)"),
    ("lv_volume_r", True, "Pearson r of measured vs requested LV volume (LVEDV / LVESV)"),
    ("rv_volume_r", True, "Pearson r of measured vs requested RV volume (RVEDV / RVESV)"),
    ("myo_thickness_r", True, "Pearson r of measured vs requested myocardial thickness"),
    ("cycle_accuracy", True, "fraction of generated volumes in the requested phase (ES/ED)"),
    ("lv_volume_r_real", True, "lv_volume_r of the evaluators on the real test volumes"),
    ("rv_volume_r_real", True, "rv_volume_r of the evaluators on the real test volumes"),
    ("myo_thickness_r_real", True, "myo_thickness_r of the evaluators on the real test volumes"),
    ("cycle_accuracy_real", True, "cycle_accuracy of the phase rule on real test volumes"),
]:
    if _name not in METRICS:
        register_metric(_name, _up, _text)

# mammo-cls (study B). Malignant (label 1) is the positive class of every score.
for _name, _up, _text in [
    ("auroc_internal", True, "AUROC on the internal test split (malignant = positive)"),
    ("auprc_internal", True, "average precision on the internal test split (malignant = positive)"),
    ("accuracy_internal", True, "accuracy at P(malignant) >= 0.5 on the internal test split"),
    ("auroc_external", True, "AUROC on the external test site (malignant = positive)"),
    ("auprc_external", True, "average precision on the external test site (malignant = positive)"),
    ("accuracy_external", True, "accuracy at P(malignant) >= 0.5 on the external test site"),
    ("fid", False, "Frechet distance of generated vs real test images (see the extractor)"),
    ("fid_floor", False, "the same FID between the two halves of the real test set"),
    ("fid_public", False, "FID of the synthetic patches vs the public patches"),
    ("synthetic_benign", True, "synthetic benign patches used"),
    ("synthetic_malignant", True, "synthetic malignant patches used"),
]:
    if _name not in METRICS:
        register_metric(_name, _up, _text)
