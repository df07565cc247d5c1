"""The checks a submission passes before it is written, and again before it is rendered.

Every problem names the record (``<method>/eps=<e>/seed=<s>``, its path in a run
directory) and the reason. Nothing is trusted that can be recomputed: the epsilon of
every private record is recomputed by the accountant from the recorded noise multiplier,
sample rate and steps (or from ``privacy.runs`` for a composition of mechanisms, e.g. a
GAN then a classifier) and must agree with the recorded achieved epsilon.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

from bench.config import PROFILES
from bench.errors import BenchError
from bench.leaderboard.card import MethodCard
from bench.leaderboard.evidence import record_problems, submission_problems
from bench.leaderboard.rules import SMOKE_PROFILE, BoardRules, epsilon_agrees
from bench.privacy.budget import format_epsilon, parse_epsilon
from bench.records import SCHEMA_VERSION, metrics_problem
from bench.tasks.base import TaskSpec

_UNPROTECTED = ("none", "no ", "unprotected", "n/a")
# Scoring on the held-out private test split: the design's rule 4 lets test data be read
# by the final evaluation (never trained or selected on), outside the DP guarantee, as
# every test set is. A task that lists it among its private-data steps names it so.
EVALUATION_STEP = "evaluation"
_MAX_LISTED = 12


class SubmissionError(BenchError):
    """A submission that fails its checks; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        listed = "; ".join(problems[:_MAX_LISTED])
        more = (
            f"; ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        )
        super().__init__(f"{source} rejected ({len(problems)} problems): {listed}{more}")


def record_label(record: dict[str, Any]) -> str:
    """``<method>/eps=<e>/seed=<s>``: where the record lies in its run directory.

    >>> record_label({"method": "prior-free", "epsilon": "3", "seed": 1})
    'prior-free/eps=3/seed=1'
    """
    return f"{record.get('method')}/eps={record.get('epsilon')}/seed={record.get('seed')}"


def check_submission(
    task: TaskSpec,
    card: MethodCard,
    records: list[dict[str, Any]],
    rules: BoardRules,
    *,
    source: str,
    allow_smoke: bool = False,
) -> None:
    """Raise :class:`SubmissionError` listing every problem of ``records`` for ``card``."""
    problems = [
        f"{record_label(r)}: {p}" for r in records for p in identity_problems(task, card, r)
    ]
    if not problems:  # the rest assumes well-formed identities
        problems += consistency_problems(records, rules, allow_smoke)
        problems += grid_problems(records, rules)
        for record in records:
            problems += [
                f"{record_label(record)}: {p}"
                for p in privacy_problems(task, card, record) + record_problems(task, record)
            ]
        problems += submission_problems(records)
    if problems:
        raise SubmissionError(source, problems)


def identity_problems(task: TaskSpec, card: MethodCard, record: dict[str, Any]) -> list[str]:
    """The record belongs to this task version and method, in this suite's format."""
    problems = []
    if record.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema_version {record.get('schema_version')} is not {SCHEMA_VERSION}")
    if record.get("task") != task.name or record.get("task_version") != task.version:
        problems.append(
            f"is {record.get('task')} v{record.get('task_version')}; the board is "
            f"{task.name} v{task.version} (versions are never mixed)"
        )
    if record.get("method") != card.name:
        problems.append(f"method {record.get('method')!r} is not the card's {card.name!r}")
    metrics = record.get("metrics")
    if not isinstance(record.get("seed"), int) or isinstance(record.get("seed"), bool):
        problems.append(f"seed {record.get('seed')!r} is not an integer")
    if problem := metrics_problem(metrics):
        problems.append(problem)
    elif metrics.get(task.primary_metric) is None:
        problems.append(f"lacks the primary metric {task.primary_metric}")
    try:
        parse_epsilon(str(record.get("epsilon")))
    except BenchError as exc:
        problems.append(str(exc))
    return problems


def consistency_problems(records: list[dict], rules: BoardRules, allow_smoke: bool) -> list[str]:
    """One stated profile, one dataset and one config across the submission."""
    if not records:
        return ["no records"]
    problems = []
    for key, what in (("profile", "profiles"), ("config_hash", "configs")):
        values = sorted({str(r.get(key)) for r in records})
        if len(values) > 1:
            problems.append(f"records mix {what} {', '.join(values)}")
    datasets = sorted({str((r.get("dataset") or {}).get("name")) for r in records})
    if len(datasets) > 1:
        problems.append(f"records mix datasets {', '.join(datasets)}")
    profile = records[0].get("profile")
    if profile not in PROFILES:
        problems.append(f"profile {profile!r} is not stated as one of {', '.join(PROFILES)}")
    elif profile == SMOKE_PROFILE and not allow_smoke:
        problems.append(
            "profile 'smoke' is a pipeline check and cannot enter the main board "
            f"(submit a {' or '.join(rules.profiles)} run)"
        )
    return problems


def grid_problems(records: list[dict[str, Any]], rules: BoardRules) -> list[str]:
    """The required epsilon grid is present, each epsilon with enough distinct seeds."""
    seeds: dict[float, list[int]] = defaultdict(list)
    for record in records:
        seeds[parse_epsilon(str(record["epsilon"]))].append(record["seed"])
    problems = []
    for eps, found in sorted(seeds.items()):
        if len(set(found)) < len(found):
            problems.append(f"eps={format_epsilon(eps)}: duplicate seeds {sorted(found)}")
    for eps in rules.epsilons:
        found = sorted(set(seeds.get(eps, [])))
        if len(found) < rules.min_seeds:
            have = f"seeds {', '.join(map(str, found))}" if found else "no record"
            problems.append(
                f"eps={format_epsilon(eps)}: {have}; the board needs at least {rules.min_seeds} "
                f"seeds at every epsilon of {rules.grid_text()}"
            )
    return problems


def privacy_problems(task: TaskSpec, card: MethodCard, record: dict[str, Any]) -> list[str]:
    """The privacy block states the card's guarantee and its epsilon recomputes."""
    privacy = record.get("privacy")
    if not isinstance(privacy, dict):
        return ["has no privacy block"]
    problems = statement_problems(task, card, privacy)
    target = parse_epsilon(str(record["epsilon"]))
    if privacy.get("target_epsilon") != (None if target == float("inf") else target):
        problems.append(f"target_epsilon {privacy.get('target_epsilon')} is not the cell's epsilon")
    if reads_no_private_data(privacy):
        return problems
    private = privacy.get("target_epsilon") is not None
    if private:
        problems += epsilon_problems(privacy) + clipping_problems(privacy)
    elif privacy.get("achieved_epsilon") is not None:
        problems.append("a non-private record states an achieved epsilon")
    return problems + step_problems(privacy, private)


def reads_no_private_data(privacy: dict[str, Any]) -> bool:
    """A method that trained on no private record (e.g. a classifier trained on samples of a
    public GAN): epsilon exactly 0, no DP step taken, no private-data step listed but the
    task's evaluation on its held-out test split.

    >>> evaluation = {"name": "evaluation", "data": "held-out test split", "protection": "none"}
    >>> reads_no_private_data({"achieved_epsilon": 0.0, "steps": 0,
    ...                        "private_data_steps": [evaluation]})
    True
    >>> reads_no_private_data({"achieved_epsilon": 0.0, "steps": 0, "private_data_steps": [{}]})
    False
    """
    return (
        privacy.get("achieved_epsilon") == 0
        and privacy.get("steps") == 0
        and isinstance(privacy.get("private_data_steps"), list)
        and not private_accesses(privacy)
        and not privacy.get("runs")
    )


def private_accesses(privacy: dict[str, Any]) -> list[str]:
    """Names of the private-data steps other than the task's evaluation on its test split.

    >>> private_accesses({"private_data_steps": [{"name": "training", "data": "train"}]})
    ['training']
    """
    steps = privacy.get("private_data_steps")
    steps = steps if isinstance(steps, list) else []
    return [
        str(s.get("name")) if isinstance(s, dict) else "?"
        for s in steps
        if not (isinstance(s, dict) and _is_evaluation(s))
    ]


def statement_problems(task: TaskSpec, card: MethodCard, privacy: dict[str, Any]) -> list[str]:
    """Accountant, delta and privacy unit are the ones the card and the task state."""
    problems = []
    if privacy.get("accountant") != card.accountant:
        problems.append(
            f"accountant {privacy.get('accountant')!r} is not the card's {card.accountant!r}"
        )
    if privacy.get("delta") != task.delta:
        problems.append(f"delta {privacy.get('delta')} is not the task's {task.delta}")
    if privacy.get("unit") != card.privacy_unit:
        problems.append(
            f"privacy unit {privacy.get('unit')!r} is not the card's {card.privacy_unit!r}"
        )
    return problems


def epsilon_problems(privacy: dict[str, Any]) -> list[str]:
    """Achieved <= target, and the accountant's epsilon of the recorded mechanism agrees."""
    target, achieved = privacy.get("target_epsilon"), privacy.get("achieved_epsilon")
    if not _is_number(achieved) or not _is_number(target):
        return ["a private record without a numeric achieved epsilon"]
    problems = []
    if achieved > target:
        problems.append(f"achieved epsilon {achieved:.6g} exceeds the target {target:g}")
    try:
        recomputed = recompute_epsilon(privacy)
    except (BenchError, KeyError, TypeError, ValueError) as exc:
        return [*problems, f"cannot recompute epsilon from the privacy block: {exc}"]
    if not epsilon_agrees(achieved, recomputed, privacy["accountant"]):
        problems.append(
            f"recorded achieved epsilon {achieved:.6g} disagrees with {recomputed:.6g} "
            f"recomputed by {privacy['accountant']} from the recorded sigma, q and steps"
        )
    elif recomputed > target and not epsilon_agrees(target, recomputed, privacy["accountant"]):
        problems.append(f"recomputed epsilon {recomputed:.6g} exceeds the target {target:g}")
    return problems


def clipping_problems(privacy: dict[str, Any]) -> list[str]:
    """DP-SGD's sensitivity comes from per-sample clipping: a private record states its bound."""
    bound = privacy.get("max_grad_norm")
    if not _is_number(bound) or bound <= 0:
        return [f"a private record without a per-sample clipping bound (max_grad_norm {bound})"]
    return []


def recompute_epsilon(privacy: dict[str, Any]) -> float:
    """The accountant's epsilon of the recorded mechanism (one run, or ``privacy.runs``).

    >>> mechanism = {"noise_multiplier": 1.5, "sample_rate": 0.04, "steps": 2250}
    >>> round(recompute_epsilon({**mechanism, "delta": 1e-5, "accountant": "rdp"}), 4)
    7.3291
    >>> runs = [mechanism, mechanism]  # composed: as 4500 steps, 10.9732 with one run
    >>> round(recompute_epsilon({"runs": runs, "delta": 1e-5, "accountant": "rdp"}), 4)
    10.9732
    """
    runs = privacy.get("runs") or [privacy]
    history = tuple(
        (float(run["noise_multiplier"]), float(run["sample_rate"]), int(run["steps"]))
        for run in runs
    )
    return _epsilon(history, float(privacy["delta"]), str(privacy["accountant"]))


@functools.lru_cache(maxsize=4096)
def _epsilon(history: tuple[tuple[float, float, int], ...], delta: float, accountant: str) -> float:
    # Seeds of one epsilon share one calibrated sigma: cache so a board pays once per cell.
    from bench.privacy.accounting import check_mechanism, epsilon_of_history

    for sigma, q, steps in history:
        check_mechanism(sigma, q, steps, delta)
        if sigma <= 0:
            raise BenchError("a private record has noise multiplier 0")
    return epsilon_of_history(list(history), delta, accountant)


def step_problems(privacy: dict[str, Any], private: bool) -> list[str]:
    """Every step that read private data states its protection (DP for a private record)."""
    steps = privacy.get("private_data_steps")
    if not isinstance(steps, list) or (private and not steps):
        return ["lists no private-data steps (every step that read private data must be listed)"]
    problems = []
    for step in steps:
        step = step if isinstance(step, dict) else {}
        protection = str(step.get("protection") or "").strip().lower()
        if not protection:
            problems.append(f"private-data step {step.get('name')!r} states no protection")
        elif _is_evaluation(step):
            continue
        elif private and protection.startswith(_UNPROTECTED):
            problems.append(f"private-data step {step.get('name')!r} is not protected")
    return problems


def _is_evaluation(step: dict[str, Any]) -> bool:
    """The final scoring on held-out test data (named so, and saying which data)."""
    data = str(step.get("data") or "").lower()
    return step.get("name") == EVALUATION_STEP and "test" in data and "train" not in data


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
