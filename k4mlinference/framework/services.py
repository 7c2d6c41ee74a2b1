"""The services an options file configures: IOSvc, ApplicationMgr, EventDataSvc.

They mirror k4FWCore's Python wrappers: IOSvc's `Input` accepts one file or a list,
`outputCommands` keeps/drops collections by name or type (last match wins), `FirstEventEntry`
skips entries; ApplicationMgr collects the top algorithms, `EvtMax` and `OutputLevel`.
"""

from __future__ import annotations

from typing import Any

from k4mlinference.framework.component import REGISTRY, Component
from k4mlinference.framework.messages import INFO
from k4mlinference.framework.properties import Property


class _FilesProperty(Property):
    """A list of file names that also accepts a single string (k4FWCore's IOSvc wrapper does the same)."""

    def convert(self, value: Any, owner: str = "") -> Any:
        if isinstance(value, str):
            value = [value]
        return super().convert(value, owner)


class Service(Component):
    """Base of services (no event processing)."""

    kind = "Service"


class EventDataSvc(Service):
    """The event store. Here frames hold the collections; the service is only configuration."""


class IOSvc(Service):
    """Input/output of podio files: which files, which collections, where to start, what to keep."""

    Input = _FilesProperty(
        [], doc="input files (one string or a list), read as one stream", type=list, element_type=str
    )
    Output = Property("", doc="output file; empty: no output")
    OutputType = Property("default", doc="default|ROOT (TTree) or rntuple: the output file's podio backend")
    CollectionNames = Property([], doc="collections to read; empty: all", type=list, element_type=str)
    outputCommands = Property(["keep *"], doc="'keep|drop NAME-GLOB' or 'keep|drop type TYPE'; last match wins")
    FirstEventEntry = Property(0, doc="first entry to read (also the first event number when there is no input)")
    ImportedFromk4FWCore = Property(False, doc="set when the service comes from k4FWCore (checked by k4run)")


class ApplicationMgr(Component):
    """The application: top algorithms, number of events, message level."""

    TopAlg = Property([], doc="algorithms to run (objects), in any order: the data flow decides", type=list)
    EvtSel = Property("NONE", doc="event selector (only NONE: input comes from IOSvc)")
    EvtMax = Property(-1, doc="events to process; -1: all input events")
    ExtSvc = Property([], doc="services (accepted for compatibility)", type=list)
    OutputLevel = Property(INFO, doc="message threshold: 1 VERBOSE, 2 DEBUG, 3 INFO, 4 WARNING, 5 ERROR")
    EventLoop = Property("", doc="accepted for compatibility")
    HistogramPersistency = Property("NONE", doc="accepted for compatibility")
    StopOnSignal = Property(False, doc="accepted for compatibility")
    AuditAlgorithms = Property(False, doc="accepted for compatibility")
    MessageSvcType = Property("", doc="accepted for compatibility")
    ImportedFromk4FWCore = Property(False, doc="set when the manager comes from k4FWCore (checked by k4run)")


def find(kind: type) -> list[Component]:
    return [c for c in REGISTRY.components.values() if isinstance(c, kind)]


METADATA: dict = {}  # k4FWCore.putMetadata values, written to the "metadata" frame
