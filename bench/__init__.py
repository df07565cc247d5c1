"""PrivMedBench: a benchmark suite for privacy-preserving deep learning in medical imaging.

The package root stays import-light (no torch, no numpy) so that ``bench --help`` and
``bench list`` start in well under a second; heavy modules load when a cell runs.
"""

__version__ = "0.1.0"
