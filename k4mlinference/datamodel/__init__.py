"""The datamodel: podio-schema YAML files, their parsed form, and the C++ generator.

`edm4hep.yaml` and `edm4eic.yaml` beside this file are the single source of truth for every
type: the C++ structs and collections, the ROOT dictionaries and the numpy dtypes of the
zero-copy views are all derived from them.
"""

from k4mlinference.datamodel.model import (
    Component,
    Datamodel,
    Datatype,
    Member,
    Relation,
    load_builtin_datamodels,
    parse_datamodel,
)

__all__ = [
    "Component",
    "Datamodel",
    "Datatype",
    "Member",
    "Relation",
    "load_builtin_datamodels",
    "parse_datamodel",
]
