"""The event data model at run time: EDM4hep, EDM4eic's Tensor and any podio datamodel.

    from k4mlinference import edm
    mcps = edm.edm4hep.MCParticleCollection()
    p = mcps.create(PDG=11, momentum=(0.0, 0.0, 10.0))
    px = mcps.view("momentum.x")          # numpy, no copy

Accessing `edm.edm4hep`, `edm.edm4eic` or `edm.podio` compiles (first time, cached) and loads
the datamodels into cppyy.
"""

from __future__ import annotations

from typing import Any

from k4mlinference.edm.columns import (
    ColumnReader,
    best_links,
    build_collection,
    build_one_to_many,
    directions,
    members,
    padded,
    positions,
    reading,
    set_one_to_many,
    set_one_to_one,
)
from k4mlinference.edm.frame import Frame
from k4mlinference.edm.views import ViewInvalidatedError

_NAMESPACES = ("edm4hep", "edm4eic", "podio", "k4ml")
_BUILTIN_LOADED = False


def load(extra: list | None = None) -> None:
    """Compile/load the builtin datamodels (and `extra` parsed Datamodels) and pythonize them."""
    global _BUILTIN_LOADED
    if _BUILTIN_LOADED and not extra:  # cheap repeat calls (collection_class calls load() every time)
        return
    from k4mlinference.edm import loader, pythonize

    before = set(loader.loaded())
    loader.load_builtin()
    for dm in extra or []:
        loader.load_datamodel(dm)
    comps: dict = {}
    for dm in loader.loaded().values():
        comps.update(dm.components)
    for name, dm in loader.loaded().items():
        if name not in before or not any(
            t in pythonize.TYPES for t in (d.cpp_collection for d in dm.datatypes.values())
        ):
            pythonize.pythonize_datamodel(dm, comps)
    from k4mlinference.edm import subset

    subset.pythonize()
    _BUILTIN_LOADED = True


def subset_collection(type_name: str) -> Any:
    """An empty podio subset collection of `type_name` (`edm4hep::MCParticleCollection`): it holds
    references to objects of other collections (see k4mlinference.edm.subset)."""
    from k4mlinference.edm import subset

    load()
    return subset.subset_collection(type_name)


def collection_class(type_name: str) -> Any:
    """The cppyy class for a podio collection type name (`edm4hep::MCParticleCollection`,
    `podio::LinkCollection<A,B>`, `podio::UserDataCollection<float>`)."""
    import cppyy

    from k4mlinference.edm import loader

    load()
    if type_name.startswith("podio::UserDataCollection<"):
        inner = type_name[len("podio::UserDataCollection<") : -1].strip()
        return cppyy.gbl.k4ml.UserDataCollection[inner]
    for dm in loader.loaded().values():
        for dt in dm.datatypes.values():
            if type_name in (dt.collection_type, dt.cpp_collection):
                obj = cppyy.gbl
                for part in dt.cpp_collection.split("::"):
                    obj = getattr(obj, part)
                return obj
    raise KeyError(f"unknown collection type {type_name!r}")


def __getattr__(name: str) -> Any:
    if name in _NAMESPACES:
        load()
        import cppyy

        return getattr(cppyy.gbl, name)
    raise AttributeError(f"module 'k4mlinference.edm' has no attribute {name!r}")


__all__ = [
    "ColumnReader",
    "Frame",
    "ViewInvalidatedError",
    "best_links",
    "build_collection",
    "build_one_to_many",
    "collection_class",
    "directions",
    "load",
    "members",
    "padded",
    "positions",
    "reading",
    "set_one_to_many",
    "set_one_to_one",
    "subset_collection",
]
