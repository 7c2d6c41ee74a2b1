"""Where algorithms come from: the `k4mlinference.algorithms` entry points and C++ headers.

Python algorithms are registered as `Name = "module:Class"` entry points (pyproject.toml), so any
installed package can contribute algorithms; C++ algorithms are the `DECLARE_COMPONENT`s of the
sources in cpp/algorithms/, `k4run --cpp-source` and `K4ML_CPP_SOURCES` (framework/cpp.py). Both are resolved lazily by name, so `--list` and options files only
import (or compile) what they touch.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from k4mlinference.framework.component import ConfigurationError
from k4mlinference.framework.properties import suggest

GROUP = "k4mlinference.algorithms"
_extra: dict[str, type] = {}  # algorithms registered at run time (tests, options files)


def python_entry_points() -> dict[str, str]:
    """name -> 'module:Class' of the registered Python algorithms."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def cpp_components() -> dict[str, Any]:
    from k4mlinference.framework.cpp import components

    return components()


def names() -> list[str]:
    """Every algorithm name k4run knows (Python entry points, C++ components, run-time registrations)."""
    return sorted({*python_entry_points(), *cpp_components(), *_extra})


def register(cls: type, name: str | None = None) -> type:
    """Make a class available by name without an entry point (also usable as a decorator)."""
    _extra[name or cls.__name__] = cls
    return cls


def load(name: str) -> type:
    """The algorithm class registered as `name`; a ConfigurationError with suggestions otherwise."""
    if name in _extra:
        return _extra[name]
    eps = python_entry_points()
    if name in eps:
        module, _, attr = eps[name].partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigurationError(
                f"algorithm {name!r} is registered as {eps[name]!r} but cannot be loaded: {exc}"
            ) from exc
        return obj
    if name in cpp_components():
        from k4mlinference.framework.cpp import cpp_algorithm

        return cpp_algorithm(name)
    raise ConfigurationError(f"unknown algorithm {name!r}.{suggest(name, names())} Run 'k4run --list' to see all.")
