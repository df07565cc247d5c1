"""Procedural phantom datasets: the suite's embedded, offline default data."""
