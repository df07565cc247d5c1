"""User-facing errors: the CLI prints them as one line and exits non-zero."""


class BenchError(Exception):
    """An error caused by the user's input or environment, reported without a traceback."""


class UnknownNameError(BenchError, KeyError):
    """A name (task, method, dataset, ...) that no registry knows."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DatasetError(BenchError):
    """A dataset that is missing, malformed or cannot be used as asked."""


class RecordError(BenchError):
    """A result record that is missing, corrupt or inconsistent with the run asking for it."""
