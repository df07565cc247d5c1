"""The example package is installed by its test, never imported by the test session.

Importing it would register ``norm-prior`` in this process's method registry (every
later test would see a fourth-party method), so doctest collection must skip it.
"""

collect_ignore = ["pmb_example_attack", "pmb_example_classifier", "pmb_example_generator"]
