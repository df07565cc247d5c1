"""The grid runner: resolve cells, skip finished ones, run the rest, write records.

Each step is a small named function; :func:`run_grid` only composes them. A failing
cell writes nothing under its final name, is reported, and the other cells go on.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import apply_overrides, override_keys
from bench.datasets import DATASETS, accepts, require_root
from bench.errors import BenchError, DatasetError, RecordError
from bench.locks import BuildBusy
from bench.notices import handled_warnings
from bench.privacy.budget import PrivacyBudget
from bench.records import (
    build_record,
    cell_config,
    config_hash,
    load_record,
    record_path,
    write_record,
)
from bench.registry import unknown_name_message
from bench.tasks import get_method, get_task
from bench.tasks.base import Cell, CellContext, Prepared, TaskSpec
from bench.threads import cpu_threads

log = logging.getLogger("bench")


@dataclass(frozen=True)
class RunRequest:
    """A validated request to run a grid (what ``bench run`` parses its flags into)."""

    task: str
    epsilons: tuple[float, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    profile: str
    dataset: str
    out: Path
    data_root: Path | None = None
    public_dataset: str | None = None
    public_data_root: Path | None = None
    external_dataset: str | None = None
    external_data_root: Path | None = None
    device: str = "cpu"
    accountant: str = "prv"
    overwrite: bool = False
    overrides: dict[str, str] = field(default_factory=dict)
    threads: int = 1
    delta: float | None = None  # None: the task's delta
    secure_rng: bool = False


@dataclass(frozen=True)
class CellStatus:
    """The outcome of one cell: ``done``, ``skipped`` (already finished), ``failed``, or
    ``deferred`` (a ``--jobs`` worker met a public part another cell is building; ``error``
    holds its lock's path; nothing was written)."""

    cell: Cell
    state: str
    path: Path
    error: str | None = None


def expand_cells(request: RunRequest) -> list[Cell]:
    """The grid in a stable order: method, then epsilon, then seed."""
    return [
        Cell(request.task, method, eps, seed)
        for method in request.methods
        for eps in request.epsilons
        for seed in request.seeds
    ]


def make_context(request: RunRequest, cell: Cell, progress=None) -> CellContext:
    """The context of one cell: its config and protocol settings for the profile, with the
    user's overrides."""
    task = get_task(request.task)
    path = record_path(request.out, task.version, cell)
    kwargs = {"progress": progress} if progress is not None else {}
    return CellContext(
        cell=cell,
        task=task,
        profile=request.profile,
        config=method_config(request, cell.method),
        settings=protocol_settings(request),
        budget=PrivacyBudget(cell.epsilon, cell_delta(request, task), request.accountant),
        device=request.device,
        artifacts_dir=path.with_suffix(""),
        dataset=request.dataset,
        data_root=request.data_root,
        public_dataset=request.public_dataset,
        public_data_root=request.public_data_root,
        external_dataset=request.external_dataset,
        external_data_root=request.external_data_root,
        **kwargs,
    )


def cell_delta(request: RunRequest, task: TaskSpec) -> float:
    """The delta of every cell: ``--delta`` when given, else the task's."""
    return task.delta if request.delta is None else request.delta


def is_finished(request: RunRequest, cell: Cell) -> bool:
    """True when the cell's record exists and was made with the same settings.

    The match covers everything that changes a result: profile, method config and
    protocol (the config hash), data identity (name and content hash, external site
    too), accountant, delta and noise RNG (seeded or secure), device type and thread
    count. A record made otherwise under the same path raises instead of being silently
    reused or overwritten: results of different settings are never mixed.
    """
    ctx = make_context(request, cell)
    path = record_path(request.out, ctx.task.version, cell)
    if request.overwrite or not path.exists():
        return False
    record = load_record(path)
    mine, theirs = _identity(request, ctx), _record_identity(record)
    differ = [f"{name} {theirs[name]!r} (now {value!r})" for name, value in mine.items()
              if theirs.get(name) != value]  # fmt: skip
    if differ:
        raise RecordError(
            f"{path} was made with {', '.join(differ)}; use --overwrite or another --out"
        )
    return True


def _identity(request: RunRequest, ctx: CellContext) -> dict:
    """What a finished cell's record must agree on with this request."""
    data = _data_identity(request.dataset, request.data_root)
    external = (
        _data_identity(request.external_dataset, request.external_data_root)
        if request.external_dataset
        else (None, None)
    )
    return {
        "profile": request.profile,
        "config_hash": config_hash(cell_config(ctx)),
        "dataset": data[0],
        "data hash": data[1],
        "external site": external[0],
        "external data hash": external[1],
        "accountant": ctx.budget.accountant,
        "delta": ctx.budget.delta,
        "rng": "secure" if request.secure_rng else "seeded",
        "device type": device_type(ctx.device),
        "threads": cell_threads(request, ctx.device),
    }


def _record_identity(record: dict) -> dict:
    site = record["dataset"].get("external_site") or {}
    environment = record.get("environment") or {}
    return {
        "profile": record["profile"],
        "config_hash": record["config_hash"],
        "dataset": record["dataset"].get("name"),
        "data hash": record["dataset"].get("root_content_hash"),
        "external site": site.get("name"),
        "external data hash": site.get("root_content_hash"),
        "accountant": record["privacy"].get("accountant"),
        "delta": record["privacy"].get("delta"),
        "rng": record["privacy"].get("rng", "seeded"),  # records before --secure-rng
        "device type": device_type(environment.get("device") or "cpu"),
        "threads": environment.get("threads"),
    }


def device_type(device: str) -> str:
    """``cpu`` or ``cuda`` (the index of a GPU does not change a result)."""
    return device.partition(":")[0]


def cell_threads(request: RunRequest, device: str) -> int | None:
    """The torch thread count a CPU cell runs with (``None`` on a GPU: not a CPU knob)."""
    if device_type(device) != "cpu":
        return None
    import torch

    with cpu_threads(request.threads):
        return torch.get_num_threads()


def cell_thread_limit(request: RunRequest, device: str):
    """The block a cell trains in: ``request.threads`` torch and BLAS threads on the CPU
    (the public parts' cache keys hold the count), the library defaults on a GPU."""
    return cpu_threads(request.threads if device_type(device) == "cpu" else 0)


@functools.cache
def _data_identity(dataset: str, root: Path | None) -> tuple[str, str | None]:
    """Name and root content hash of the data (hashed once per run, not per cell).

    Two copies of a dataset at different roots, or one edited in place, must not share
    records.
    """
    from bench.datasets.loading import describe

    return dataset, describe(dataset, root).get("root_content_hash")


def run_cell(request: RunRequest, cell: Cell, progress=None) -> CellStatus:
    """Run one cell and write its record; any exception becomes a ``failed`` status."""
    ctx = make_context(request, cell, progress)
    path = record_path(request.out, ctx.task.version, cell)
    start = time.perf_counter()
    try:
        with cell_thread_limit(request, ctx.device):
            record = execute_cell(request, ctx)
        record["wall_time_s"] = round(time.perf_counter() - start, 3)
        write_record(path, record)
    except BuildBusy as busy:  # a --jobs worker defers it: the launcher runs it later
        return CellStatus(cell, "deferred", path, busy.path)
    except Exception as exc:  # isolate the cell: report and let the grid go on
        log.debug("cell %s failed:\n%s", cell.label, traceback.format_exc())
        return CellStatus(cell, "failed", path, f"{type(exc).__name__}: {exc}")
    return CellStatus(cell, "done", path)


def execute_cell(request: RunRequest, ctx: CellContext) -> dict:
    """The protocol of one cell: the task prepares, the method trains and returns an
    artifact, the task scores it, the ledger states the privacy, the task the risk."""
    from bench.privacy.ledger import PrivacyLedger

    method = get_method(request.task, ctx.cell.method)
    protocol = ctx.task.load_protocol()
    ledger = PrivacyLedger(
        ctx.budget,
        unit=ctx.task.privacy_unit,
        records_per_subject=ctx.task.records_per_subject,
        secure_rng=request.secure_rng,
        delta_source="the task's delta"  # also when --delta repeats it: the same record
        if request.delta in (None, ctx.task.delta)
        else f"delta {request.delta:g} (--delta)",
    )
    _seed_everything(ctx.derive_seed("global", ctx.cell.method, ctx.cell.epsilon))
    with handled_warnings():  # opacus's and torch's per-cell warnings, explained once
        prepared = with_declared_data(request, protocol.prepare(ctx, ledger))
        artifact = method.run(ctx.for_method(), prepared.view, ledger)
        scored = protocol.score(ctx, prepared, artifact, ledger)
        privacy = ledger.privacy_block()
        risk = protocol.risk(ctx, ledger)
    return build_record(ctx, prepared.dataset, scored, privacy, risk, method)


def with_declared_data(request: RunRequest, prepared: Prepared) -> Prepared:
    """The prepared cell with the declared public dataset and external site named (and
    hashed) in its dataset block."""
    from bench.datasets.loading import describe

    dataset = dict(prepared.dataset)
    if request.public_dataset is not None:
        public = describe(request.public_dataset, request.public_data_root)
        dataset["public"] = {**public, "role": "public"}
    if request.external_dataset is not None:
        site = describe(request.external_dataset, request.external_data_root)
        dataset["external_site"] = {**site, "role": "external test site"}
    return dataclasses.replace(prepared, dataset=dataset)


PROTOCOL_PREFIX = "protocol."  # --set protocol.KEY=VALUE changes a task protocol setting


def method_config(request: RunRequest, method: str):
    """The method's config for the profile, with the overrides that name its fields.

    An override applies to every selected method that has the field, so that
    ``--set lr=1e-4`` changes every selected method that has a learning rate.
    """
    config = get_method(request.task, method).configs[request.profile]
    keys = set(override_keys(config))
    return apply_overrides(config, {k: v for k, v in request.overrides.items() if k in keys})


def protocol_settings(request: RunRequest):
    """The task's protocol settings for the profile, with ``protocol.`` overrides.

    A changed protocol is recorded (and hashed into the config hash), so such a run never
    passes for the profile's standard protocol.
    """
    settings = get_task(request.task).settings[request.profile]
    n = len(PROTOCOL_PREFIX)
    changes = {k[n:]: v for k, v in request.overrides.items() if k.startswith(PROTOCOL_PREFIX)}
    return apply_overrides(settings, changes) if changes else settings


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def validate_request(request: RunRequest) -> TaskSpec:
    """Check every name and value before any cell runs; raise :class:`BenchError`."""
    task = get_task(request.task)
    if not accepts(task.datasets, request.dataset):
        raise BenchError(
            f"task {task.name!r} cannot use dataset {request.dataset!r} "
            f"(accepted: {', '.join(task.datasets)}, or a plug-in dataset of their modality)"
        )
    _check_data(request)
    if request.external_dataset is not None and not task.external_site:
        raise BenchError(f"task {task.name!r} has no external test site: drop --external-data")
    configs = [method_config(request, method) for method in request.methods]
    known = {key for config in configs for key in override_keys(config)}
    known |= {PROTOCOL_PREFIX + key for key in override_keys(task.settings[request.profile])}
    unknown = sorted(set(request.overrides) - known)
    if unknown:
        raise BenchError(unknown_name_message("setting", unknown[0], sorted(known)))
    protocol_settings(request)  # a bad protocol value fails here, before any cell
    if any(not (e > 0) or math.isnan(e) for e in request.epsilons):
        raise BenchError(f"bad epsilon grid {request.epsilons}")
    _check_accountable(request)
    _check_privacy_options(request)
    _check_writable(request.out)
    return task


def _check_accountable(request: RunRequest) -> None:
    """Refuse, before any cell, an epsilon the reported accountant cannot calibrate."""
    from bench.privacy.accounting import check_calibratable

    for epsilon in request.epsilons:
        check_calibratable(epsilon, request.accountant)


def _check_privacy_options(request: RunRequest) -> None:
    """--delta in (0, 1); --secure-rng only with opacus's secure generator installed."""
    if request.delta is not None and not (0 < request.delta < 1):
        raise BenchError(f"bad --delta {request.delta:g}: must be in (0, 1), e.g. 1e-5")
    if request.secure_rng:
        import importlib.util

        if importlib.util.find_spec("torchcsprng") is None:
            raise BenchError(
                "--secure-rng needs the torchcsprng package (opacus's secure_mode), "
                "which is not installed"
            )


def _check_data(request: RunRequest) -> None:
    """Real data need their folder; public data and an external site must differ from
    the private data."""
    require_root(request.dataset, request.data_root)
    for flag, name, root in (
        ("--data-root", request.dataset, request.data_root),
        ("--public-data-root", request.public_dataset, request.public_data_root),
        ("--external-data-root", request.external_dataset, request.external_data_root),
    ):
        if root is not None and (name is None or DATASETS.get(name).builtin):
            what = f"{name} is built in" if name else "no dataset is named for it"
            raise DatasetError(f"{flag} {root} given, but {what}: a real dataset goes with it")
    if request.external_dataset is not None:
        site = _check_second(
            "--external-data", request.external_dataset, request.external_data_root, request,
            "an external site is another site's data",
        )  # fmt: skip
        if site.builtin:
            raise DatasetError(
                f"--external-data {site.name} is built in; the phantoms' external site is "
                "the default, --external-data names a real dataset"
            )
    if request.public_dataset is not None:
        _check_second(
            "--public-data", request.public_dataset, request.public_data_root, request,
            "data used without DP must not be the private data",
        )  # fmt: skip


def _check_second(flag: str, name: str, root: Path | None, request: RunRequest, why: str):
    """A dataset beside the private one (public data, an external site): it needs its
    folder, has the private data's modality, and is not the private data themselves."""
    private = DATASETS.get(request.dataset)
    spec = require_root(name, root, f"{flag}-root")
    if spec.modality != private.modality:
        raise DatasetError(
            f"{flag} {spec.name} is {spec.modality} data but --data "
            f"{private.name} is {private.modality}"
        )
    roots = (request.data_root, root)
    same = None not in roots and Path(roots[0]).resolve() == Path(roots[1]).resolve()
    if spec.name == private.name and same:
        raise DatasetError(f"{flag} and --data both name {spec.name} at {roots[0]}: {why}")
    return spec


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise BenchError(f"cannot write to --out {out}: {exc.strerror or exc}") from None
