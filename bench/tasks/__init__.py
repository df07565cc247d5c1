"""The task and method registries.

Built-in task modules are light declarations: importing them registers their specs but
loads no torch; third-party methods join through the ``bench.methods`` entry-point group
(each entry point is a module or callable that registers methods with
:func:`register_method`).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from bench.registry import Registry
from bench.tasks.base import MethodSpec, TaskSpec

TASKS: Registry[TaskSpec] = Registry("task")
_METHODS: dict[str, Registry[MethodSpec]] = {}
_BUILTIN_TASK_MODULES = (
    "bench.tasks.recon_attack",
    "bench.tasks.cardiac_ldm",
    "bench.tasks.mammo_cls",
    "bench.tasks.privacy_audit",
)
_loaded = False


def register_task(spec: TaskSpec) -> TaskSpec:
    """Register a task declaration."""
    TASKS.add(spec.name, spec)
    _METHODS[spec.name] = Registry(f"method of task {spec.name!r}")
    return spec


def register_method(spec: MethodSpec) -> MethodSpec:
    """Register a method of an already registered task."""
    TASKS.get(spec.task)
    return _METHODS[spec.task].add(spec.name, spec)


def load() -> None:
    """Import the built-in task modules and third-party plug-ins, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_TASK_MODULES:
        importlib.import_module(module)
    for entry in entry_points(group="bench.methods"):
        entry.load()
    from bench.datasets import load_plugins

    load_plugins()


def get_task(name: str) -> TaskSpec:
    """The task called ``name`` (raises with a suggestion when unknown)."""
    load()
    return TASKS.get(name)


def get_method(task: str, name: str) -> MethodSpec:
    """The method ``name`` of ``task``."""
    get_task(task)
    return _METHODS[task].get(name)


def task_names() -> list[str]:
    load()
    return TASKS.names()


def methods_of(task: str) -> list[MethodSpec]:
    """All methods of ``task``, sorted by name."""
    get_task(task)
    registry = _METHODS[task]
    return [registry.get(name) for name in registry.names()]
