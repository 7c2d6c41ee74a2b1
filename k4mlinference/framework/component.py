"""Components (algorithms and services): a name, typed properties, a logger, a registry.

As with Gaudi configurables, constructing a component registers it under its instance name, so
`k4run --Name.Prop=value` can find it after the options file has run. Constructing a second
component with the same name replaces the first (the options file decides).
"""

from __future__ import annotations

from typing import Any

from k4mlinference.framework.messages import Logger
from k4mlinference.framework.properties import Property, PropertyError, class_properties, suggest


class ConfigurationError(RuntimeError):
    """Something in the configuration is wrong; the message says what and where."""


class Component(Logger):
    """Base of algorithms and services: name + properties set by keyword or attribute."""

    OutputLevel = Property(0, doc="message threshold of this component (0: the application's)")

    def __new__(cls, name: str | None = None, **properties: Any) -> Component:
        # Gaudi's rule: the same name and type give the same instance (later keywords update it)
        existing = CONFIGURED.get(name or cls.default_name())
        if existing is not None and type(existing) is cls:
            return existing
        return super().__new__(cls)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        if self.__dict__.get("_initialized"):
            for key, value in properties.items():
                self.set_property(key, value)
            return
        self.__dict__["name"] = name or self.default_name()
        self.__dict__["_props"] = {}
        for key, value in properties.items():
            self.set_property(key, value)
        self.__dict__["_initialized"] = True
        CONFIGURED.add(self)

    @classmethod
    def default_name(cls) -> str:
        return cls.type_name()

    @classmethod
    def properties(cls) -> dict[str, Property]:
        """name -> Property descriptor, in declaration order (bases first); cached per class."""
        cached = cls.__dict__.get("_k4ml_properties")
        if cached is None:
            cached = class_properties(cls)
            type.__setattr__(cls, "_k4ml_properties", cached)
        return cached

    @classmethod
    def type_name(cls) -> str:
        return getattr(cls, "_type_name", cls.__name__)

    def _property(self, key: str) -> Property:
        props = self.properties()
        if key not in props:
            raise PropertyError(
                f"{self.type_name()}/{self.name} has no property '{key}'.{suggest(key, props)} "
                f"Properties: {', '.join(props)}"
            )
        return props[key]

    def set_property(self, key: str, value: Any) -> None:
        """Set a property with type checking (also what `alg.Prop = v` does)."""
        prop = self._property(key)
        self.__dict__["_props"][key] = prop.convert(value, f"{self.type_name()}/{self.name}")
        self._property_changed(key)

    def _property_changed(self, key: str) -> None:
        """Hook for wrappers that mirror values elsewhere (C++ algorithms)."""

    def get_property(self, key: str) -> Any:
        return self._property(key).__get__(self)

    def property_values(self) -> dict[str, Any]:
        return {k: p.__get__(self) for k, p in self.properties().items()}

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_") or key in ("name",) or key in self.__dict__:
            object.__setattr__(self, key, value)
            return
        if isinstance(getattr(type(self), key, None), Property) or (key[:1].isupper() and not hasattr(type(self), key)):
            # Capitalised names are properties by convention: an unknown one is a typo to report
            self.set_property(key, value)
            return
        object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        return f"{self.type_name()}({self.name!r})"


class ConfiguredComponents:
    """Every component constructed in this process, by instance name (last one wins)."""

    def __init__(self) -> None:
        self.components: dict[str, Component] = {}

    def add(self, comp: Component) -> None:
        self.components[comp.name] = comp

    def get(self, name: str) -> Component | None:
        return self.components.get(name)

    def clear(self) -> None:
        self.components.clear()


CONFIGURED = ConfiguredComponents()
