"""Corrupt inputs are reported with their path, never crashed on, never dropped in silence."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures import fake_cardiac, fake_mammo, fake_sunnybrook
from fixtures.fake_dicom import truncate

from bench.datasets.checking import check
from bench.datasets.loading import load
from bench.errors import DatasetError

SHAPE = (13, 32, 32)


def messages(problems) -> str:
    return "\n".join(str(p) for p in problems)


def _sunnybrook_files(root):
    """(a file the ED/ES frames need, a file no frame needs) of the first patient."""
    import pydicom

    patient = fake_sunnybrook.PATIENTS[0]
    contour = next((root / "contourfiles" / patient.original / "i-contours").glob("*.txt"))
    needed = root / "dicoms" / patient.patient / f"{int(contour.name.split('-')[2])}.dcm"
    for path in sorted((root / "dicoms" / patient.patient).glob("*.dcm")):
        phase = int(float(pydicom.dcmread(path, stop_before_pixels=True).TriggerTime) // 40)
        if phase not in (patient.ed, patient.es):
            return needed, path
    raise AssertionError("no unneeded file")


def test_truncated_dicom_skips_its_subject_and_says_so(tmp_path):
    root = fake_sunnybrook.make_sunnybrook(tmp_path)
    needed, spare = _sunnybrook_files(root)
    truncate(needed)
    truncate(spare)
    data = load("sunnybrook", root=root, shape=SHAPE, use_cache=False)
    assert data.subjects == ("SCD0000201", "SCD0000201")  # the other patient still loads
    text = messages(data.provenance.problems)
    assert str(needed) in text and "unreadable DICOM" in text and "SCD0000101 skipped" in text
    report = check("sunnybrook", root, shape=SHAPE)
    assert str(spare) in messages(report.problems)  # the check decodes every file
    assert str(needed) in messages(report.problems) and report.samples == 2


def test_nifti_with_a_wrong_dimension(tmp_path):
    fake_cardiac.make_acdc(tmp_path)
    frame = tmp_path / "database" / "training" / "patient002" / "patient002_frame01.nii.gz"
    fake_cardiac._nifti(frame, np.zeros((8, 8, 4, 3), np.int16), (1.0, 1.0, 1.0))
    data = load("acdc", root=tmp_path, shape=SHAPE, use_cache=False)
    assert data.subjects == ("patient001",) * 2 + ("patient003",) * 2
    text = messages(data.provenance.problems)
    assert f"{frame}: expected a 3D volume (x, y, slice), got shape (8, 8, 4, 3)" in text
    assert "patient002 skipped" in text


def test_csv_row_pointing_to_a_missing_file(tmp_path):
    fake_mammo.make_cbis(tmp_path, layout="tcia")
    missing = sorted(tmp_path.glob("Mass-Test_P_00008_*/*/*/000000.dcm"))[0]
    missing.unlink()
    report = check("cbis-ddsm", tmp_path, shape=64)
    assert report.samples == 5 and len(report.problems) == 1
    problem = report.problems[0]
    assert "mass_case_description_test_set.csv line 3" in problem.path
    assert "missing" in problem.message and missing.name in problem.message


@pytest.mark.parametrize("case", ["acdc-gt", "png-name", "cbis-pathology"])
def test_label_with_an_unknown_class(tmp_path, case):
    if case == "acdc-gt":
        fake_cardiac.make_acdc(tmp_path)
        gt = tmp_path / "database" / "training" / "patient001" / "patient001_frame01_gt.nii.gz"
        fake_cardiac._nifti(gt, np.full((48, 48, 8), 7, np.uint8), (1.0, 1.0, 1.0))
        name, expected, bad = "acdc", "unknown label class(es) [7]", str(gt)
    elif case == "png-name":
        paths = fake_mammo.make_png(tmp_path)
        bad = str(paths[0].rename(paths[0].with_name("patientx__P_9_image1_mass1_is_benign_2.png")))
        name, expected = "mammo-png", "unknown class 'is_benign_2'"
    else:
        fake_mammo.make_cbis(tmp_path)
        csv = tmp_path / "mass_case_description_train_set.csv"
        csv.write_text(csv.read_text().replace("BENIGN_WITHOUT_CALLBACK", "UNPROVEN", 1))
        name, expected, bad = "cbis-ddsm", "unknown pathology; expected one of", f"{csv} line 5"
    report = check(name, tmp_path, shape=SHAPE if name == "acdc" else 64)
    assert report.usable and len(report.problems) == 1
    assert expected in report.problems[0].message and bad in report.problems[0].path


def test_check_reports_every_problem_not_the_first(tmp_path):
    fake_cardiac.make_acdc(tmp_path)
    training = tmp_path / "database" / "training"
    (training / "patient001" / "Info.cfg").write_text("Group: NOR\n")
    (training / "patient002" / "patient002_frame01_gt.nii.gz").unlink()
    report = check("acdc", tmp_path, shape=SHAPE)
    text = messages(report.problems)
    assert "patient001/Info.cfg: expected a line 'ED: <1-based frame number>'" in text
    assert "patient002_frame01_gt.nii.gz: missing" in text
    assert report.samples == 2 and report.subjects == 1


def test_mnms_phase_index_out_of_range(tmp_path):
    fake_cardiac.make_mnms(tmp_path, frames=6)
    info = tmp_path / fake_cardiac.MNMS_CSV
    row = ",A0S9V9,Siemens,A,1,0,{},"
    info.write_text(info.read_text().replace(row.format(4), row.format(6)))
    report = check("mnms", tmp_path, shape=SHAPE)
    assert report.samples == 4 and report.usable
    assert f"{info}: ES index 6 (0-based) for A0S9V9 beyond its 6 frames" in messages(
        report.problems
    )


def test_ukbb_missing_and_truncated_samples(tmp_path):
    fake_cardiac.make_ukbb(tmp_path)
    (tmp_path / "samples" / "1000001_ED.npy").unlink()
    truncate(tmp_path / "samples" / "1000002_ES.npy", keep=0.3)
    report = check("ukbb", tmp_path, shape=SHAPE)
    text = messages(report.problems)
    assert "1000001_ED.npy: missing: sample file listed in validation.npy" in text
    assert "1000002_ES.npy: expected a .npy dict with 'image' and 'labels'" in text
    assert report.samples == 4


def test_nothing_usable_is_a_clear_error(tmp_path):
    (tmp_path / "link.csv").write_text("patient_id,original_id\nSCD1,SC-1\n")
    with pytest.raises(DatasetError, match=r"no usable sample of 'sunnybrook'.*bench data check"):
        load("sunnybrook", root=tmp_path, shape=SHAPE)
    report = check("sunnybrook", tmp_path)
    assert not report.usable and "missing: DICOM images" in messages(report.problems)
