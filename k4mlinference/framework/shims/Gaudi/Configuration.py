"""k4mlinference shim of `Gaudi.Configuration`: message levels and the plain ApplicationMgr."""

from k4mlinference.framework.messages import ALWAYS, DEBUG, ERROR, FATAL, INFO, NIL, VERBOSE, WARNING
from k4mlinference.framework.services import ApplicationMgr

__all__ = ["ALWAYS", "DEBUG", "ERROR", "FATAL", "INFO", "NIL", "VERBOSE", "WARNING", "ApplicationMgr", "importOptions"]


def importOptions(path: str) -> None:  # noqa: N802 (Gaudi's name)
    """Run another options file in a fresh namespace (Gaudi's importOptions)."""
    import runpy

    runpy.run_path(path, run_name="__k4run_options__")
