"""k4mlinference shim of `k4FWCore`: ApplicationMgr and IOSvc, marked as coming from k4FWCore."""

from k4mlinference.framework import services as _services

__all__ = ["ApplicationMgr", "IOSvc", "putMetadata"]


class ApplicationMgr(_services.ApplicationMgr):
    """ApplicationMgr as k4FWCore wraps it."""

    _type_name = "ApplicationMgr"

    def __init__(self, name=None, **properties):
        super().__init__(name, **properties)
        self.ImportedFromk4FWCore = True


class IOSvc(_services.IOSvc):
    """IOSvc as k4FWCore wraps it (a single input string becomes a list)."""

    _type_name = "IOSvc"

    def __init__(self, name=None, **properties):
        super().__init__(name, **properties)
        self.ImportedFromk4FWCore = True


def putMetadata(values: dict) -> None:  # noqa: N802 (k4FWCore's name)
    """Collection-independent metadata for the output's `metadata` frame."""
    _services.METADATA.update(values)
