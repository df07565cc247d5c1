"""Leaderboards and regression tracking: validating, rendering and comparing real records."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "leaderboards"
TASK = "recon-attack"


class TimeLeaderboard:
    def setup(self) -> None:
        from bench.leaderboard.submission import load_submissions

        if not (ROOT / TASK / "submissions").is_dir():
            raise NotImplementedError("no committed recon-attack board")
        self.submissions = load_submissions(ROOT, TASK)

    def time_load_and_validate(self) -> None:
        from bench.leaderboard import checks
        from bench.leaderboard.submission import load_submissions

        checks._epsilon.cache_clear()  # pay the accountant's recomputation every time
        load_submissions(ROOT, TASK)

    def time_render_markdown(self) -> None:
        from bench.leaderboard.render import board_files

        board_files(self.submissions[0].task, self.submissions, "markdown")

    def time_compare_board_records(self) -> None:
        from bench.compare import cell_key, compare

        cells = {cell_key(r): r for s in self.submissions for r in s.records}
        compare(cells, cells, {})
