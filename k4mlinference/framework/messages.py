"""Gaudi-style message lines: `Name                 INFO message`, filtered by OutputLevel.

Levels use Gaudi's numbers (VERBOSE=1 ... ALWAYS=7) so options files written for k4FWCore
(`OutputLevel=DEBUG`) mean the same here. An algorithm's own OutputLevel (if not 0) overrides the
application's.
"""

from __future__ import annotations

import sys
from typing import TextIO

NIL, VERBOSE, DEBUG, INFO, WARNING, ERROR, FATAL, ALWAYS = range(8)
LEVEL_NAMES = {VERBOSE: "VERBOSE", DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR", FATAL: "FATAL"}
LEVEL_NAMES[ALWAYS] = "SUCCESS"
BY_NAME = {v: k for k, v in LEVEL_NAMES.items()} | {"ALWAYS": ALWAYS, "WARN": WARNING}

_state = {"level": INFO, "stream": None}


def set_level(level: int) -> None:
    """The application-wide threshold (ApplicationMgr OutputLevel)."""
    _state["level"] = int(level) if level else INFO


def get_level() -> int:
    return _state["level"]


def set_stream(stream: TextIO | None) -> None:
    _state["stream"] = stream


def format_line(name: str, level: int, message: str) -> str:
    return f"{name[:20]:<20} {LEVEL_NAMES.get(level, str(level)):>7} {message}"


def emit(name: str, level: int, message: str, threshold: int = 0) -> None:
    """Print one line when `level` passes `threshold` (or the application level when 0)."""
    if level < (threshold or _state["level"]):
        return
    stream = _state["stream"] or sys.stdout
    for line in str(message).splitlines() or [""]:
        stream.write(format_line(name, level, line) + "\n")
    stream.flush()


class Logger:
    """The debug/info/warning/error methods every component has."""

    name: str = "?"

    def _threshold(self) -> int:
        return int(getattr(self, "OutputLevel", 0) or 0)

    def verbose(self, msg: str) -> None:
        emit(self.name, VERBOSE, msg, self._threshold())

    def debug(self, msg: str) -> None:
        emit(self.name, DEBUG, msg, self._threshold())

    def info(self, msg: str) -> None:
        emit(self.name, INFO, msg, self._threshold())

    def warning(self, msg: str) -> None:
        emit(self.name, WARNING, msg, self._threshold())

    def error(self, msg: str) -> None:
        emit(self.name, ERROR, msg, self._threshold())

    def always(self, msg: str) -> None:
        emit(self.name, ALWAYS, msg, self._threshold())
