"""Functional algorithms in Python (k4FWCore's shapes): the signature is the contract.

An algorithm declares its inputs and outputs as `Input`/`Inputs`/`Output`/`Outputs` properties and
implements `__call__` for one event (one argument per declared input, in declaration order) or
`process_batch` for a block of events. The event loop reads the declared names from the event
store, checks the collection types, calls the algorithm and stores what it returns.

    class Scale(Transformer):
        "Doc shown by k4run --list."
        InputCollection = Input("CaloHits", type="edm4hep::CalorimeterHitCollection")
        OutputCollection = Output("ScaledHits", type="edm4hep::CalorimeterHitCollection")
        Factor = Property(1.0, doc="energy scale")

        def __call__(self, hits):
            out = edm.edm4hep.CalorimeterHitCollection()
            ...
            return out
"""

from __future__ import annotations

from typing import Any

from k4mlinference.framework.component import Component, ConfigurationError
from k4mlinference.framework.properties import DataHandle, Input, Inputs, Output, Outputs


class Algorithm(Component):
    """Base of all algorithms. Subclass one of the functional kinds below, not this."""

    kind = "Algorithm"

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.event_number = -1  # the event being processed (set by the loop; seed RNGs from it)
        self.event_numbers: list[int] = []  # the events of the current process_batch call

    # ------------------------------------------------------------------ declared data
    @classmethod
    def input_handles(cls) -> list[DataHandle]:
        """The declared inputs in declaration order (cached per class, like `properties()`: do not modify)."""
        cached = cls.__dict__.get("_k4ml_inputs")
        if cached is None:
            cached = [p for p in cls.properties().values() if isinstance(p, (Input, Inputs))]
            type.__setattr__(cls, "_k4ml_inputs", cached)
        return cached

    @classmethod
    def output_handles(cls) -> list[DataHandle]:
        """The declared outputs in declaration order (cached per class: MultiTransformer.split_result asks per event)."""
        cached = cls.__dict__.get("_k4ml_outputs")
        if cached is None:
            cached = [p for p in cls.properties().values() if isinstance(p, (Output, Outputs))]
            type.__setattr__(cls, "_k4ml_outputs", cached)
        return cached

    def input_names(self) -> list[str]:
        return [n for h in self.input_handles() for n in h.names(self)]

    def output_names(self) -> list[str]:
        return [n for h in self.output_handles() for n in h.names(self)]

    def check_signature(self) -> None:
        """Raise ConfigurationError if the declared data do not fit the algorithm's kind."""
        n_in, n_out = len(self.input_handles()), len(self.output_handles())
        rule = self._signature_rule(n_in, n_out)
        if rule:
            raise ConfigurationError(f"{self.type_name()}/{self.name}: a {self.kind} {rule}")
        owner = f"{self.type_name()}/{self.name}"
        for prop in self.properties().values():
            prop.check_value(prop.__get__(self), owner)

    def _signature_rule(self, n_in: int, n_out: int) -> str:
        return ""

    # ------------------------------------------------------------------ life cycle
    def initialize(self) -> None:
        """Called once after properties are set and before the first event."""

    def file_metadata(self) -> dict[str, Any]:
        """Parameters for the output file's `metadata` frame, asked once after finalize(); e.g. a readout's
        `<collection>__CellIDEncoding` as DD4hep/k4FWCore files carry it."""
        return {}

    def finalize(self) -> None:
        """Called once after the last event."""

    def __call__(self, *inputs: Any) -> Any:
        raise NotImplementedError(f"{self.type_name()} implements neither __call__ nor process_batch")

    def process_batch(self, events: list[tuple]) -> list:
        """Per-event results for a block of events; the default calls `__call__` per event."""
        out = []
        numbers = self.event_numbers or [-1] * len(events)
        state = self.__dict__  # event_number is a plain attribute: skip Component's property check per event
        for number, args in zip(numbers, events):
            state["event_number"] = number
            out.append(self(*args))
        return out

    # ------------------------------------------------------------------ results
    def split_result(self, result: Any) -> list[Any]:
        """One entry per declared output handle (a collection, or a list for Outputs)."""
        return [result]


class Producer(Algorithm):
    """No inputs, one output (a collection; a list of collections for `Outputs`)."""

    kind = "Producer"

    def _signature_rule(self, n_in: int, n_out: int) -> str:
        if n_in:
            return "takes no inputs"
        if n_out != 1:
            return f"declares exactly one Output/Outputs (found {n_out}); use MultiTransformer for several"
        return ""


class Transformer(Algorithm):
    """Inputs -> one output (a collection; a list of collections for `Outputs`)."""

    kind = "Transformer"

    def _signature_rule(self, n_in: int, n_out: int) -> str:
        if n_out != 1:
            return f"declares exactly one Output/Outputs (found {n_out}); use MultiTransformer for several"
        return ""


class MultiTransformer(Algorithm):
    """Inputs -> a tuple with one entry per declared output."""

    kind = "MultiTransformer"

    def _signature_rule(self, n_in: int, n_out: int) -> str:
        return "" if n_out >= 1 else "declares at least one Output/Outputs"

    def split_result(self, result: Any) -> list[Any]:
        n = len(self.output_handles())
        if not isinstance(result, (tuple, list)) or len(result) != n:
            got = (
                f"{type(result).__name__} of length {len(result)}"
                if isinstance(result, (tuple, list))
                else type(result).__name__
            )
            raise TypeError(f"returned {got}; a MultiTransformer returns a tuple with one entry per output ({n})")
        return list(result)


class Consumer(Algorithm):
    """Inputs -> nothing (monitoring, histograms, checks)."""

    kind = "Consumer"

    def _signature_rule(self, n_in: int, n_out: int) -> str:
        return "declares no outputs" if n_out else ""

    def split_result(self, result: Any) -> list[Any]:
        return []


class FilterPredicate(Algorithm):
    """Inputs -> bool: False stops the event for later algorithms and for the writer."""

    kind = "FilterPredicate"

    def _signature_rule(self, n_in: int, n_out: int) -> str:
        return "declares no outputs" if n_out else ""

    def split_result(self, result: Any) -> list[Any]:
        return []
