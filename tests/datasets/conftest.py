"""Fake layouts of every real dataset, built once per session from code (no binary blobs).

Tests that damage a layout build their own copy in ``tmp_path``.
"""

from __future__ import annotations

import pytest
from fixtures import fake_cardiac, fake_mammo, fake_sunnybrook


@pytest.fixture(scope="session")
def acdc_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("acdc")
    return root, fake_cardiac.make_acdc(root)


@pytest.fixture(scope="session")
def mnms_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("mnms")
    return root, fake_cardiac.make_mnms(root)


@pytest.fixture(scope="session")
def ukbb_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ukbb")
    return root, fake_cardiac.make_ukbb(root)


@pytest.fixture(scope="session")
def sunnybrook_root(tmp_path_factory):
    return fake_sunnybrook.make_sunnybrook(tmp_path_factory.mktemp("sunnybrook"))


@pytest.fixture(scope="session", params=["tcia", "nbia"])
def cbis_root(tmp_path_factory, request):
    root = tmp_path_factory.mktemp(f"cbis-{request.param}")
    return root, fake_mammo.make_cbis(root, layout=request.param)


@pytest.fixture(scope="session")
def png_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("png")
    return root, fake_mammo.make_png(root)


@pytest.fixture(scope="session")
def vindr_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("vindr")
    fake_mammo.make_vindr(root)
    return root
