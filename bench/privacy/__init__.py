"""Privacy budgets, accounting, the opacus engine and the privacy block of a record."""
