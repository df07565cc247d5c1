"""The ``mammo-cls`` reference methods (registered in :mod:`classifiers.methods`)."""
