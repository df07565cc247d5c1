"""A record is evidence, not a claim: the checks that bind it to its task's protocol.

What a board can verify offline, from the record alone (docs/leaderboards.md, "What is
and is not caught"):

- **content**: the record's digest (``bench.records.record_digest``) matches its
  content, and its ``config_hash`` matches its config and protocol;
- **protocol**: the record's ``protocol`` is the one the task version pins for the
  stated profile (a smoke run cannot pass as ``small``), and its built-in data the
  content the task version pins for that profile and seed (``bench.tasks.pinned_data``);
- **metrics**: recomputed from the per-example ``outputs`` by the task's own scoring
  (``recompute_metrics`` in ``bench/tasks/<task>/scoring.py``), which also refuses outputs
  that cannot be those of the record's cell (sizes, seeds, the release's schedule);
- **mechanism**: every statement of the DP mechanism in the record (config, risk block,
  the view the method saw) agrees with the privacy block, and the composed runs are the
  private-data steps that claim DP-SGD.

Example:
    >>> mismatches({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}})
    ['a.c 2 (pinned 3)']
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
from typing import Any

from bench.records import DIGEST_KEY, config_hash, record_digest
from bench.tasks.base import TaskSpec
from bench.tasks.pinned_data import pin_problems

# Per-example outputs are stored rounded (7-8 significant digits), so a mean recomputed
# from them moves in the 8th digit, and a correlation near 0 (cardiac-ldm's wall-thickness
# r) moves by up to ~1e-7 absolute; a tampered value moves far more, and no board shows
# a metric to 6 decimals.
RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_TOLERANCE = 1e-6
# Names under which the record restates the mechanism, and the privacy block's name.
MECHANISM_FIELDS = {
    "noise_multiplier": "noise_multiplier",
    "sigma": "noise_multiplier",
    "sample_rate": "sample_rate",
    "steps": "steps",
    "max_grad_norm": "max_grad_norm",
}
DP_PROTECTION = "dp-sgd"
_LISTED = 3


def record_problems(task: TaskSpec, record: dict[str, Any]) -> list[str]:
    """Every reason the record is not the evidence it claims to be (empty when none)."""
    return (
        content_problems(record)
        + protocol_problems(task, record)
        + pin_problems(task, record)
        + metric_problems(task, record)
        + mechanism_problems(record)
        + composition_problems(record)
    )


def content_problems(record: dict[str, Any]) -> list[str]:
    """The digest and the config hash match what the record holds.

    Records written before digests existed have none; one that has a digest must match.
    """
    problems = []
    if DIGEST_KEY in record and record[DIGEST_KEY] != record_digest(record):
        problems.append("content digest does not match the record (edited after it was written)")
    settings = {"method": record.get("config"), "protocol": record.get("protocol")}
    if record.get("config_hash") != config_hash(settings):
        problems.append(
            f"config_hash {record.get('config_hash')} is not the hash of its config and "
            f"protocol ({config_hash(settings)})"
        )
    return problems


def protocol_problems(task: TaskSpec, record: dict[str, Any]) -> list[str]:
    """The record's protocol settings are those the task version pins for its profile."""
    from bench.config import config_to_dict

    profile = record.get("profile")
    if profile not in task.settings:
        return [f"profile {profile!r} is not one of the task's ({', '.join(task.settings)})"]
    pinned = json.loads(json.dumps(config_to_dict(task.settings[profile])))
    found = mismatches(record.get("protocol"), pinned)
    if not found:
        return []
    more = f" and {len(found) - _LISTED} more" if len(found) > _LISTED else ""
    return [
        f"protocol disagrees with {task.name} v{task.version} at profile {profile!r}: "
        f"{', '.join(found[:_LISTED])}{more}"
    ]


def mismatches(found: Any, pinned: Any, prefix: str = "") -> list[str]:
    """Dotted names whose value in ``found`` differs from ``pinned``."""
    if isinstance(pinned, dict) and isinstance(found, dict):
        keys = sorted(set(found) | set(pinned))
        return [m for k in keys for m in mismatches(found.get(k), pinned.get(k), f"{prefix}{k}.")]
    name = prefix.rstrip(".") or "protocol"
    return [] if found == pinned else [f"{name} {found} (pinned {pinned})"]


def metric_problems(task: TaskSpec, record: dict[str, Any]) -> list[str]:
    """Every metric the task can recompute from the record's outputs equals the recorded."""
    recompute = recompute_function(task)
    if recompute is None:
        return []
    try:
        recomputed = _recomputed(recompute, _fingerprint(record), record)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        return [f"outputs are not those of this cell: {reason}"]
    problems = []
    for name, value in sorted(recomputed.items()):
        recorded = record["metrics"].get(name)
        if recorded is not None and not _close(recorded, value):
            problems.append(
                f"metric {name} {recorded:.6g} disagrees with {value:.6g} recomputed from "
                "its outputs"
            )
    return problems


def recompute_function(task: TaskSpec):
    """``recompute_metrics`` of the task's scoring module, or None for a task without one."""
    try:
        module = importlib.import_module(f"{task.package}.scoring")
    except ImportError:
        return None
    return getattr(module, "recompute_metrics", None)


def mechanism_problems(record: dict[str, Any]) -> list[str]:
    """The config, the risk block and the method's view state the privacy block's mechanism.

    The sample rate is compared always (the ledger records the planned q at eps = inf
    too), steps, sigma and clipping bound for records that took DP steps (a non-private
    run takes no accounted step and clips nothing; a method that trained on no private
    record has no mechanism).
    """
    privacy = record.get("privacy") or {}
    private = privacy.get("target_epsilon") is not None and bool(privacy.get("steps"))
    scoring = record.get("scoring") if isinstance(record.get("scoring"), dict) else {}
    sources = {"config": record.get("config"), "risk": record.get("risk")}
    sources["scoring.view"] = scoring.get("view")
    problems = []
    for where, block in sources.items():
        for name, field in MECHANISM_FIELDS.items():
            if not isinstance(block, dict) or name not in block or field not in privacy:
                continue
            if field != "sample_rate" and not private:
                continue
            if block[name] != privacy[field]:
                problems.append(
                    f"{where}.{name} {block[name]} disagrees with the privacy block's "
                    f"{field} {privacy[field]}"
                )
    return problems


def composition_problems(record: dict[str, Any]) -> list[str]:
    """The composed runs are exactly the private-data steps protected by DP-SGD.

    The ledger lists every run on private data among the private-data steps and, for
    more than one, in ``runs`` (its last run is the block's top-level mechanism): a run
    dropped from ``runs`` leaves a DP-SGD step whose epsilon is not composed.
    """
    privacy = record.get("privacy") or {}
    if privacy.get("target_epsilon") is None:
        return []
    steps = privacy.get("private_data_steps") or []
    dp = [
        str(s.get("name"))
        for s in steps
        if isinstance(s, dict) and str(s.get("protection", "")).lower().startswith(DP_PROTECTION)
    ]
    runs = privacy.get("runs") or []
    if not runs:
        count = 1 if privacy.get("steps") else 0
        if len(dp) != count:
            return [
                f"lists {len(dp)} DP-SGD private-data steps ({', '.join(dp) or 'none'}) but "
                f"accounts {count} run (privacy.runs must list every run that is composed)"
            ]
        return []
    names = sorted(str(run.get("name")) for run in runs if isinstance(run, dict))
    problems = []
    if names != sorted(dp):
        problems.append(
            f"composes runs ({', '.join(names)}) that are not its DP-SGD private-data steps "
            f"({', '.join(sorted(dp)) or 'none'})"
        )
    last = runs[-1] if isinstance(runs[-1], dict) else {}
    for field in ("noise_multiplier", "sample_rate", "steps"):
        if last.get(field) != privacy.get(field):
            problems.append(f"the last composed run's {field} is not the block's {field}")
    return problems


def submission_problems(records: list[dict[str, Any]]) -> list[str]:
    """Across the records of one submission: seeds differ in content, the no-private-data
    shortcut is the method's, and one dataset identity has one content hash."""
    return seed_problems(records) + no_private_data_problems(records) + dataset_problems(records)


def seed_problems(records: list[dict[str, Any]]) -> list[str]:
    """Two seeds of one epsilon with the same data and outputs are one run under two names.

    The data count: a seed may fix the targets (``recon-attack``), and a perfect attack
    at eps = inf gives the same per-trial outputs on any of them.
    """
    seen: dict[tuple[str, str], Any] = {}
    problems = []
    for record in records:
        key = (str(record.get("epsilon")), outputs_digest(record, with_data=True))
        if key in seen and seen[key] != record.get("seed"):
            problems.append(
                f"{_label(record)}: has the same data and outputs as seed={seen[key]} (seeds must "
                "differ in content, not only in name)"
            )
        seen.setdefault(key, record.get("seed"))
    return problems


def no_private_data_problems(records: list[dict[str, Any]]) -> list[str]:
    """A record may claim that it read no private data only where the method's ledger
    recorded no private access at any epsilon, and then its outputs cannot depend on the
    budget it did not spend: one seed gives the same outputs at every epsilon."""
    from bench.leaderboard.checks import private_accesses, reads_no_private_data

    claims = [r for r in records if reads_no_private_data(r.get("privacy") or {})]
    if not claims:
        return []
    trained = {
        _label(r): names for r in records if (names := private_accesses(r.get("privacy") or {}))
    }
    problems = []
    if trained:
        where, names = next(iter(trained.items()))
        problems += [
            f"{_label(r)}: claims it read no private data, but the method's ledger recorded "
            f"private access at {where} ({', '.join(names)})"
            for r in claims
        ]
    by_seed: dict[Any, str] = {}
    for record in claims:
        first = by_seed.setdefault(record.get("seed"), outputs_digest(record))
        if outputs_digest(record) != first:
            problems.append(
                f"{_label(record)}: claims it read no private data, yet its outputs differ "
                f"from those of seed={record.get('seed')} at another epsilon"
            )
    return problems


def dataset_problems(records: list[dict[str, Any]]) -> list[str]:
    """Records that name the same data (name, variant, seed, sizes) hold the same content."""
    hashes: dict[str, tuple[str, str]] = {}
    problems = []
    for record in records:
        dataset = record.get("dataset") if isinstance(record.get("dataset"), dict) else {}
        identity = {k: v for k, v in dataset.items() if k != "content_hash"}
        key = json.dumps([record.get("profile"), identity], sort_keys=True, default=str)
        content = json.dumps(dataset.get("content_hash"), sort_keys=True, default=str)
        first = hashes.setdefault(key, (content, _label(record)))
        if first[0] != content:
            problems.append(
                f"{_label(record)}: dataset content_hash {content} differs from {first[0]} "
                f"of {first[1]}, which names the same data"
            )
    return problems


def _label(record: dict[str, Any]) -> str:
    return f"{record.get('method')}/eps={record.get('epsilon')}/seed={record.get('seed')}"


def outputs_digest(record: dict[str, Any], *, with_data: bool = False) -> str:
    """SHA-256 of a record's per-example outputs (and its dataset block)."""
    content = [record.get("outputs"), record.get("dataset") if with_data else None]
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _fingerprint(record: dict[str, Any]) -> str:
    """What a recomputation reads: boards re-check the same records many times."""
    keys = ("seed", "config", "protocol", "dataset", "privacy", "risk", "outputs")
    text = json.dumps({k: record.get(k) for k in keys}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _recomputed(recompute, fingerprint: str, record: dict[str, Any]) -> dict[str, float]:
    cache = _CACHE.setdefault(recompute, {})
    if len(cache) > _CACHED:
        cache.clear()
    if fingerprint not in cache:
        cache[fingerprint] = dict(recompute(record))
    return cache[fingerprint]


_CACHE: dict[Any, dict[str, dict[str, float]]] = {}  # per process: a board is checked often
_CACHED = 4096


def _close(recorded: float, recomputed: float) -> bool:
    if not (math.isfinite(recorded) and math.isfinite(recomputed)):
        return recorded == recomputed
    allowed = ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * max(abs(recorded), abs(recomputed))
    return abs(recorded - recomputed) <= allowed
