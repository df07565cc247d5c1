"""The Sunnybrook loader on the real two-patient subset (skipped without ../shared)."""

from __future__ import annotations

import pytest
from fixtures.fake_sunnybrook import hand_volumes

from bench.datasets.checking import check
from bench.datasets.loading import load
from bench.datasets.real.sunnybrook import scan_cine
from bench.datasets.types import ATTRIBUTES

PATIENTS = (("SCD0000101", "SC-HF-I-1", 12), ("SCD0000201", "SC-HF-I-2", 13))


@pytest.fixture
def subset(shared_data):
    return shared_data / "sunnybrook-subset"


@pytest.mark.parametrize(("patient", "locations"), [(p, n) for p, _, n in PATIENTS])
def test_slice_locations_and_phases(subset, patient, locations):
    problems = []
    cine = scan_cine(sorted((subset / "dicoms" / patient).glob("*.dcm")), problems)
    assert problems == []
    assert len(cine.frames) == locations
    assert [len(frames) for frames in cine.frames] == [20] * locations
    assert cine.spacing[0] == pytest.approx(10.0, abs=0.01)  # along the normal, as the header says
    assert cine.spacing[1:] == pytest.approx((1.367188, 1.367188))


def test_ed_es_lv_volumes_match_the_hand_computation(subset):
    data = load("sunnybrook", root=subset, use_cache=False)
    assert data.subjects == ("SCD0000101",) * 2 + ("SCD0000201",) * 2
    lvedv, lvesv = (data.attributes[:, ATTRIBUTES.index(n)] for n in ("LVEDV", "LVESV"))
    for k, (patient, original, _) in enumerate(PATIENTS):
        ed, es = hand_volumes(subset, patient, original)
        assert lvedv[2 * k] == pytest.approx(ed, rel=0.03)
        assert lvesv[2 * k] == pytest.approx(es, rel=0.03)
        assert 10 < 100 * (ed - es) / ed < 40  # heart-failure patients: EF well below 50%


def test_check_finds_the_subset_complete(subset):
    report = check("sunnybrook", subset)
    assert report.problems == [] and report.subjects == 2 and report.samples == 4
    assert report.labels == {"ED": 2, "ES": 2, "segmented": 4}


@pytest.mark.integration
@pytest.mark.slow  # 9 s; tests/datasets/test_data_cli.py runs recon-attack on the subset by default
def test_recon_attack_runs_on_the_real_subset(subset, tmp_path):
    from bench.api import run
    from bench.records import iter_records
    from bench.runner import RunRequest

    request = RunRequest(
        task="recon-attack", epsilons=(10.0,), methods=("prior-free", "identification"),
        seeds=(0,), profile="smoke", dataset="sunnybrook", data_root=subset, out=tmp_path,
    )  # fmt: skip
    result = run(request)
    assert not result.failed, [s.error for s in result.failed]
    for record in iter_records(tmp_path):
        assert record["dataset"]["name"] == "sunnybrook"
        assert record["dataset"]["root_content_hash"] == check("sunnybrook", subset).content_hash


@pytest.mark.integration
def test_cardiac_ldm_refuses_the_two_patient_subset_with_a_clear_error(subset, tmp_path):
    from bench.api import run
    from bench.runner import RunRequest

    request = RunRequest(
        task="cardiac-ldm", epsilons=(10.0,), methods=("dp-ldm-scratch",), seeds=(0,),
        profile="smoke", dataset="sunnybrook", data_root=subset, out=tmp_path,
    )  # fmt: skip
    (status,) = run(request).failed
    assert "has 2 subject(s)" in status.error and "needs at least 3" in status.error
    assert not list(tmp_path.rglob("seed=0.json"))
