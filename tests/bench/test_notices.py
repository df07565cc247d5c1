"""Known library warnings are explained once per process; others pass through."""

import io
import warnings

import pytest

from bench import notices


def _warn(message, category=UserWarning):
    warnings.warn(message, category, stacklevel=2)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(notices, "_seen", set())


def test_known_warnings_are_explained_once_and_dropped():
    stream = io.StringIO()
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        for _ in range(3):
            with notices.handled_warnings(stream):
                _warn("Secure RNG turned off. This is perfectly fine ...")
                _warn("Full backward hook is firing when gradients ...")
    text = stream.getvalue()
    assert text.count("note: opacus draws the DP noise") == 1
    assert text.count("no effect on the guarantee") == 1
    assert not shown  # the raw warnings are gone


def test_other_warnings_pass_through():
    stream = io.StringIO()
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with notices.handled_warnings(stream):
            _warn("something else", RuntimeWarning)
    assert [str(w.message) for w in shown] == ["something else"] and not stream.getvalue()


def test_each_distinct_delta_warning_is_shown():
    stream = io.StringIO()
    with notices.handled_warnings(stream):
        _warn("delta 0.3 >= 1/N for the 4 records of the toy rows: ...")
        _warn("delta 0.3 >= 1/N for the 4 records of the toy rows: ...")
    assert stream.getvalue().count("warning: delta 0.3 >= 1/N") == 1
