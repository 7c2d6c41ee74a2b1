"""Typed properties of algorithms and services, in Gaudi's spirit.

A `Property` is a class-level descriptor: its default fixes its type (int, float, bool, str or list),
every assignment is checked against that type, and `parse()` turns command-line strings into a
value of that type. `Input`/`Output` (one collection name) and `Inputs`/`Outputs` (a list of names)
are properties too, k4FWCore's KeyValue/KeyValues: their values are event-store names, and they
also carry the declared collection type that the event loop checks at run time.
"""

from __future__ import annotations

import copy
import difflib
from typing import Any

_TYPE_NAMES = {bool: "bool", int: "int", float: "float", str: "str", list: "list"}


class PropertyError(ValueError):
    """A property does not exist or a value does not fit its type."""


def suggest(name: str, candidates: list[str] | Any) -> str:
    """' Did you mean X?' for the closest candidates, or '' (difflib, as users expect from CLIs)."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def _type_of(default: Any) -> type:
    for t in (bool, int, float, str):  # bool first: bool is an int
        if isinstance(default, t):
            return t
    if isinstance(default, (list, tuple)):
        return list
    raise TypeError(f"unsupported property default {default!r} (use int, float, bool, str or list)")


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a bool (use true/false)")


class Property:
    """A typed, documented setting of a component; the default gives the type."""

    kind = "property"

    def __init__(
        self,
        default: Any,
        doc: str = "",
        type: type | None = None,  # noqa: A002
        element_type: type | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        existing_file: bool = False,
    ) -> None:
        """`minimum`/`maximum` bound numbers (each element of a list); `existing_file`: a non-empty
        string value must name an existing file (checked by `check_value` before a run and by --dry-run;
        `module:function` references pass)."""
        self.type = type or _type_of(default)
        self.minimum, self.maximum = minimum, maximum
        self.existing_file = existing_file
        self.default = list(default) if isinstance(default, tuple) else default
        self.doc = doc
        # element type of lists: from the argument, else from the default's first element
        if self.type is list and element_type is None and self.default:
            element_type = _type_of(self.default[0])
        self.element_type = element_type
        self.name = ""

    # -- descriptor protocol: values live in the instance's `_props` dict
    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        props = obj.__dict__.setdefault("_props", {})
        if self.name not in props:
            props[self.name] = copy.deepcopy(self.default)
        return props[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        owner = getattr(obj, "name", type(obj).__name__)
        obj.__dict__.setdefault("_props", {})[self.name] = self.convert(value, owner)

    @property
    def type_name(self) -> str:
        name = _TYPE_NAMES.get(self.type, getattr(self.type, "__name__", str(self.type)))
        if self.type is list and self.element_type is not None:
            name += f"[{_TYPE_NAMES.get(self.element_type, self.element_type.__name__)}]"
        return name

    def _convert_scalar(self, t: type, value: Any, where: str) -> Any:
        ok = {
            bool: isinstance(value, bool),
            int: isinstance(value, int) and not isinstance(value, bool),
            float: isinstance(value, (int, float)) and not isinstance(value, bool),
            str: isinstance(value, str),
        }.get(t)
        if ok is None:
            return value
        if not ok:
            try:  # numpy scalars
                import numpy as np

                if t is int and isinstance(value, np.integer):
                    return int(value)
                if t is float and isinstance(value, (np.integer, np.floating)):
                    return float(value)
                if t is bool and isinstance(value, np.bool_):
                    return bool(value)
            except ImportError:  # pragma: no cover
                pass
            raise PropertyError(
                f"{where}: property '{self.name}' expects {_TYPE_NAMES.get(t, t.__name__)}, "
                f"got {type(value).__name__} {value!r}"
            )
        return float(value) if t is float else value

    def convert(self, value: Any, owner: str = "") -> Any:
        """Check `value` against the property's type (ints are accepted where floats are) and bounds."""
        where = owner or "?"
        if self.type is list:
            if isinstance(value, str) or not isinstance(value, (list, tuple)):
                raise PropertyError(
                    f"{where}: property '{self.name}' expects a list, got {type(value).__name__} {value!r}"
                )
            if self.element_type is None:
                return list(value)
            return [self._check_bounds(self._convert_scalar(self.element_type, v, where), where) for v in value]
        return self._check_bounds(self._convert_scalar(self.type, value, where), where)

    def _check_bounds(self, value: Any, where: str) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                raise PropertyError(f"{where}: property '{self.name}' must be >= {self.minimum}, got {value!r}")
            if self.maximum is not None and value > self.maximum:
                raise PropertyError(f"{where}: property '{self.name}' must be <= {self.maximum}, got {value!r}")
        return value

    def check_value(self, value: Any, owner: str = "") -> None:
        """Checks that need the world outside the process (an `existing_file` must exist)."""
        import os

        if not (self.existing_file and isinstance(value, str) and value):
            return
        if ":" in value:
            path = value.rsplit(":", 1)[0]
            if not path.endswith(".py"):  # `module:function`, not a file
                return
            value = path  # `file.py:function`: the file must exist
        if not os.path.isfile(value):
            raise PropertyError(f"{owner or '?'}: property '{self.name}': file {value!r} does not exist")

    def _parse_scalar(self, t: type | None, text: str, where: str) -> Any:
        try:
            if t is bool:
                return _parse_bool(text)
            if t is int:
                return int(text, 0)
            if t is float:
                return float(text)
        except ValueError:
            raise PropertyError(
                f"{where}: property '{self.name}' expects {_TYPE_NAMES.get(t, t.__name__)}, got {text!r}"
            ) from None
        return text

    def parse(self, texts: list[str] | str, owner: str = "") -> Any:
        """A value from command-line strings (`--Alg.Prop a b c` gives several for a list)."""
        where = owner or "?"
        if isinstance(texts, str):
            texts = [texts]
        if self.type is list:
            return [self._parse_scalar(self.element_type, t, where) for t in texts]
        if len(texts) != 1:
            raise PropertyError(f"{where}: property '{self.name}' takes one value, got {len(texts)}: {texts}")
        return self._parse_scalar(self.type, texts[0], where)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.default!r}, type={self.type_name})"


class DataHandle(Property):
    """A collection name (or names) in the event store plus the declared collection type."""

    direction = "input"
    multiple = False

    def __init__(self, default: Any, type: str | None = None, doc: str = "") -> None:  # noqa: A002
        super().__init__(default, doc=doc, type=list if self.multiple else str, element_type=str)
        self.collection_type = _normalize_type(type) if type else None

    @property
    def type_name(self) -> str:
        base = "list[str]" if self.multiple else "str"
        return f"{base} ({self.direction} {self.collection_type or 'any collection'})"

    def convert(self, value: Any, owner: str = "") -> Any:
        """k4FWCore accepts a one-element list for a single collection (`InputCollection=["MCParticles"]`,
        as its own options files write); a longer list cannot name one collection."""
        if not self.multiple and isinstance(value, (list, tuple)):
            if len(value) != 1:
                raise PropertyError(
                    f"{owner or '?'}: property '{self.name}' names one collection, got a list of {len(value)}: "
                    f"{list(value)!r}"
                )
            value = value[0]
        return super().convert(value, owner)

    def names(self, obj: Any) -> list[str]:
        value = self.__get__(obj)
        if self.multiple and self.direction == "output":
            # k4FWCore skips empty output names: `OutputCollections=[""]` declares no output at all
            return [n for n in value if n]
        return list(value) if self.multiple else [value]


def _normalize_type(name: str) -> str:
    return name.replace(" ", "")


class Input(DataHandle):
    """One input collection (k4FWCore KeyValue): the value is its name in the event store."""

    direction = "input"


class Inputs(DataHandle):
    """A runtime-length list of input collections (KeyValues); the argument is a list of names."""

    direction = "input"
    multiple = True


class Output(DataHandle):
    """One output collection (KeyValue)."""

    direction = "output"


class Outputs(DataHandle):
    """A runtime-length list of output collections (KeyValues)."""

    direction = "output"
    multiple = True


def class_properties(cls: type) -> dict[str, Property]:
    """All properties of a class, base classes first, each in declaration order."""
    out: dict[str, Property] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Property):
                out[name] = value
    # data handles keep their declaration order; plain properties after them is not required
    return out
