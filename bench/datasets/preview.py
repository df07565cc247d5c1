"""A grid of preprocessed samples with their labels, for a quick look at a dataset.

Cardiac samples show their middle slice with the mask outlines (LV red, myocardium
green, RV blue) and their phase and LV attributes; mammography patches show their
label. Drawn with matplotlib's object API (no pyplot, no global backend change).
"""

from __future__ import annotations

from pathlib import Path

from bench.datasets.types import CardiacSet, MammoSet

_OUTLINES = ((1, "tab:red"), (2, "tab:green"), (3, "tab:blue"))


def preview(data: CardiacSet | MammoSet, out: Path, n: int = 16, title: str = "") -> Path:
    """Save a grid of the first ``n`` samples of ``data`` as a PNG at ``out``.

    Example:
        >>> import tempfile
        >>> from bench.datasets.loading import load
        >>> path = Path(tempfile.mkdtemp()) / "grid.png"
        >>> preview(load("phantom-mammo", shape=32, n=4), path).stat().st_size > 0
        True
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    count = min(n, len(data))
    cols = min(count, 4)
    rows = -(-count // cols)
    figure = Figure(figsize=(2.4 * cols, 2.7 * rows))
    FigureCanvasAgg(figure)
    for i in range(count):
        axes = figure.add_subplot(rows, cols, i + 1)
        _draw(axes, data, i)
        axes.set_axis_off()
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    return out


def _draw(axes, data: CardiacSet | MammoSet, i: int) -> None:
    subject = data.subjects[i] if data.subjects else str(i)
    if isinstance(data, MammoSet):
        axes.imshow(data.images[i], cmap="gray", vmin=0, vmax=1)
        label = "malignant" if data.labels[i] == 1 else "benign"
        axes.set_title(f"{subject}\n{label}", fontsize=7)
        return
    middle = data.images.shape[1] // 2
    axes.imshow(data.images[i, middle], cmap="gray", vmin=0, vmax=1)
    mask = data.masks[i, middle]
    for label, colour in _OUTLINES:
        if (mask == label).any() and (mask != label).any():
            axes.contour(mask == label, levels=[0.5], colors=colour, linewidths=0.7)
    axes.set_title(f"{subject}\n{_cardiac_caption(data, i)}", fontsize=7)


def _cardiac_caption(data: CardiacSet, i: int) -> str:
    phase = "ED" if data.column("ESED")[i] == 1 else "ES"
    parts = [phase]
    for name in ("LVEDV", "LVESV", "LVEF"):
        value = float(data.column(name)[i])
        parts.append(f"{name} {value:.0f}" if value >= 0 else f"{name} -")
    return " ".join(parts[:2]) + "\n" + " ".join(parts[2:])
