"""Readers of the medical file formats that turn any failure into a :class:`ReadError`.

Third-party readers fail in many ways on damaged files (``EOFError`` from gzip,
``ValueError`` from a short pixel buffer, ``InvalidDicomError``, ...); the loaders only
need to know which file and why, so every reader here catches broadly and names both.
pydicom is imported lazily and kept quiet: real archives carry many harmless header
irregularities (Sunnybrook's UIDs are not valid UIDs) that would drown the log.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np

from bench.datasets.real.base import ReadError, reason


@contextlib.contextmanager
def _quiet_pydicom():
    from pydicom import config

    mode = config.settings.reading_validation_mode
    config.settings.reading_validation_mode = config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        config.settings.reading_validation_mode = mode


def read_dicom(path: Path, pixels: bool = True):
    """A DICOM dataset; with ``pixels``, also its float32 image (rescaled, MONOCHROME2).

    Returns:
        ``(dataset, image)``, ``image`` is ``None`` without ``pixels``.

    Raises:
        ReadError: On any unreadable, truncated or non-DICOM file.
    """
    import pydicom

    try:
        with _quiet_pydicom():
            dataset = pydicom.dcmread(str(path), stop_before_pixels=not pixels)
            image = dataset.pixel_array if pixels else None
    except Exception as exc:  # any failure of the reader is this file's fault
        raise ReadError(path, f"unreadable DICOM ({reason(exc)})") from None
    if image is None:
        return dataset, None
    if image.ndim != 2 or image.size == 0:
        raise ReadError(path, f"expected one 2D image, got pixel data of shape {image.shape}")
    finite_ok(image, path)
    slope = float(getattr(dataset, "RescaleSlope", 1) or 1)
    intercept = float(getattr(dataset, "RescaleIntercept", 0) or 0)
    image = image.astype(np.float32) * slope + intercept
    if getattr(dataset, "PhotometricInterpretation", "") == "MONOCHROME1":
        image = image.max() - image  # MONOCHROME1 stores dense tissue dark: invert to MONOCHROME2
    return dataset, image


def header(dataset, name: str, path: Path, convert=float):
    """A header field converted with ``convert``, or :class:`ReadError` naming it."""
    value = getattr(dataset, name, None)
    try:
        if value is None or value == "":
            raise ValueError("absent")
        return convert(value)
    except (TypeError, ValueError):
        raise ReadError(path, f"DICOM header lacks a usable {name}") from None


def read_nifti(path: Path, ndim: int, axes: str) -> tuple[np.ndarray, tuple[float, ...]]:
    """A NIfTI array of exactly ``ndim`` dimensions and its voxel size (the first three).

    Args:
        path: the ``.nii`` or ``.nii.gz`` file.
        ndim: the dimensions expected (3 for a frame, 4 for a cine series).
        axes: how the dimensions read, for the error message (``"x, y, slice"``).

    Raises:
        ReadError: Unreadable, truncated, or of another dimension.
    """
    import nibabel

    try:
        image = nibabel.load(str(path))
        data = np.asarray(image.dataobj)
        zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    except Exception as exc:  # gzip, zlib and nibabel errors alike
        raise ReadError(path, f"unreadable NIfTI ({reason(exc)})") from None
    if data.ndim != ndim:
        raise ReadError(path, f"expected a {ndim}D volume ({axes}), got shape {data.shape}")
    if data.size == 0:
        raise ReadError(path, f"expected a {ndim}D volume ({axes}), got an empty {data.shape}")
    if data.dtype.kind not in "biuf":
        raise ReadError(path, f"expected real-valued voxels, got dtype {data.dtype}")
    finite_ok(data, path)
    return data, zooms


def read_png(path: Path) -> np.ndarray:
    """A grayscale PNG as float32 in [0, 1] (8- or 16-bit; colour is averaged)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            array = np.asarray(image)
    except Exception as exc:  # PIL raises many kinds on damaged files
        raise ReadError(path, f"unreadable PNG ({reason(exc)})") from None
    if array.ndim not in (2, 3) or array.size == 0:
        raise ReadError(path, f"expected a 2D grayscale image, got pixels of shape {array.shape}")
    if array.dtype == bool:  # a 1-bit PNG
        return array.astype(np.float32)
    if array.ndim == 3:  # colour: the mean of R, G, B; grey + alpha: the grey
        array = array[..., 0] if array.shape[-1] == 2 else array[..., :3].mean(axis=-1)
    peak = 65535.0 if array.dtype == np.uint16 or array.max(initial=0) > 255 else 255.0
    return (array.astype(np.float32) / peak).clip(0.0, 1.0)


def finite_ok(array: np.ndarray, path: Path) -> None:
    """Raise :class:`ReadError` when a float array holds NaN or infinite values.

    >>> finite_ok(np.array([0.0, np.nan]), Path("x.nii"))
    Traceback (most recent call last):
    ...
    bench.datasets.real.base.ReadError: x.nii: 1 of 2 value(s) are NaN or infinite; expected ...
    """
    if array.dtype.kind == "f" or array.dtype.kind == "c":
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise ReadError(
                path, f"{bad} of {array.size} value(s) are NaN or infinite; expected finite values"
            )


def labels_ok(mask: np.ndarray, path: Path, allowed=(0, 1, 2, 3)) -> np.ndarray:
    """``mask`` as uint8 after checking every value is a known class.

    >>> labels_ok(np.array([[0, 4]]), Path("gt.nii.gz"))
    Traceback (most recent call last):
    ...
    bench.datasets.real.base.ReadError: gt.nii.gz: unknown label class(es) [4]; expected ...
    """
    values = np.unique(mask)
    unknown = sorted(set(values.tolist()) - set(allowed))
    if unknown:
        shown = [int(v) if float(v).is_integer() else float(v) for v in unknown[:5]]
        raise ReadError(path, f"unknown label class(es) {shown}; expected {list(allowed)}")
    return mask.astype(np.uint8)
