"""The dataset registry: built-in phantoms and loaders for real data on local paths.

A dataset entry is metadata only (light to import: ``bench list`` and ``bench data
list`` read it without numpy); its loader module is imported when data are loaded,
through :func:`bench.datasets.loading.load`. Real datasets are never downloaded: a
user points ``--data-root`` at a local copy laid out as ``layout`` says. Third-party
datasets join through the ``bench.datasets`` entry-point group: each entry point names a
:class:`DatasetSpec` object (``name = "package.module:SPEC"``), registered by
:func:`load_plugins`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Literal

from bench.errors import DatasetError
from bench.registry import Registry

Modality = Literal["cardiac", "mammo"]


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset the tasks can read.

    Attributes:
        modality: ``cardiac`` (short-axis stacks + 14 attributes) or ``mammo`` (patches).
        builtin: True when it needs no ``--data-root`` (procedural phantoms).
        variants: phantom variants (``public``, ``private``, ``external``) or real splits
            (``all`` first, then the splits the layout has).
        default_variant: what a task gets when it names none.
        layout: the on-disk layout a ``--data-root`` must have.
        licence: the terms the data come under.
        url: where to get the data.
        loader: ``"module:attribute"`` of the loader object, imported lazily.
    """

    name: str
    modality: Modality
    description: str
    builtin: bool
    variants: tuple[str, ...]
    default_variant: str = "all"
    layout: str = "generated in memory from a seed"
    licence: str = "Apache-2.0 (part of this suite)"
    url: str = ""
    loader: str = ""

    @property
    def needs_root(self) -> bool:
        return not self.builtin


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def _real(name, modality, description, variants, layout, licence, url, module) -> None:
    loader = f"bench.datasets.real.{module}:LOADER"
    DATASETS.add(
        name,
        DatasetSpec(
            name, modality, description, False, variants, "all", layout, licence, url, loader
        ),
    )


DATASETS.add(
    "phantom-cardiac",
    DatasetSpec(
        "phantom-cardiac",
        "cardiac",
        "procedural 3D short-axis cardiac stacks with LV/myocardium/RV masks and the 14 attributes",
        builtin=True,
        variants=("public", "private"),
        default_variant="private",
    ),
)
DATASETS.add(
    "phantom-mammo",
    DatasetSpec(
        "phantom-mammo",
        "mammo",
        "procedural mammography mass patches, benign (round, circumscribed) vs malignant "
        "(irregular, spiculated)",
        builtin=True,
        variants=("public", "private", "external"),
        default_variant="private",
    ),
)
_real(
    "ukbb", "cardiac", "UK Biobank short-axis stacks as prepared by study A's code",
    ("all", "train", "val", "test"),
    "ROOT/{training,validation,testing}.npy list sample files; each sample .npy is a pickled "
    "dict with 'image' (13, 96, 96) in [0, 1] and 'labels' (14,), NaN = missing",
    "UK Biobank access agreement (restricted: approved application only)",
    "https://www.ukbiobank.ac.uk/enable-your-research/apply-for-access", "ukbb",
)  # fmt: skip
_real(
    "acdc", "cardiac", "ACDC cine MRI, 150 subjects in 5 groups, ED/ES segmentations",
    ("all", "train", "test"),
    "ROOT[/database]/{training,testing}/patientNNN/{Info.cfg, patientNNN_frameFF[_gt].nii.gz}; "
    "labels 1 RV, 2 myo, 3 LV; ED/ES 1-based in Info.cfg",
    "ACDC terms: research use, cite Bernard et al., IEEE TMI 2018 (check the site)",
    "https://humanheart-project.creatis.insa-lyon.fr/database/", "acdc",
)  # fmt: skip
_real(
    "mnms", "cardiac", "M&Ms multi-vendor, multi-centre cine MRI with ED/ES segmentations",
    ("all", "train", "val", "test"),
    "ROOT/{Training/Labeled,Validation,Testing}/CODE/CODE_sa[_gt].nii.gz (4D) + the "
    "information CSV (External code, ED, ES 0-based, ...) anywhere under ROOT",
    "M&Ms terms: research use after registration, cite Campello et al. 2021 (check the site)",
    "https://www.ub.edu/mnms/", "mnms",
)  # fmt: skip
_real(
    "sunnybrook", "cardiac", "Sunnybrook Cardiac Data: cine DICOM + expert LV contours",
    ("all",),
    "ROOT/link.csv (patient_id,original_id), ROOT/dicoms/PATIENT/N.dcm, "
    "ROOT/contourfiles/ORIGINAL/{i,o}-contours/IM-0001-NNNN-{i,o}contour-manual.txt",
    "CC0 1.0 (public domain dedication)",
    "http://cardiacatlas.org/standards/sunnybrook-cardiac-data", "sunnybrook",
)  # fmt: skip
_real(
    "cbis-ddsm", "mammo", "CBIS-DDSM scanned-film mammograms: mass crops from the ROI masks",
    ("all", "train", "test"),
    "ROOT/mass_case_description_{train,test}_set.csv (+ the calc CSVs) and the DICOMs at "
    "the CSV paths, or as the NBIA Data Retriever writes them with its metadata.csv",
    "CC BY 3.0 (The Cancer Imaging Archive)",
    "https://www.cancerimagingarchive.net/collection/cbis-ddsm/", "cbis_ddsm",
)  # fmt: skip
_real(
    "mammo-png", "mammo", "labelled PNG mass patches in study B's layout (mammo_dp)",
    ("all", "train", "val", "test"),
    "ROOT/[SOURCE/]SPLIT/is_benign_{true,false}/patientSOURCE__PID_..._is_benign_{1,0}.png",
    "that of the source data set (CBIS-DDSM: CC BY 3.0; BCDR: on request)",
    "https://github.com/RichardObi/mammo_dp (dataset16062024)", "mammo_png",
)  # fmt: skip
_real(
    "mammo-synthetic-png", "mammo",
    "study B's published synthetic mass patches (its c-DCGAN, trained WITHOUT DP on the "
    "CBIS-DDSM training patients: not public data; mammo-cls gan_source=published only)",
    ("all",),
    "ROOT/batch_B_I_{benign,malignant}.png",
    "Apache-2.0 (the mammo_dp repository); derived from CBIS-DDSM (CC BY 3.0)",
    "https://github.com/RichardObi/mammo_dp (extension/synthetic_data/cbis-ddsm/c-dcgan)",
    "mammo_synthetic",
)  # fmt: skip
_real(
    "vindr-mammo", "mammo", "VinDr-Mammo full-field digital mammograms: BI-RADS-labelled masses",
    ("all", "train", "test"),
    "ROOT/finding_annotations.csv and ROOT/images/STUDY/IMAGE.dicom; malignant = mass "
    "finding BI-RADS 4 or 5, benign = BI-RADS 2 or 3",
    "PhysioNet Restricted Health Data License 1.5.0 (credentialed access)",
    "https://physionet.org/content/vindr-mammo/", "vindr",
)  # fmt: skip


_SUITE_DATASETS = frozenset(DATASETS)  # everything above; a task lists those it reads
_plugins_loaded = False


def load_plugins() -> None:
    """Register the datasets of the ``bench.datasets`` entry-point group, once.

    Raises:
        DatasetError: an entry point that is not a :class:`DatasetSpec`, or whose name
            differs from its spec's.
    """
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group="bench.datasets"):
        spec = entry.load()
        if not isinstance(spec, DatasetSpec):
            raise DatasetError(
                f"entry point {entry.name!r} ({entry.value}) of group bench.datasets must name "
                f"a bench.datasets.DatasetSpec, not {type(spec).__name__}"
            )
        if spec.name != entry.name:
            raise DatasetError(
                f"entry point {entry.name!r} of group bench.datasets names dataset {spec.name!r}"
            )
        DATASETS.add(spec.name, spec)


def accepts(accepted: tuple[str, ...], name: str) -> bool:
    """Whether a task that lists ``accepted`` datasets can read dataset ``name``: one it
    lists, or a plug-in dataset of a modality whose real data it reads (a task that
    reads only a phantom has no code path for real data of that modality).

    >>> accepts(("phantom-mammo",), "vindr-mammo"), accepts(("phantom-cardiac", "acdc"), "acdc")
    (False, True)
    """
    if name in accepted:
        return True
    if name not in DATASETS or name in _SUITE_DATASETS:
        return False
    real = {DATASETS.get(a).modality for a in accepted if not DATASETS.get(a).builtin}
    return DATASETS.get(name).modality in real


def phantom_for(modality: str) -> str:
    """The built-in phantom dataset of a modality.

    >>> phantom_for("mammo")
    'phantom-mammo'
    """
    return f"phantom-{modality}"


def require_root(name: str, root: Path | None, flag: str = "--data-root") -> DatasetSpec:
    """The spec of ``name``, after checking that it has the local folder it needs.

    Raises:
        DatasetError: A real dataset without a root, or a root that is not a folder.

    Example:
        >>> require_root("acdc", None)
        Traceback (most recent call last):
        ...
        bench.errors.DatasetError: dataset 'acdc' needs --data-root DIR: ...
    """
    spec = DATASETS.get(name)
    if spec.needs_root and root is None:
        raise DatasetError(
            f"dataset {name!r} needs {flag} DIR: a local copy laid out as {spec.layout} "
            f"(see bench data list)"
        )
    if spec.needs_root and not Path(root).is_dir():
        raise DatasetError(f"{flag} {root} is not a folder (dataset {name!r})")
    return spec
