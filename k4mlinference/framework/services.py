"""The services an options file configures: IOSvc, ApplicationMgr, EventDataSvc.

They mirror k4FWCore's Python wrappers: IOSvc's `Input` accepts one file or a list,
`outputCommands` keeps/drops collections by name or type (last match wins), `FirstEventEntry`
skips entries; ApplicationMgr collects the top algorithms, `EvtMax` and `OutputLevel`.
"""

from __future__ import annotations

from typing import Any

from k4mlinference.framework.component import CONFIGURED, Component
from k4mlinference.framework.messages import INFO
from k4mlinference.framework.properties import Property


class _FilesProperty(Property):
    """A list of file names that also accepts a single string (k4FWCore's IOSvc wrapper does the same)."""

    def convert(self, value: Any, owner: str = "") -> Any:
        if isinstance(value, str):
            value = [value]
        return super().convert(value, owner)


class _AnyValue(Property):
    """A property of a compatibility service: any value is kept as given."""

    def convert(self, value: Any, owner: str = "") -> Any:
        return value


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

    # k4FWCore's IOSvc wrapper also takes `input` and `output` (lowercase): its own options files set
    # `iosvc.output = ...`, which would otherwise become a plain attribute and silently write nothing.
    _ALIASES = {"input": "Input", "output": "Output"}

    def _property(self, key: str) -> Property:
        return super()._property(self._ALIASES.get(key, key))

    def set_property(self, key: str, value: Any) -> None:
        super().set_property(self._ALIASES.get(key, key), value)

    def __setattr__(self, key: str, value: Any) -> None:
        if key in self._ALIASES:
            self.set_property(key, value)
            return
        super().__setattr__(key, value)

    def __getattr__(self, key: str) -> Any:
        aliases = type(self)._ALIASES
        if key in aliases:
            return self.get_property(aliases[key])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")


class ApplicationMgr(Component):
    """The application: top algorithms, number of events, message level."""

    TopAlg = Property([], doc="algorithms to run (objects), in any order: the data flow decides", type=list)
    EvtSel = Property("NONE", doc="event selector (only NONE: input comes from IOSvc)")
    EvtMax = Property(-1, doc="events to process; -1: all input events")
    ExtSvc = Property([], doc="services (accepted for compatibility)", type=list)
    OutputLevel = Property(INFO, doc="message threshold: 1 VERBOSE, 2 DEBUG, 3 INFO, 4 WARNING, 5 ERROR")
    EventLoop = _AnyValue("", doc="accepted for compatibility (a name or a service)", type=object)
    HistogramPersistency = Property("NONE", doc="accepted for compatibility")
    StopOnSignal = Property(False, doc="accepted for compatibility")
    AuditAlgorithms = Property(False, doc="accepted for compatibility")
    MessageSvcType = Property("", doc="accepted for compatibility")
    ImportedFromk4FWCore = Property(False, doc="set when the manager comes from k4FWCore (checked by k4run)")


class GaudiService(Service):
    """A Gaudi service configured by options files written for multithreaded Gaudi (HiveWhiteBoard,
    AvalancheSchedulerSvc, ...). Accepted with any properties so that such files run unchanged; here each
    process runs its events in sequence (parallelism comes from --ncpus or --executor dask), so the
    settings have no effect."""

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        from k4mlinference.framework import messages

        messages.emit(
            self.name,
            messages.DEBUG,
            f"{self.type_name()} accepted for compatibility; events run in sequence per process (see --ncpus)",
        )

    def _property(self, key: str) -> Property:
        props = self.properties()
        if key in props:
            return props[key]
        prop = _AnyValue(None, type=object)
        prop.name = key
        return prop

    def get_property(self, key: str) -> Any:
        if key in self.properties():
            return super().get_property(key)
        return self.__dict__["_props"].get(key)


def _gaudi_service(type_name: str, doc: str) -> type:
    return type(type_name, (GaudiService,), {"__doc__": doc, "_type_name": type_name})


# Names k4FWCore options files take from Configurables besides the algorithms
COMPATIBILITY_SERVICES = {
    n: _gaudi_service(n, d)
    for n, d in {
        "HiveWhiteBoard": "Gaudi's multi-slot event store (accepted; one event at a time per process here).",
        "HiveSlimEventLoopMgr": "Gaudi's multithreaded event loop (accepted; use --ncpus for parallel runs).",
        "AvalancheSchedulerSvc": "Gaudi's task scheduler (accepted; algorithms run in data-flow order).",
        "MessageSvc": "Gaudi's message service (accepted; use OutputLevel).",
        "AuditorSvc": "Gaudi's auditors (accepted; the timing table is always printed).",
        "ChronoAuditor": "Gaudi's timing auditor (accepted; the timing table is always printed).",
        "MetadataSvc": "k4FWCore's metadata service (accepted; use k4FWCore.putMetadata).",
        "UniqueIDGenSvc": "k4FWCore's per-event seed service (accepted; seed from self.event_number).",
    }.items()
}


class k4DataSvc(Service):  # noqa: N801 - the name options files use
    """k4FWCore's older event store with podio input (`input`), replaced by IOSvc: its input is IOSvc's."""

    input = Property("", doc="input file (older k4FWCore: k4DataSvc('EventDataSvc', input=...))")
    inputs = _FilesProperty([], doc="input files", type=list, element_type=str)
    FirstEventEntry = Property(0, doc="first entry to read")


class PodioInput(Component):
    """k4FWCore's older input algorithm: the collections to read (mapped onto IOSvc.CollectionNames)."""

    collections = Property([], doc="collections to read; empty: all", type=list, element_type=str)


class PodioOutput(Component):
    """k4FWCore's older output algorithm (mapped onto IOSvc.Output and IOSvc.outputCommands)."""

    filename = Property("", doc="output file")
    outputCommands = Property(["keep *"], doc="'keep|drop NAME-GLOB' or 'keep|drop type TYPE'; last match wins")


class Reader(Component):
    """k4FWCore's reader algorithm: reads IOSvc's input. Accepted in ApplicationMgr.TopAlg (and skipped
    there): here IOSvc itself reads the input before the algorithms run, as k4FWCore adds a Reader for it."""


class Writer(Component):
    """k4FWCore's writer algorithm: writes IOSvc's output (`IOSvc.Output`, `IOSvc.outputCommands`).
    Accepted in ApplicationMgr.TopAlg (and skipped there): here the event loop writes every event that
    passed the filters once all algorithms have run, which is where k4FWCore's Writer runs too."""


def find(kind: type) -> list[Component]:
    return [c for c in CONFIGURED.components.values() if isinstance(c, kind)]


METADATA: dict = {}  # k4FWCore.putMetadata values, written to the "metadata" frame
