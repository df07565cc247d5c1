"""Issue 14: every bad input is a named problem or one clear line, never a traceback, a
crash later in a task, or a quoted byte of the file; nothing outside --data-root is
opened unless asked; the array cache is verified against the cache index."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from fixtures import fake_cardiac, fake_mammo, fake_sunnybrook
from fixtures.fake_dicom import truncate

from bench.cli import main
from bench.datasets.cache import cache_dir
from bench.datasets.checking import check
from bench.datasets.loading import describe, load, read_items
from bench.datasets.real.base import CardiacSample, Index, Item, MammoSample
from bench.datasets.real.paths import FOLLOW_LINKS_ENV
from bench.errors import DatasetError

SHAPE = (13, 32, 32)
SECRET = "root:x:0:0:SECRET-CONTENT"


@pytest.fixture(autouse=True)
def _links_not_followed(monkeypatch):
    """A test's ``--follow-links`` must not leak into the next test (it sets the env)."""
    monkeypatch.delenv(FOLLOW_LINKS_ENV, raising=False)


def messages(problems) -> str:
    return "\n".join(str(p) for p in problems)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def tear_header(path):
    """Break the Python-literal header of a .npy file (numpy raises tokenize.TokenError)."""
    data = bytearray(path.read_bytes())
    data[data.index(b"}")] = ord(" ")
    data[10] = ord("(")
    path.write_bytes(bytes(data))


# --- 1. a torn .npy header --------------------------------------------------------------


def test_a_torn_listing_header_is_a_named_problem(capsys, tmp_path):
    fake_cardiac.make_ukbb(tmp_path)
    tear_header(tmp_path / "training.npy")
    code, out, err = run_cli(capsys, "data", "check", "--dataset", "ukbb", "--data-root", tmp_path)
    assert code == 1 and err == ""
    assert f"{tmp_path / 'training.npy'}: expected a .npy array of sample file paths" in out
    assert "header is torn" in out
    for name in ("validation", "testing"):
        tear_header(tmp_path / f"{name}.npy")
    code, out, _ = run_cli(capsys, "data", "check", "--dataset", "ukbb", "--data-root", tmp_path)
    assert code == 2 and out.count("header is torn") == 3
    with pytest.raises(DatasetError, match=r"no usable sample of 'ukbb'.*header is torn"):
        load("ukbb", root=tmp_path, shape=SHAPE, use_cache=False)
    code, _, err = run_cli(
        capsys, "run", "--task", "recon-attack", "--profile", "smoke", "--data", "ukbb",
        "--methods", "prior-free", "--eps", "10", "--data-root", tmp_path,
        "--out", tmp_path / "runs",
    )  # fmt: skip
    (line,) = [x for x in err.splitlines() if x.startswith("bench: cell")]  # tqdm aside
    assert code == 1 and "Traceback" not in err and "TokenError" not in err  # a failed cell
    assert "failed: DatasetError: no usable sample of 'ukbb'" in line and "header is torn" in line


def test_an_empty_listing_is_fine_and_a_listing_of_numbers_is_not(tmp_path):
    fake_cardiac.make_ukbb(tmp_path, n=1)  # validation.npy and testing.npy list nothing
    assert check("ukbb", tmp_path, shape=SHAPE).problems == []
    np.save(tmp_path / "testing.npy", np.arange(3.0))
    (problem,) = check("ukbb", tmp_path, shape=SHAPE).problems
    assert problem.message == "expected sample file paths, got dtype float64"


def test_a_torn_sample_header_skips_that_sample(tmp_path):
    fake_cardiac.make_ukbb(tmp_path)
    sample = tmp_path / "samples" / "1000001_ED.npy"
    tear_header(sample)
    data = load("ukbb", root=tmp_path, shape=SHAPE, use_cache=False)
    assert len(data) == 5 and f"{sample}: expected a .npy dict" in messages(
        data.provenance.problems
    )


# --- 2. every sample is checked -----------------------------------------------------------


def _bad_ukbb(root):
    """Five bad samples of six: NaN/inf, wrong shape, complex, out-of-range, zero-size."""
    fake_cardiac.make_ukbb(root)
    samples = root / "samples"
    good = np.load(samples / "1000000_ED.npy", allow_pickle=True).item()
    nan = {"image": np.full((13, 96, 96), np.nan, np.float32), "labels": np.full(14, np.inf)}
    labels = good["labels"].copy()
    labels[11], labels[9] = 2, 5  # ESED 2, SEX 5
    bad = {
        "1000000_ED": nan,
        "1000000_ES": {"image": np.zeros((13, 96, 50), np.float32), "labels": good["labels"]},
        "1000001_ED": {"image": good["image"].astype(np.complex64), "labels": good["labels"]},
        "1000001_ES": {"image": good["image"], "labels": labels},
        "1000002_ED": {"image": np.zeros((13, 0, 0), np.float32), "labels": good["labels"]},
    }
    for name, payload in bad.items():
        np.save(samples / f"{name}.npy", payload, allow_pickle=True)
    return {name: samples / f"{name}.npy" for name in bad}


def test_check_names_every_bad_sample_and_what_was_expected(tmp_path):
    bad = _bad_ukbb(tmp_path)
    report = check("ukbb", tmp_path, shape=SHAPE)
    assert report.samples == 1 and len(report.problems) == 5
    by_file = {p.path: p.message for p in report.problems}
    assert "NaN or infinite" in by_file[str(bad["1000000_ED"])]
    assert "LVEDV" in by_file[str(bad["1000000_ED"])]  # the inf labels too, same line
    assert "got image (13, 96, 50)" in by_file[str(bad["1000000_ES"])]
    assert "got dtype complex64" in by_file[str(bad["1000001_ED"])]
    assert "labels out of range: ESED, SEX" in by_file[str(bad["1000001_ES"])]
    assert "got image (13, 0, 0)" in by_file[str(bad["1000002_ED"])]


def test_a_run_skips_bad_samples_and_states_the_count(tmp_path, caplog):
    _bad_ukbb(tmp_path)
    with caplog.at_level(logging.WARNING, logger="bench.datasets"):
        data = load("ukbb", root=tmp_path, shape=SHAPE, use_cache=False)
    assert len(data) == 1 and np.isfinite(data.images).all()
    assert "ukbb: 5 of 6 item(s) skipped, 1 sample(s) loaded" in caplog.text


def test_a_run_on_only_bad_samples_is_refused_naming_one(tmp_path):
    fake_cardiac.make_ukbb(tmp_path, n=1)
    for path in (tmp_path / "samples").glob("*.npy"):
        nan = {"image": np.full((13, 96, 96), np.nan, np.float32), "labels": np.full(14, np.inf)}
        np.save(path, nan, allow_pickle=True)
    with pytest.raises(DatasetError, match=r"no usable sample.*1000000_E[DS]\.npy: image: .* NaN"):
        load("ukbb", root=tmp_path, shape=SHAPE, use_cache=False)


def test_a_nan_voxel_in_a_float_nifti_is_named(tmp_path):
    import nibabel

    fake_cardiac.make_mnms(tmp_path)
    cine = tmp_path / "Training" / "Labeled" / "A0S9V9" / "A0S9V9_sa.nii.gz"
    volume = np.asarray(nibabel.load(cine).dataobj).astype(np.float32)
    volume[0, 0, 0, 0] = np.nan
    fake_cardiac._nifti(cine, volume, (1.0, 1.0, 1.0))
    data = load("mnms", root=tmp_path, shape=SHAPE, use_cache=False)
    assert "A0S9V9" not in data.subjects and np.isfinite(data.images).all()
    assert f"{cine}: 1 of {volume.size} value(s) are NaN" in messages(data.provenance.problems)


class _OddLoader:
    """A plug-in loader whose reader returns what it should not."""

    modality = "cardiac"
    preprocessing = "odd-1"

    def read(self, item, shape, problems, deep=False):
        image = np.full(shape, np.nan, np.float32) if item.key == "nan" else np.zeros(shape)
        mask = np.full(shape, 9, np.uint8) if item.key == "mask" else np.zeros(shape, np.uint8)
        attributes = np.zeros(14, np.float32)
        attributes[11] = 1.0
        image = image[:, :4] if item.key == "shape" else image
        return [CardiacSample(image, mask, attributes, 10.0, item.key, True)]


def test_every_loader_sample_is_screened(tmp_path):
    items = [Item(k, k, (tmp_path / f"{k}.bin",)) for k in ("nan", "mask", "shape", "ok")]
    samples, problems = read_items(_OddLoader(), Index(items=items), (4, 8, 8), deep=False)
    assert [s.subject for s in samples] == ["ok"]
    text = messages(problems)
    assert "sample 0 of nan: image: 256 NaN or infinite value(s) (nan skipped)" in text
    assert "sample 0 of mask: mask: label classes other than 0-3" in text
    assert "sample 0 of shape: image of shape (4, 4, 8), expected (4, 8, 8)" in text


def test_a_mammo_label_outside_zero_one_is_screened():
    from bench.datasets.real.screen import sample_problems

    sample = MammoSample(np.zeros((8, 8), np.float32), 3, "p")
    assert sample_problems(sample, "mammo", (8, 8)) == [
        "label 3: expected 0 (benign) or 1 (malignant)"
    ]


# --- 3. every bad file of one subject -----------------------------------------------------


def test_six_bad_contour_files_are_all_listed(tmp_path):
    root = fake_sunnybrook.make_sunnybrook(tmp_path)
    folder = root / "contourfiles" / "SC-HF-I-1" / "i-contours"
    bad = sorted(folder.glob("*.txt"))[:6]
    for k, path in enumerate(bad):
        path.write_text(f"{SECRET} y\n" if k % 2 else "1 2\n")
    report = check("sunnybrook", root, shape=SHAPE)
    text = messages(report.problems)
    assert all(f"{path}: expected" in text for path in bad) and len(report.problems) == 6
    assert text.count("(SCD0000101 skipped)") == 6 and SECRET not in text
    data = load("sunnybrook", root=root, shape=SHAPE, use_cache=False)
    assert data.subjects == ("SCD0000201",) * 2 and len(data.provenance.problems) == 6


def test_every_bad_frame_file_of_an_acdc_subject_is_listed(tmp_path):
    fake_cardiac.make_acdc(tmp_path)
    folder = tmp_path / "database" / "training" / "patient001"
    bad = [
        truncate(folder / "patient001_frame01.nii.gz"),
        truncate(folder / "patient001_frame07_gt.nii.gz"),
    ]
    text = messages(check("acdc", tmp_path, shape=SHAPE).problems)
    assert all(f"{path}: unreadable NIfTI" in text for path in bad)


# --- 4. nothing outside --data-root is opened unless asked --------------------------------


def test_a_linked_patient_folder_outside_the_root_is_refused_unless_asked(capsys, tmp_path):
    root = tmp_path / "acdc"
    fake_cardiac.make_acdc(root)
    before = load("acdc", root=root, shape=SHAPE, use_cache=False)
    patient = root / "database" / "training" / "patient002"
    shutil.move(patient, tmp_path / "elsewhere")
    patient.symlink_to(tmp_path / "elsewhere")
    data = load("acdc", root=root, shape=SHAPE, use_cache=False)
    assert "patient002" not in data.subjects
    problem = messages(data.provenance.problems)
    assert f"{patient / 'Info.cfg'}: " in problem and "outside --data-root" in problem
    assert "--follow-links" in problem
    followed = load("acdc", root=root, shape=SHAPE, use_cache=False, follow_links=True)
    np.testing.assert_array_equal(followed.images, before.images)
    assert followed.provenance.problems == ()
    code, out, _ = run_cli(capsys, "data", "check", "--dataset", "acdc", "--data-root", root)
    assert code == 1 and "outside --data-root" in out
    code, out, _ = run_cli(
        capsys, "data", "check", "--dataset", "acdc", "--data-root", root, "--follow-links"
    )
    assert code == 0 and "problems: 0" in out


def test_links_inside_the_root_are_fine(tmp_path):
    root = tmp_path / "acdc"
    fake_cardiac.make_acdc(root)
    training = root / "database" / "training"
    shutil.move(training / "patient002", root / "store")
    (training / "patient002").symlink_to(root / "store")
    data = load("acdc", root=root, shape=SHAPE, use_cache=False)
    assert "patient002" in data.subjects and data.provenance.problems == ()


def test_a_png_linked_outside_the_root_is_refused(tmp_path):
    root = tmp_path / "png"
    paths = fake_mammo.make_png(root)
    target = tmp_path / paths[0].name
    shutil.move(paths[0], target)
    paths[0].symlink_to(target)
    data = load("mammo-png", root=root, shape=16, use_cache=False)
    assert len(data) == 7
    (problem,) = data.provenance.problems
    assert problem.path == str(paths[0]) and f"resolves to {target}, outside" in problem.message
    assert len(load("mammo-png", root=root, shape=16, use_cache=False, follow_links=True)) == 8


def test_ukbb_listed_paths_that_leave_the_root_are_never_opened(tmp_path, monkeypatch):
    root = tmp_path / "ukbb"
    fake_cardiac.make_ukbb(root)
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    shutil.copy(root / "samples" / "1000000_ED.npy", tmp_path / "1000009_ED.npy")
    listed = ["/etc/passwd", str(tmp_path / "secret.txt"), "../1000009_ED.npy"]
    np.save(root / "testing.npy", np.array([*listed, "samples/1000002_ED.npy"]))
    opened = []
    real_open = open
    monkeypatch.setattr(
        "builtins.open", lambda f, *a, **k: opened.append(str(f)) or real_open(f, *a, **k)
    )
    report = check("ukbb", root, shape=SHAPE)
    text = messages(report.problems)
    assert all(
        f"{entry}: sample file listed in testing.npy resolves to" in text for entry in listed
    )
    assert SECRET not in text and "root:" not in text and report.samples == 5
    assert not any("passwd" in f or "secret" in f or "1000009" in f for f in opened)
    hashed = describe("ukbb", root)["root_content_hash"]
    assert hashed == check("ukbb", root, shape=SHAPE).content_hash


def test_csv_paths_that_leave_the_root_are_refused(tmp_path):
    sb = fake_sunnybrook.make_sunnybrook(tmp_path / "sb")
    shutil.move(sb / "dicoms" / "SCD0000201", tmp_path / "SCD0000201")
    link = "patient_id,original_id\nSCD0000101,SC-HF-I-1\n../../SCD0000201,SC-HF-I-2\n"
    (sb / "link.csv").write_text(link)
    data = load("sunnybrook", root=sb, shape=SHAPE, use_cache=False)
    assert data.subjects == ("SCD0000101",) * 2
    assert "outside --data-root" in messages(data.provenance.problems)
    cbis = tmp_path / "cbis"
    fake_mammo.make_cbis(cbis)
    (tmp_path / "secret.dcm").write_text(SECRET)
    csv = cbis / "mass_case_description_test_set.csv"
    lines = csv.read_text().splitlines()
    row = lines[1].split(",")
    row[11] = "../secret.dcm"
    csv.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    report = check("cbis-ddsm", cbis, shape=32)
    assert report.samples == 5 and "secret.dcm, outside --data-root" in messages(report.problems)


def test_bench_run_follow_links_reaches_the_loaders(capsys, tmp_path, monkeypatch):
    """``bench run --follow-links`` makes following the loaders' default (the task itself
    is stubbed: what a run loads is what ``load`` returns, tested above)."""
    import types

    import bench.api

    root = tmp_path / "png"
    paths = fake_mammo.make_png(root)
    shutil.move(paths[0], tmp_path / paths[0].name)
    paths[0].symlink_to(tmp_path / paths[0].name)
    loaded = []

    def fake_run(request, launcher):
        loaded.append(len(load(request.dataset, root=request.data_root, shape=16)))
        return types.SimpleNamespace(table="", failed=[], summary_dir=tmp_path)

    monkeypatch.setattr(bench.api, "run", fake_run)
    argv = ["run", "--task", "recon-attack", "--profile", "smoke", "--data", "mammo-png",
            "--data-root", root, "--out", tmp_path / "runs"]  # fmt: skip
    assert run_cli(capsys, *argv)[0] == 0
    assert run_cli(capsys, *argv, "--follow-links")[0] == 0
    assert run_cli(capsys, *argv)[0] == 0  # the flag does not stick to the next run
    assert loaded == [7, 8, 7]


# --- messages never quote a file ---------------------------------------------------------


def _secret_everywhere(root):
    """Files of every kind whose content is SECRET, where each loader expects its format."""
    fake_cardiac.make_ukbb(root / "ukbb")
    (root / "ukbb" / "samples" / "1000000_ED.npy").write_text(SECRET)
    (root / "ukbb" / "validation.npy").write_text(SECRET)
    fake_cardiac.make_acdc(root / "acdc")
    training = root / "acdc" / "database" / "training"
    (training / "patient001" / "Info.cfg").write_text(SECRET)
    (training / "patient002" / "patient002_frame01.nii.gz").write_text(SECRET)
    fake_cardiac.make_mnms(root / "mnms")
    (root / "mnms" / fake_cardiac.MNMS_CSV).write_text(
        "External code,ED,ES\nA0S9V9,root:x,SECRET-CONTENT\n"
    )
    sb = fake_sunnybrook.make_sunnybrook(root / "sunnybrook")
    next((sb / "dicoms" / "SCD0000101").glob("*.dcm")).write_text(SECRET)
    (sb / "link.csv").write_text(f"{SECRET}\n")
    fake_mammo.make_cbis(root / "cbis-ddsm")
    csv = root / "cbis-ddsm" / "mass_case_description_train_set.csv"
    csv.write_text(csv.read_text().replace("BENIGN_WITHOUT_CALLBACK", SECRET.replace(":", ""), 1))
    paths = fake_mammo.make_png(root / "mammo-png")
    paths[0].write_text(SECRET)
    fake_mammo.make_vindr(root / "vindr-mammo")
    (root / "vindr-mammo" / "images" / "s1" / "i1.dicom").write_text(SECRET)


@pytest.mark.parametrize(
    "name", ["ukbb", "acdc", "mnms", "sunnybrook", "cbis-ddsm", "mammo-png", "vindr-mammo"]
)
def test_no_message_quotes_the_file(capsys, tmp_path, name):
    _secret_everywhere(tmp_path)
    code, out, err = run_cli(
        capsys, "data", "check", "--dataset", name, "--data-root", tmp_path / name, "--json"
    )
    assert code in (1, 2) and '"problems": [' in out
    for word in ("SECRET", "root:x", "rootx00"):
        assert word not in out and word not in err


# --- 5. the array cache is verified against the cache index -------------------------------


def _entry(name):
    (entry,) = cache_dir("datasets", name).glob("*.npz")
    return entry


@pytest.mark.parametrize("damage", ["zeroed-images", "flipped-labels", "truncated", "unrecorded"])
def test_a_damaged_cache_entry_is_rebuilt_once(tmp_path, monkeypatch, caplog, damage):
    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path / "cache"))
    fake_mammo.make_png(tmp_path / "png")
    fresh = load("mammo-png", root=tmp_path / "png", shape=16)
    entry = _entry("mammo-png")
    if damage == "truncated":
        truncate(entry)
    elif damage == "unrecorded":  # written by an older version: no index record
        for record in (tmp_path / "cache" / "index").rglob("*.sha256"):
            record.unlink()
    else:
        with np.load(entry) as stored:
            arrays = dict(stored)
        if damage == "zeroed-images":
            arrays["images"] = np.zeros_like(arrays["images"])
        else:
            arrays["labels"] = 1 - arrays["labels"]
        np.savez(entry, **arrays)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        rebuilt = load("mammo-png", root=tmp_path / "png", shape=16)
    assert not rebuilt.provenance.from_cache
    assert rebuilt.provenance.root_hash == fresh.provenance.root_hash
    np.testing.assert_array_equal(rebuilt.images, fresh.images)
    np.testing.assert_array_equal(rebuilt.labels, fresh.labels)
    warnings = [r for r in caplog.records if "cached dataset" in r.getMessage()]
    assert len(warnings) == 1 and "rebuilding it" in warnings[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = load("mammo-png", root=tmp_path / "png", shape=16)
    assert again.provenance.from_cache and "cached dataset" not in caplog.text
    np.testing.assert_array_equal(again.images, fresh.images)


# --- other inputs from principles ---------------------------------------------------------


def test_empty_split_folders_say_what_was_expected(capsys, tmp_path):
    (tmp_path / "database" / "training").mkdir(parents=True)
    code, out, _ = run_cli(capsys, "data", "check", "--dataset", "acdc", "--data-root", tmp_path)
    assert code == 2 and "no items found; expected ROOT[/database]/{training,testing}" in out
    with pytest.raises(DatasetError, match="no items found"):
        load("acdc", root=tmp_path, shape=SHAPE)


def test_an_unreadable_dicom_is_named(tmp_path):
    root = fake_sunnybrook.make_sunnybrook(tmp_path)
    odd = root / "dicoms" / "SCD0000101" / "999.dcm"
    odd.mkdir()  # not a file: unreadable whoever runs the check (root reads any mode)
    report = check("sunnybrook", root, shape=SHAPE)
    assert f"{odd}: unreadable DICOM (IsADirectoryError" in messages(report.problems)
    assert report.samples == 4


def test_duplicate_ids_are_kept_once(tmp_path):
    root = fake_sunnybrook.make_sunnybrook(tmp_path / "sb")
    rows = "SCD0000101,SC-HF-I-1\nSCD0000201,SC-HF-I-2\nSCD0000101,SC-HF-I-1\n"
    (root / "link.csv").write_text("patient_id,original_id\n" + rows)
    data = load("sunnybrook", root=root, shape=SHAPE, use_cache=False)
    assert data.subjects.count("SCD0000101") == 2  # ED and ES once
    assert "SCD0000101: listed again" in messages(data.provenance.problems)
    fake_cardiac.make_ukbb(tmp_path / "ukbb")
    np.save(tmp_path / "ukbb" / "testing.npy", np.load(tmp_path / "ukbb" / "validation.npy"))
    report = check("ukbb", tmp_path / "ukbb", shape=SHAPE)
    assert report.samples == 4 and messages(report.problems).count("listed again") == 2


def test_a_non_utf8_csv_names_its_line(tmp_path):
    root = fake_sunnybrook.make_sunnybrook(tmp_path)
    text = (
        "patient_id,original_id,note\nSCD0000101,SC-HF-I-1,ok\nSCD0000201,SC-HF-I-2,r\xe9sum\xe9\n"
    )
    (root / "link.csv").write_bytes(text.encode("latin-1"))
    report = check("sunnybrook", root, shape=SHAPE)
    assert not report.usable
    assert messages(report.problems) == (
        f"{root / 'link.csv'}: expected a UTF-8 CSV file (line 3 is not UTF-8 text)"
    )


def test_a_csv_with_another_header_does_not_echo_it(tmp_path):
    fake_mammo.make_vindr(tmp_path)
    (tmp_path / "finding_annotations.csv").write_text(SECRET + "\n")
    (problem,) = check("vindr-mammo", tmp_path).problems
    assert "expected columns ['study_id'" in problem.message and SECRET not in problem.message
