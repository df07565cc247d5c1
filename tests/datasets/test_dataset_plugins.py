"""Third-party datasets through the ``bench.datasets`` entry-point group."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import bench.datasets as datasets
from bench.datasets import DATASETS, DatasetSpec, accepts, load_plugins
from bench.errors import BenchError, DatasetError

SPEC = DatasetSpec(
    "site-sunnybrook",
    "cardiac",
    "a hospital's own cine DICOM export in the Sunnybrook layout",
    builtin=False,
    variants=("all",),
    layout="as sunnybrook",
    licence="internal",
    loader="bench.datasets.real.sunnybrook:LOADER",
)


@dataclass
class _Entry:
    name: str
    value: object

    def load(self):
        return self.value


@pytest.fixture
def plugin(monkeypatch):
    """Install entry points for one test; the registry is restored afterwards."""
    monkeypatch.setattr(DATASETS, "_items", dict(DATASETS._items))
    monkeypatch.setattr(datasets, "_plugins_loaded", False)

    def install(*entries):
        monkeypatch.setattr(datasets, "entry_points", lambda group: list(entries))
        load_plugins()

    return install


def test_a_plugin_dataset_is_registered_and_read_by_tasks_of_its_modality(plugin):
    plugin(_Entry("site-sunnybrook", SPEC))
    assert DATASETS.get("site-sunnybrook") is SPEC
    assert accepts(("phantom-cardiac", "acdc"), "site-sunnybrook")
    assert not accepts(("phantom-mammo", "cbis-ddsm"), "site-sunnybrook")
    assert not accepts(("phantom-cardiac",), "site-sunnybrook")  # a phantom-only task


def test_a_run_reads_the_plugin_dataset(plugin, sunnybrook_root, tmp_path):
    from bench.api import run
    from bench.records import iter_records
    from bench.runner import RunRequest

    plugin(_Entry("site-sunnybrook", SPEC))
    request = RunRequest(
        task="recon-attack", epsilons=(10.0,), methods=("prior-free",), seeds=(0,),
        profile="smoke", dataset="site-sunnybrook", data_root=sunnybrook_root, out=tmp_path,
    )  # fmt: skip
    assert not run(request).failed
    (record,) = iter_records(tmp_path)
    assert record["dataset"]["name"] == "site-sunnybrook"


def test_a_task_refuses_a_plugin_dataset_of_another_modality(plugin, tmp_path):
    from bench.runner import RunRequest, validate_request

    plugin(_Entry("site-sunnybrook", SPEC))
    request = RunRequest(
        task="mammo-cls", epsilons=(10.0,), methods=("dp-vit-real",), seeds=(0,),
        profile="smoke", dataset="site-sunnybrook", data_root=tmp_path, out=tmp_path,
    )  # fmt: skip
    with pytest.raises(BenchError, match="cannot use dataset 'site-sunnybrook'"):
        validate_request(request)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_Entry("x", "not a spec"), "must name a bench.datasets.DatasetSpec, not str"),
        (_Entry("other-name", SPEC), "names dataset 'site-sunnybrook'"),
    ],
)
def test_a_bad_entry_point_is_a_clear_error(plugin, entry, message):
    with pytest.raises(DatasetError, match=message):
        plugin(entry)
