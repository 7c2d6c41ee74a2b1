"""Process-wide sharing of loaded models: each (file, backend, options) is loaded once.

Several algorithm instances (or use-case algorithms) naming the same model get the same
backend object, so a process holds one copy of the weights and one ONNX Runtime session (whose
`Run` is thread-safe). Loading is serialised per key under a lock, so two threads asking at once
still load once. The key includes the file's size and modification time, so a model rewritten
on disk (e.g. by a training step in the same process) is loaded afresh.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from k4mlinference.inference.backends import Backend, choose_backend, make_backend
from k4mlinference.inference.model import Model, load_model


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


class SessionService:
    """The cache of shared backends (use `SessionService.instance()`)."""

    _instance: SessionService | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backends: dict[tuple, Backend] = {}
        self._key_locks: dict[tuple, threading.Lock] = {}
        self._owners: dict[tuple, Any] = {}
        self.loads = 0  # how many backends were actually constructed (tests check sharing with it)

    @classmethod
    def instance(cls) -> SessionService:
        if cls._instance is None:
            with cls._instance_lock:
                if cls._instance is None:
                    cls._instance = cls()
        return cls._instance

    @staticmethod
    def key(model: Any, backend: str | None, options: dict[str, Any]) -> tuple:
        kind = choose_backend(model, backend)
        if isinstance(model, (str, Path)):
            p = str(model)
            if os.path.exists(p):
                st = os.stat(p)
                ident: Any = (os.path.realpath(p), st.st_size, st.st_mtime_ns)
            else:
                ident = (p,)
        else:
            ident = ("object", id(model))
        return (kind, ident, _freeze(options))

    def get(self, model: Any, backend: str | None = None, **options: Any) -> Backend:
        """The shared backend for this model and options, loading it on first request."""
        key = self.key(model, backend, options)
        be = self._backends.get(key)
        if be is not None:
            return be
        with self._lock:
            klock = self._key_locks.setdefault(key, threading.Lock())
        with klock:
            be = self._backends.get(key)
            if be is None:
                be = make_backend(model, backend, **options)
                with self._lock:
                    self._backends[key] = be
                    if not isinstance(model, (str, Path)):
                        self._owners[key] = model  # keep id(model), part of the key, valid while cached
                    self.loads += 1
        return be

    def __len__(self) -> int:
        return len(self._backends)

    def clear(self) -> None:
        """Forget every shared backend (tests; a job that reloads models)."""
        with self._lock:
            for be in self._backends.values():
                be.close()
            self._backends.clear()
            self._key_locks.clear()
            self._owners.clear()


def get_model(model: Any, backend: str | None = None, **options: Any) -> Model:
    """`load_model` with the backend taken from the process-wide shared sessions (loaded on first request)."""
    return load_model(model, backend, backend_factory=SessionService.instance().get, **options)
