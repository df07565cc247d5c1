"""Reference classifiers (DP vision transformer)."""
