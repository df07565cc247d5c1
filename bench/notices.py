"""Known library warnings of a DP cell, explained once per process instead of per cell.

opacus and torch warn in every DP cell; a clinical user cannot tell whether that
matters. :func:`handled_warnings` catches the known ones and prints, the first time
each is seen in this process (once per run with the local launcher; once per worker
with ``--jobs``), one sentence on what it means for the guarantee. Any other warning
passes through unchanged.
"""

from __future__ import annotations

import contextlib
import re
import sys
import warnings

from tqdm import tqdm

KNOWN: dict[str, tuple[str, str]] = {
    "secure-rng": (
        r"Secure RNG turned off",
        "note: opacus draws the DP noise from torch's seeded generator (not a cryptographic "
        "one): the epsilon holds against an adversary who cannot predict that generator; "
        "--secure-rng uses opacus's secure generator (no seed: not reproducible).",
    ),
    "backward-hook": (
        r"Full backward hook is firing",
        "note: torch warns that the model's inputs need no gradient; opacus's per-sample "
        "gradients (clipping, noise) are computed all the same: no effect on the guarantee.",
    ),
    "large-delta": (
        r"delta .* >= 1/N",
        "warning: {message}",
    ),
}
_seen: set[str] = set()


def explain(message: str) -> str | None:
    """The key of the known warning ``message`` is, or ``None``.

    >>> explain("Secure RNG turned off. This is perfectly fine for experimentation")
    'secure-rng'
    """
    for key, (pattern, _) in KNOWN.items():
        if re.search(pattern, message):
            return key
    return None


@contextlib.contextmanager
def handled_warnings(stream=None):
    """Within the block, known warnings are explained once per process on ``stream``
    (stderr by default) and dropped; others are shown as Python would."""
    with warnings.catch_warnings():  # restores showwarning on exit
        show = warnings.showwarning

        def explain_once(message, category, filename, lineno, file=None, line=None):
            text = str(message)
            key = explain(text)
            if key is None:
                show(message, category, filename, lineno, file, line)
            elif key not in _seen or (key == "large-delta" and text not in _seen):
                _seen.update((key, text))
                # tqdm.write keeps the run's progress bars intact around the line
                tqdm.write(KNOWN[key][1].format(message=text), file=stream or sys.stderr)

        warnings.showwarning = explain_once
        yield
