"""User code named in options files as 'package.module:function' (or 'path/file.py:function').

Used for Python models (the python backend) and for target functions (training export).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any

from k4mlinference.inference.spec import ModelError, ModelLoadError, ModelNotFoundError


def resolve_callable(spec: str) -> Any:
    """'package.module:function' (or a .py file path 'file.py:function') -> the callable."""
    if ":" not in spec:
        raise ModelLoadError(f"{spec!r}: a Python function is given as 'module:function'")
    mod_name, func_name = spec.rsplit(":", 1)
    try:
        if mod_name.endswith(".py"):
            if not os.path.isfile(mod_name):
                raise ModelNotFoundError(f"model {mod_name}: no such file")
            file_spec = importlib.util.spec_from_file_location(Path(mod_name).stem, mod_name)
            module = importlib.util.module_from_spec(file_spec)
            file_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
    except ModelError:
        raise
    except Exception as e:
        raise ModelLoadError(f"model {spec}: cannot import {mod_name}: {type(e).__name__}: {e}") from e
    try:
        return getattr(module, func_name)
    except AttributeError:
        raise ModelLoadError(f"model {spec}: module {mod_name} has no attribute {func_name!r}") from None
