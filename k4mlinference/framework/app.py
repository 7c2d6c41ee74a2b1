"""From configured components to a run: collect ApplicationMgr/IOSvc/TopAlg and run the loop.

Used by k4run (after the options files ran) and usable directly from Python:

    from k4mlinference.framework import run
    run([ParticleGun("Gun"), MyAlg("Alg")], evt_max=10, output="out.root")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from k4mlinference.framework import messages
from k4mlinference.framework.algorithm import Algorithm
from k4mlinference.framework.component import CONFIGURED, Component, ConfigurationError
from k4mlinference.framework.eventloop import EventLoop, RunResult, format_timing
from k4mlinference.framework.services import (
    METADATA,
    ApplicationMgr,
    IOSvc,
    PodioInput,
    PodioOutput,
    Reader,
    Writer,
    k4DataSvc,
)


@dataclass
class Application:
    """The configuration k4run executes."""

    app: ApplicationMgr
    iosvc: IOSvc
    algorithms: list[Algorithm]


def check_k4fwcore_imports() -> None:
    """k4FWCore's rule: with IOSvc, ApplicationMgr and IOSvc must come from k4FWCore, not Configurables."""
    iosvcs = [c for c in CONFIGURED.components.values() if isinstance(c, IOSvc)]
    if not iosvcs:
        return
    apps = [c for c in CONFIGURED.components.values() if isinstance(c, ApplicationMgr)]
    wrong = [c.type_name() for c in [*iosvcs, *apps] if not c.get_property("ImportedFromk4FWCore")]
    if wrong:
        raise ImportError(
            f"{' and '.join(sorted(set(wrong)))} imported from Configurables (or Gaudi.Configuration) while IOSvc "
            "is used: import them from k4FWCore instead (from k4FWCore import ApplicationMgr, IOSvc)"
        )


def collect(create_missing: bool = True) -> Application:
    """The ApplicationMgr, IOSvc and top algorithms the options files configured."""
    apps = [c for c in CONFIGURED.components.values() if isinstance(c, ApplicationMgr)]
    iosvcs = [c for c in CONFIGURED.components.values() if isinstance(c, IOSvc)]
    if not apps:
        if not create_missing:
            raise ConfigurationError("the options file configures no ApplicationMgr")
        apps = [ApplicationMgr()]
    legacy = [c for c in CONFIGURED.components.values() if isinstance(c, (k4DataSvc, PodioInput, PodioOutput))]
    if not iosvcs:
        iosvcs = [IOSvc("IOSvc")]
    app, iosvc = apps[-1], iosvcs[-1]
    _map_legacy_io(legacy, iosvc)
    algs = []
    for i, alg in enumerate(app.get_property("TopAlg")):
        if isinstance(alg, (PodioInput, PodioOutput, Reader, Writer)):
            continue  # k4FWCore's I/O algorithms: IOSvc's settings drive the event loop's input and output
        if isinstance(alg, str):  # Gaudi also accepts "Type/Name" strings
            typ, _, name = alg.partition("/")
            from k4mlinference.framework import registry

            alg = registry.load(typ)(name or typ)
        if not isinstance(alg, Algorithm):
            raise ConfigurationError(f"ApplicationMgr.TopAlg[{i}] is {alg!r}, not an algorithm")
        algs.append(alg)
    names = [a.name for a in algs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigurationError(f"ApplicationMgr.TopAlg lists algorithm name(s) twice: {', '.join(dup)}")
    return Application(app, iosvc, algs)


def _map_legacy_io(components: list[Component], iosvc: IOSvc) -> None:
    """Older k4FWCore files configure I/O with k4DataSvc(input=...), PodioInput and PodioOutput."""
    for c in components:
        if isinstance(c, k4DataSvc):
            files = ([c.get_property("input")] if c.get_property("input") else []) + list(c.get_property("inputs"))
            if files and not iosvc.get_property("Input"):
                iosvc.set_property("Input", files)
            if c.get_property("FirstEventEntry"):
                iosvc.set_property("FirstEventEntry", c.get_property("FirstEventEntry"))
        elif isinstance(c, PodioInput) and c.get_property("collections"):
            iosvc.set_property("CollectionNames", c.get_property("collections"))
        elif isinstance(c, PodioOutput) and c.get_property("filename"):
            iosvc.set_property("Output", c.get_property("filename"))
            iosvc.set_property("outputCommands", c.get_property("outputCommands"))


def _format_value(value: Any) -> str:
    if isinstance(value, Component):
        return f"{value.type_name()}/{value.name}"
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(v) if isinstance(v, Component) else repr(v) for v in value) + "]"
    return repr(value)


def option_lines(app: Application) -> list[str]:
    """`Comp.Prop = value` for every configured component (configuration_metadata, --dry-run)."""
    comps: list[Component] = [app.app, app.iosvc, *app.algorithms]
    lines = []
    for comp in comps:
        for key, value in comp.property_values().items():
            text = value if isinstance(value, str) else _format_value(value)
            lines.append(f'{comp.name}.{key} = "{text}"')
    return lines


def run_application(
    app: Application, progress: bool | None = None, config_options: list[str] | None = None
) -> RunResult:
    """Run the configured application in this process and print the timing table.

    `config_options` replaces the option lines written to configuration_metadata (parallel workers
    write their parent's, so every chunk, and the merged file, describes the whole run).
    """
    messages.set_level(app.app.get_property("OutputLevel"))
    io = app.iosvc
    loop = EventLoop(
        app.algorithms,
        inputs=io.get_property("Input"),
        output=io.get_property("Output"),
        output_type=io.get_property("OutputType"),
        evt_max=app.app.get_property("EvtMax"),
        first_entry=io.get_property("FirstEventEntry"),
        collection_names=io.get_property("CollectionNames"),
        output_commands=io.get_property("outputCommands"),
        config_options=config_options if config_options is not None else option_lines(app),
        metadata=dict(METADATA),
        progress=progress,
    )
    result = loop.run()
    for line in format_timing(result.timing, result.events):
        messages.emit("TimingTable", messages.INFO, line)
    messages.emit(
        "ApplicationMgr",
        messages.INFO,
        f"processed {result.events} events in {result.seconds:.2f} s"
        + (f", wrote {result.written} to {result.output}" if result.output else ""),
    )
    return result


def run(
    algorithms: list[Algorithm],
    evt_max: int = -1,
    input: list[str] | str | None = None,  # noqa: A002
    output: str = "",
    first_entry: int = 0,
    output_commands: list[str] | None = None,
    progress: bool | None = False,
    output_type: str = "default",
) -> RunResult:
    """Run algorithms from Python without an options file (`output_type`: "default"/"ROOT" = TTree, "rntuple")."""
    inputs = [input] if isinstance(input, str) else list(input or [])
    loop = EventLoop(
        algorithms,
        inputs=inputs,
        output=output,
        evt_max=evt_max,
        first_entry=first_entry,
        output_commands=output_commands,
        progress=progress,
        output_type=output_type,
    )
    return loop.run()
