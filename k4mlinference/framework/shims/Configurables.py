"""k4mlinference shim of Gaudi's `Configurables`: every registered algorithm plus the services.

`from Configurables import ParticleGun, CaloDigitizer` resolves names through the
`k4mlinference.algorithms` entry points and the C++ algorithm headers. An unknown name raises an
ImportError that suggests close matches. ApplicationMgr and IOSvc taken from here are marked as
such: k4run refuses them together with IOSvc, as k4FWCore does (import them from k4FWCore).
"""

from k4mlinference.framework import registry
from k4mlinference.framework.component import ConfigurationError
from k4mlinference.framework.services import (
    COMPATIBILITY_SERVICES,
    ApplicationMgr,
    EventDataSvc,
    IOSvc,
    PodioInput,
    PodioOutput,
    Reader,
    Writer,
    k4DataSvc,
)

_SERVICES = {
    "ApplicationMgr": ApplicationMgr,
    "IOSvc": IOSvc,
    "EventDataSvc": EventDataSvc,
    "k4DataSvc": k4DataSvc,
    "PodioInput": PodioInput,
    "PodioOutput": PodioOutput,
    "Reader": Reader,
    "Writer": Writer,
    **COMPATIBILITY_SERVICES,
}


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _SERVICES:
        return _SERVICES[name]
    try:
        return registry.load(name)
    except ConfigurationError as exc:
        raise ImportError(f"cannot import {name!r} from Configurables: {exc}", name=name) from None


def __dir__():
    return sorted({*_SERVICES, *registry.names()})
