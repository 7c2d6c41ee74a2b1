"""Errors and warnings of the podio ROOT I/O."""

from __future__ import annotations


class PodioFileError(OSError):
    """A file cannot be read as a podio file: missing, truncated, corrupt, or not podio's layout.

    The message always names the file and says what is wrong.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class SchemaEvolutionWarning(UserWarning):
    """A collection type in a file differs from ours (renamed, added or missing members).

    ROOT's member-wise schema evolution reads the members both have; the others are dropped
    (file only) or keep their default value (ours only).
    """


class SkippedCollectionWarning(UserWarning):
    """Collections in a file that this process cannot read (unknown type, subset collection)."""
