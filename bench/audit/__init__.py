"""Empirical privacy auditing: epsilon lower bounds from canaries, next to the claim.

- :mod:`.bounds`: attack counts -> an epsilon lower bound (Clopper-Pearson, the
  (epsilon, delta) hypothesis-testing region), the audit of many independent trials;
- :mod:`.one_run`: Steinke, Nasr and Jagielski's one-run bound (NeurIPS 2023);
- :mod:`.canary`: the auditing ledger that plants white-box Dirac gradient canaries in the
  per-sample gradients of a method's own DP-SGD run and reads the released updates;
- :mod:`.audit`: runs a registered method under the auditing ledger and computes both
  bounds; :mod:`.board`: the leaderboard's audit column.

See ``docs/privacy-audit.md``.
"""
