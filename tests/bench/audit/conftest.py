"""The controls register through the ``bench.methods`` entry point once installed; an
editable install made before they existed lacks it, so load them here too."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _controls_registered():
    from bench.tasks import load

    load()
    import controls.methods  # noqa: F401
