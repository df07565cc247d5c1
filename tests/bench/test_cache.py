"""The cache index: an entry is trusted only while its bytes match the recorded SHA-256."""

from __future__ import annotations

import logging

import pytest

from bench.cache import cache_dir, entry_problem, index_entry, verified_entry


@pytest.fixture
def entry(tmp_path, monkeypatch):
    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path / "cache"))
    path = cache_dir("kind") / "abc.json"
    path.write_text('{"sigma": 1.0}\n')
    return path


def test_an_indexed_entry_is_trusted(entry):
    index_entry(entry)
    assert entry_problem(entry) is None
    assert verified_entry(entry, "cached thing")


def test_an_entry_without_index_record_is_discarded(entry, caplog):
    with caplog.at_level(logging.WARNING):
        assert not verified_entry(entry, "cached thing")
    assert not entry.exists()
    assert "no record in the cache index" in caplog.text and str(entry) in caplog.text


@pytest.mark.parametrize("edit", [b'{"sigma": 2.0}\n', b"", b'{"sigma": 1.0'])
def test_an_edited_or_truncated_entry_is_discarded(entry, edit, caplog):
    index_entry(entry)
    entry.write_bytes(edit)
    with caplog.at_level(logging.WARNING):
        assert not verified_entry(entry, "cached thing")
    assert "differs from the SHA-256" in caplog.text
    assert not entry.exists()


def test_a_missing_entry_is_a_plain_miss(entry, caplog):
    entry.unlink()
    assert not verified_entry(entry, "cached thing")
    assert caplog.text == ""
