"""Same seed, same device, same code: the same record, whatever the state of the caches.

Each task's cell runs in fresh processes: cold (an empty cache), warm (every public part
cached), partly warm (one stage's entries removed, so it retrains while the others load),
and cold again in another cache folder. The records must be identical except for
timings. At the smoke profile the public parts (autoencoder, pre-training, evaluators,
SimCLR backbone, GAN) really train, only for fewer epochs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.records import without_timings

CELLS = {
    # task: (method, the cache folder of one stage to drop for the partly warm run)
    "cardiac-ldm": ("dp-ldm", "cardiac-ldm/pretrained"),
    "mammo-cls": ("dp-vit-real+syn", "mammo-cls/cgan-generator"),
    "recon-attack": ("prior-free-dpsgd", "calibration"),
}
# timings, and the digest over the record (timings included)


def _run(task: str, method: str, cache: Path, out: Path) -> dict:
    cmd = [
        sys.executable, "-m", "bench", "run", "--task", task, "--profile", "smoke",
        "--methods", method, "--eps", "10", "--seeds", "0", "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PRIVMEDBENCH_CACHE": str(cache)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = out.rglob("seed=*.json")
    return without_timings(json.loads(path.read_text()))


@pytest.mark.integration
@pytest.mark.slow  # ~1-2 min per task on 2 cores: four fresh processes (opt-in)
@pytest.mark.parametrize("task", sorted(CELLS))
def test_cold_warm_and_partly_warm_caches_give_the_same_record(tmp_path, task):
    method, stage = CELLS[task]
    cache = tmp_path / "cache"
    cold = _run(task, method, cache, tmp_path / "cold")
    warm = _run(task, method, cache, tmp_path / "warm")
    assert (cache / stage).is_dir(), f"{stage} was not cached: pick another stage"
    shutil.rmtree(cache / stage)
    partly = _run(task, method, cache, tmp_path / "partly")
    other = _run(task, method, tmp_path / "other-cache", tmp_path / "other")
    for name, record in (("warm", warm), ("partly warm", partly), ("another cold", other)):
        differ = sorted(k for k in cold if cold[k] != record.get(k))
        assert not differ, f"{name} differs from cold in {differ}"
