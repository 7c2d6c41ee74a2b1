"""How ROOT and podio spell the types and paths the reader and the writer both deal with."""

from __future__ import annotations

# fixed-width integers: RNTuple fields name them with `std::`, TTree branches without
FIXED_WIDTH = frozenset({"int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t"})


def is_url(path: str) -> bool:
    """A remote path (root://, https://): opened in place, never renamed."""
    return "://" in path


def root_vector_class(cpp_type: str) -> str:
    """`vector<T>` for a branch; ROOT normalizes typedefs (int32_t -> int, int64_t -> long)."""
    t = cpp_type.strip().removeprefix("std::")
    return f"vector<{t}>"


def ntuple_vector_type(cpp_type: str) -> str:
    """`std::vector<T>` as podio's RNTuple layout names field types (`std::vector<std::int32_t>`)."""
    t = cpp_type.strip().removeprefix("std::")
    return f"std::vector<std::{t}>" if t in FIXED_WIDTH else f"std::vector<{cpp_type.strip()}>"
