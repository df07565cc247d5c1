"""Result records: one strict-JSON file per (task, method, epsilon, seed).

Records live at ``<out>/<task>@v<version>/<method>/eps=<e>/seed=<s>.json`` and are
written atomically, so a crash or kill never leaves a partial record; a present,
parseable record is a finished cell.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import platform
import subprocess
from pathlib import Path
from typing import Any

import bench
from bench.cache import write_json_atomic
from bench.config import config_to_dict
from bench.errors import RecordError
from bench.metrics import higher_is_better
from bench.privacy.budget import format_epsilon
from bench.tasks.base import Cell, CellContext, MethodSpec, Scored

SCHEMA_VERSION = 2  # 2: task-owned protocol, per-example outputs, ledger privacy
REQUIRED_KEYS = (
    "schema_version",
    "task",
    "task_version",
    "method",
    "seed",
    "epsilon",
    "profile",
    "dataset",
    "config",
    "config_hash",
    "privacy",
    "metrics",
    "higher_is_better",
    "risk",
    "outputs",
)
DIGEST_KEY = "digest"  # sha256 of the rest of the record (record_digest)


def task_dir(out: Path, task: str, version: int) -> Path:
    """The folder holding every record of one task version."""
    return out / f"{task}@v{version}"


def record_path(out: Path, version: int, cell: Cell) -> Path:
    """The deterministic path of a cell's record."""
    eps = format_epsilon(cell.epsilon)
    return task_dir(out, cell.task, version) / cell.method / f"eps={eps}" / f"seed={cell.seed}.json"


def config_hash(config_dict: dict[str, Any]) -> str:
    """A short hash identifying a method config (used to detect mixed configs in a run dir)."""
    text = json.dumps(config_dict, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cell_config(ctx: CellContext) -> dict[str, Any]:
    """What a cell's ``config_hash`` covers: the method's config and the task's protocol."""
    return {"method": config_to_dict(ctx.config), "protocol": config_to_dict(ctx.settings)}


def build_record(
    ctx: CellContext,
    dataset: dict[str, Any],
    scored: Scored,
    privacy: dict[str, Any],
    risk: dict[str, Any],
    method: MethodSpec,
) -> dict[str, Any]:
    """The full record of a finished cell (the runner adds ``wall_time_s``).

    ``scored`` comes from the task's scoring, ``privacy`` from the ledger, ``risk`` from
    the task's risk of the ledger's runs: nothing here was written by the method, whose
    code (``method``) is named in the record's ``code`` block.
    """
    settings = cell_config(ctx)
    config, protocol = settings["method"], settings["protocol"]
    return {
        "schema_version": SCHEMA_VERSION,
        "task": ctx.task.name,
        "task_version": ctx.task.version,
        "method": ctx.cell.method,
        "seed": ctx.cell.seed,
        "epsilon": format_epsilon(ctx.cell.epsilon),
        "profile": ctx.profile,
        "dataset": dataset,
        "config": config,
        "protocol": protocol,
        "config_hash": config_hash(settings),
        "code": {**code_version(), "method": method_code(method_package(method))},
        "environment": environment(ctx.device),
        "privacy": privacy,
        "metrics": scored.metrics,
        "higher_is_better": {name: higher_is_better(name) for name in scored.metrics},
        "risk": risk,
        "scoring": scored.details,
        "outputs": scored.outputs,
    }


def record_digest(record: dict[str, Any]) -> str:
    """SHA-256 of a record's canonical content (sorted keys, compact, strict JSON), the
    ``digest`` key itself left out: an edit after writing that does not redo it shows.

    >>> record_digest({"seed": 0, "digest": "x"}) == record_digest({"seed": 0})
    True
    """
    content = {key: value for key, value in record.items() if key != DIGEST_KEY}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def method_package(method: MethodSpec) -> str:
    """The top-level package of a method's code (``attacks``, or a plug-in's)."""
    run = method.run
    module = getattr(run, "target_module", None) or getattr(run, "__module__", "") or ""
    return module.partition(".")[0]


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write a record atomically (temp file + rename), strict JSON, with its digest."""
    write_json_atomic(path, {**record, DIGEST_KEY: record_digest(record)})


def load_record(path: Path) -> dict[str, Any]:
    """Read and minimally validate a record; a corrupt file raises :class:`RecordError`."""
    try:
        record = parse_strict_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"no record at {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RecordError(f"corrupt record {path}: {exc}") from None
    missing = (
        [key for key in REQUIRED_KEYS if key not in record]
        if isinstance(record, dict)
        else list(REQUIRED_KEYS)
    )
    if missing:
        raise RecordError(f"record {path} lacks {', '.join(missing)}")
    problem = metrics_problem(record["metrics"])
    if problem:
        raise RecordError(f"record {path}: {problem}")
    return record


def parse_strict_json(text: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity (records are strict JSON).

    >>> parse_strict_json('{"auroc": NaN}')
    Traceback (most recent call last):
    ...
    ValueError: NaN is not strict JSON (records hold finite numbers or null)
    """

    def refuse(constant: str):
        raise ValueError(f"{constant} is not strict JSON (records hold finite numbers or null)")

    return json.loads(text, parse_constant=refuse)


def metrics_problem(metrics: Any) -> str | None:
    """Why a record's ``metrics`` block is malformed, or ``None``.

    Each metric is a finite number, or null where the task leaves it undefined; a
    string, a boolean or a nested value is refused.
    """
    if not isinstance(metrics, dict):
        return f"metrics must be an object of name -> number, not {type(metrics).__name__}"
    for name, value in metrics.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"metric {name} is {value!r}, not a number"
        if not math.isfinite(value):
            return f"metric {name} is {value}, not a finite number"
    return None


def iter_records(root: Path) -> list[dict[str, Any]]:
    """All records below ``root`` (a run dir or one task folder), sorted by path."""
    return [load_record(path) for path in sorted(root.rglob("seed=*.json"))]


@functools.cache
def code_version() -> dict[str, Any]:
    """The package version and, when the code is a git checkout, its commit."""
    version: dict[str, Any] = {"package": "privmedbench", "version": bench.__version__}
    return {**version, **git_state(Path(bench.__file__).resolve().parent)}


@functools.cache
def method_code(package: str) -> dict[str, Any]:
    """Where a method's code comes from: its top-level package, the distribution that
    installed it (name, version) and, for a git checkout, the commit.

    A plug-in's record thereby names the code that made it, beside the suite's own.
    """
    from importlib import metadata, util

    names = metadata.packages_distributions().get(package) or [None]
    info: dict[str, Any] = {"package": package, "distribution": names[0], "version": None}
    if names[0] is not None:
        info["version"] = metadata.version(names[0])
    spec = util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        info.update(git_state(Path(next(iter(spec.submodule_search_locations))).resolve()))
    return info


def git_state(folder: Path) -> dict[str, Any]:
    """``git_commit`` and ``git_dirty`` of the checkout that tracks ``folder``.

    ``git_commit`` is None when no git checkout tracks it (an installed wheel; a package
    inside somebody else's repository that does not track it). The queries are read-only:
    ``--no-optional-locks`` keeps ``git status`` from taking ``.git/index.lock``, which
    would make the user's own git commands fail meanwhile.
    """

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
        )

    try:
        tracked = git("ls-files", "--error-unmatch", "__init__.py")
        commit = git("rev-parse", "HEAD")
        if tracked.returncode or commit.returncode:
            return {"git_commit": None}
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None}
    return {"git_commit": commit.stdout.strip(), "git_dirty": bool(dirty.stdout.strip())}


def environment(device: str) -> dict[str, Any]:
    """Versions of the numerical stack and the device a cell ran on."""
    import opacus
    import torch

    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "opacus": opacus.__version__,
        "device": device,
    }
    if device.partition(":")[0] == "cpu":
        # results depend on the thread count (reductions split differently): a record
        # states it, and a resumed grid must run with the same
        env["threads"] = torch.get_num_threads()
    if device.startswith("cuda"):
        env["device_name"] = torch.cuda.get_device_name(torch.device(device))
    return env
