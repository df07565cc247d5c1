"""The content of a board: what it ranks, under which rules, and who submitted what.

One section per profile (``paper``, then ``small``; ``smoke`` pipeline checks last and
labelled as such), one ranked table per epsilon, a bound-vs-empirical table when the
task declares a bound, and the method cards of every submission.
"""

from __future__ import annotations

import json
import math

from bench.leaderboard.formats import Block
from bench.leaderboard.ranking import Row, display_label, ranked_tables
from bench.leaderboard.rules import SMOKE_PROFILE, BoardRules
from bench.leaderboard.submission import AUDIT_SUFFIX, Submission
from bench.metrics import METRICS, higher_is_better
from bench.privacy.budget import format_epsilon
from bench.tasks.base import TaskSpec

PLOT = "privacy_utility.png"


def board_blocks(
    task: TaskSpec, submissions: list[Submission], frame, rules: BoardRules, digest: str
) -> list[Block]:
    """Every block of the board of ``task``, in order."""
    blocks = header_blocks(task, rules)
    tables = ranked_tables(frame, task)
    baselines = {display_label(s, submissions) for s in submissions if s.card.baseline}
    audits = {
        (display_label(s, submissions), eps): cell
        for s in submissions
        for eps, cell in audit_cells(s).items()
    }
    for profile in dict.fromkeys(profile for profile, _ in tables):
        blocks.append(Block("h2", _section_title(profile)))
        rows = []
        for (p, eps), ranked in tables.items():
            if p == profile:
                blocks += [
                    Block("h3", f"epsilon = {_eps(eps)}"),
                    rank_table(ranked, task, baselines, audits),
                ]
                rows += ranked
        if task.bound_metric:
            blocks += bound_blocks(rows, task)
    blocks += submission_blocks(submissions)
    blocks.append(
        Block(
            "p",
            f"Rendered from {len(submissions)} submission(s) of {task.name} v{task.version}; "
            f"digest of the submission files: `{digest}`.",
        )
    )
    return blocks


def header_blocks(task: TaskSpec, rules: BoardRules) -> list[Block]:
    """Title, provenance, ranking rule, entry requirements and the plot."""
    metric = task.primary_metric
    direction = "higher" if higher_is_better(metric) else "lower"
    return [
        Block("h1", f"Leaderboard: {task.name} v{task.version}"),
        Block(
            "p",
            "**Generated** by `bench leaderboard render` from `submissions/`; never edit it "
            "by hand (CI fails when it is out of date). How to submit: "
            "[docs/leaderboards.md](../../docs/leaderboards.md).",
        ),
        Block(
            "p",
            f"{task.description}. Privacy unit: {task.privacy_unit}; delta = {task.delta:g}.",
        ),
        Block(
            "p",
            f"**Ranking.** By `{metric}` ({METRICS.get(metric).description}; {direction} is "
            "better): mean ± std over seeds. The 95% CI is the envelope of the seeds' "
            "recorded CIs (or mean ± 1.96 standard errors over seeds for a metric without one). "
            "Rank = 1 + the number of rows whose CI lies entirely on the better side, so rows "
            "with overlapping CIs share a rank.",
        ),
        Block(
            "p",
            f"**Main board requirements.** {rules.describe()}; achieved epsilon <= target in "
            "every record, and equal to the accountant's epsilon recomputed from the recorded "
            "noise multiplier, sample rate and steps; every step that read private data "
            "protected and listed.",
        ),
        Block(
            "p",
            "**Audited epsilon.** The empirical lower bound of `bench audit` (white-box "
            "canaries through the method's own DP training, docs/privacy-audit.md) where one "
            "is committed beside the submission (`<submission>.audit.json`); FALSE CLAIM marks "
            "a lower bound above the claimed epsilon.",
        ),
        Block("img", "privacy-utility plot", src=PLOT),
    ]


def rank_table(
    rows: list[Row], task: TaskSpec, baselines: set[str], audits: dict | None = None
) -> Block:
    """The ranked table of one (profile, epsilon), with each row's audited lower bound."""
    audits = audits or {}
    headers = ("rank", "method", f"{task.primary_metric} (mean ± std)", "95% CI", "seeds")
    body = [
        (
            str(row.rank),
            f"{row.label} (baseline)" if row.label in baselines else row.label,
            f"{row.mean:.4g} ± {row.std:.2g}",
            _ci(row),
            str(row.seeds),
            "-" if row.achieved is None else f"{row.achieved:.6g}",
            audits.get((row.label, row.epsilon)) or _unaudited(row),
        )
        for row in rows
    ]
    headers += ("achieved epsilon (max)", "audited epsilon (lower bound)")
    return Block("table", headers=headers, rows=body)


NOT_AUDITED = "not audited"


def _unaudited(row: Row) -> str:
    """The audit cell of a row without an audit: why there is nothing to audit, if so."""
    if row.achieved is None:
        return "- (no DP claim)"  # the non-private baseline claims nothing
    if row.achieved == 0:
        return "- (no private training)"  # e.g. trained on synthetic data only
    return NOT_AUDITED


def audit_cells(submission: Submission) -> dict[float, str]:
    """The audit column of a submission's rows, per target epsilon.

    ``<submission>.audit.json`` beside the submission holds what ``bench audit METHOD
    --task T --eps E,... --json`` printed (one JSON object per epsilon); a row without
    an audit reads "not audited", and a lower bound above the claim is flagged.
    """
    from bench.audit.board import audit_column

    path = submission.path.with_suffix(AUDIT_SUFFIX)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        results = [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError):
        return {}
    cells = {}
    for result in results:
        if isinstance(result, dict) and result.get("method") == submission.card.name:
            cells[float(result.get("target_epsilon", math.nan))] = audit_column(result)["cell"]
    return cells


def bound_blocks(rows: list[Row], task: TaskSpec) -> list[Block]:
    """Empirical success beside its theoretical bound, per method and epsilon."""
    metric, bound = task.primary_metric, task.bound_metric
    body = [
        (
            row.label,
            _eps(row.epsilon),
            f"{row.mean:.4g} ± {row.std:.2g}",
            _ci(row),
            f"{row.bound:.4g}",
            "yes" if row.ci_low <= row.bound else "NO: the CI lies above the bound",
        )
        for row in sorted(rows, key=lambda r: (r.label, r.epsilon))
        if row.bound is not None
    ]
    return [
        Block("h3", f"Bound vs empirical: `{metric}` against `{bound}`"),
        Block(
            "p",
            f"`{bound}`: {METRICS.get(bound).description}. A bound holds when the empirical "
            "CI does not lie entirely above it.",
        ),
        Block(
            "table",
            headers=(
                "method",
                "epsilon",
                f"{metric} (mean ± std)",
                "95% CI",
                bound,
                "within bound",
            ),
            rows=body,
        ),
    ]


def submission_blocks(submissions: list[Submission]) -> list[Block]:
    """The method cards, one row per submission."""
    body = []
    for sub in submissions:
        card, dataset = sub.card, _dataset(sub.records[0])
        body.append(
            (
                card.name + (" (baseline)" if card.baseline else ""),
                sub.profile,
                ", ".join(card.authors),
                card.description,
                dataset,
                card.privacy_unit,
                card.public_data,
                card.accountant,
                card.hardware,
                card.code_url,
                card.paper or "-",
                card.deviations,
                method_code_text(sub.records),
                verification_text(sub),
            )
        )
    headers = ("method", "profile", "authors", "description", "data", "privacy unit")
    headers += ("public data", "accountant", "hardware", "code", "paper", "deviations")
    headers += ("made by", "verified")
    return [Block("h2", "Submissions"), Block("table", headers=headers, rows=body)]


def method_code_text(records: list[dict]) -> str:
    """The code that made the records (``records[].code.method``): package, version, commit.

    >>> method_code_text([{"code": {"method": {"distribution": "pmb-x", "version": "0.2",
    ...     "package": "pmb_x", "git_commit": "0123456789abcdef", "git_dirty": False}}}])
    'pmb-x 0.2 (pmb_x, commit 0123456789)'
    >>> method_code_text([{"code": {}}])
    'not recorded'
    """
    seen = []
    for record in records:
        code = (record.get("code") or {}).get("method")
        if not isinstance(code, dict):
            return "not recorded"
        commit = code.get("git_commit")
        where = f"{code.get('package')}" + (f", commit {commit[:10]}" if commit else "")
        where += " + local changes" if code.get("git_dirty") else ""
        text = f"{code.get('distribution') or '?'} {code.get('version') or '?'} ({where})"
        if text not in seen:
            seen.append(text)
    return "; ".join(seen) or "not recorded"


def verification_text(submission: Submission) -> str:
    """Whether ``bench leaderboard verify`` re-ran the submission's current content."""
    from bench.leaderboard.verify import load_verification

    found = load_verification(submission.path)
    if found is None:
        return "not verified"
    cells = found.get("cells") or []
    good = sum(bool(c.get("reproduced")) for c in cells)
    verdict = "reproduced" if found.get("reproduced") else "NOT reproduced"
    comparison = {c.get("comparison") for c in cells}
    how = "exact" if comparison == {"exact"} else "within tolerance"
    return (
        f"{verdict}: {good}/{len(cells)} cells re-run ({how}) on {found.get('device')}, "
        f"{str(found.get('verified_at', ''))[:10]}"
    )


def _dataset(record: dict) -> str:
    """The private dataset, and the public one when the run declared it.

    Records name a dataset by a string (newer ``dataset.public``) or by a dict with a
    ``name`` (older records, and the private dataset); either may be missing.

    >>> _dataset({"dataset": {"name": "acdc", "public": "phantom-cardiac"}})
    'acdc (public: phantom-cardiac)'
    >>> _dataset({"dataset": {"name": "acdc", "public": {"name": "mnms"}}})
    'acdc (public: mnms)'
    >>> _dataset({})
    '?'
    """
    data = record.get("dataset")
    private = _dataset_name(data) or "?"
    public = _dataset_name(data.get("public")) if isinstance(data, dict) else None
    return private + (f" (public: {public})" if public else "")


def _dataset_name(entry) -> str | None:
    """The name of a dataset entry: a string, a dict with ``name``, or nothing."""
    if isinstance(entry, dict):
        entry = entry.get("name")
    return str(entry) if entry not in (None, "") else None


def _section_title(profile: str) -> str:
    if profile == SMOKE_PROFILE:
        return "`smoke` profile: pipeline checks, not part of the main board"
    return f"`{profile}` profile"


def _ci(row: Row) -> str:
    return f"[{row.ci_low:.3g}, {row.ci_high:.3g}]"


def _eps(epsilon: float) -> str:
    return "inf (non-private)" if math.isinf(epsilon) else format_epsilon(epsilon)
