"""Shared fixtures: an isolated user cache, a toy task for runner tests, the shared data."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"

# Calibrations, checkpoints and dataset caches of the whole session go to a folder under
# its basetemp, never the user's ~/.cache/privmedbench. Set when pytest is configured, so
# that collection (module imports) and fixtures of every scope already see it.
_CACHE_VARS = ("PRIVMEDBENCH_CACHE", "XDG_CACHE_HOME")
_CACHE_KEY = pytest.StashKey[Path]()
_saved_env: dict[str, str | None] = {}
_JOBS_VAR = "PRIVMEDBENCH_JOBS"  # the default --jobs (bench.launchers.capacity)


@pytest.hookimpl(trylast=True)  # after the tmp_path plugin has made its factory
def pytest_configure(config: pytest.Config) -> None:
    factory = getattr(config, "_tmp_path_factory", None)  # set by pytest's tmp_path plugin
    base = factory.getbasetemp() if factory else Path(tempfile.mkdtemp(prefix="privmedbench-"))
    config.stash[_CACHE_KEY] = base / "cache"
    _saved_env.update({name: os.environ.get(name) for name in (*_CACHE_VARS, _JOBS_VAR)})
    _point_cache(os.environ.__setitem__, base / "cache")
    os.environ[_JOBS_VAR] = "1"  # cells in the test's process unless a test asks for jobs


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved_env.clear()


def _point_cache(setenv, cache: Path) -> None:
    """``$PRIVMEDBENCH_CACHE`` = ``cache``; ``$XDG_CACHE_HOME`` beside it, to be safe."""
    setenv("PRIVMEDBENCH_CACHE", str(cache))
    setenv("XDG_CACHE_HOME", str(cache.parent / "xdg-cache"))


@pytest.fixture(autouse=True)
def _isolated_cache(request, monkeypatch):
    """Each test starts on the session's cache; a test may point it elsewhere (monkeypatch)."""
    _point_cache(monkeypatch.setenv, request.config.stash[_CACHE_KEY])


@pytest.fixture
def one_torch_thread():
    """Tiny models: one thread beats two on a shared CPU (the pools wait on each other)."""
    from bench.threads import cpu_threads

    with cpu_threads(1):
        yield


@pytest.fixture
def shared_data() -> Path:
    """The real data folder (``../shared/data``); tests using it skip when it is absent."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is not available")
    return path


@pytest.fixture(scope="session")
def toy_task():
    """A registered task whose only method is instant; for runner and CLI plumbing tests."""
    from fixtures.toy_task import ToyConfig, ToySettings, toy_run

    from bench.tasks import TASKS, load, register_method, register_task
    from bench.tasks.base import MethodSpec, TaskSpec

    load()
    if "toy" not in TASKS:
        register_task(
            TaskSpec(
                name="toy",
                version=1,
                description="toy",
                primary_metric="mse_mean",
                summary_metrics=("mse_mean",),
                delta=1e-5,
                default_eps=(1.0, math.inf),
                default_seeds=(0,),
                default_methods=("toy-method",),
                datasets=("phantom-mammo",),
                privacy_unit="one toy",
                protocol="fixtures.toy_task:TOY_PROTOCOL",
                settings={p: ToySettings() for p in ("smoke", "small", "paper")},
            )
        )
        configs = {p: ToyConfig() for p in ("smoke", "small", "paper")}
        register_method(MethodSpec("toy", "toy-method", "instant", configs, toy_run))
    return "toy"
