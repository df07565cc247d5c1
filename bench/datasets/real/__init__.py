"""Loaders of real datasets from local folders (nothing is downloaded).

One module per dataset, each exposing ``LOADER`` (see :class:`base.Loader`): an index
of the folder's items that notes every missing file, and a reader of one item that
raises :class:`base.ReadError` on a bad file. :mod:`bench.datasets.loading` drives them.
"""
