"""`k4run`: run k4FWCore-style options files with k4mlinference's algorithms.

    k4run OPTIONS.py [MORE.py] [-n N] [--Alg.Prop=value | --Alg.Prop v1 v2 | --Prop.Alg value]
          [--dry-run] [--ncpus N] [--executor local|dask] [--scheduler ADDRESS]
          [--shared-dir PATH]
    k4run --list            # algorithms with their properties and docs

The options files run with shim modules (Gaudi.Configuration, Configurables, k4FWCore,
k4FWCore.parseArgs) first on sys.path; only k4run installs them, so a real Gaudi elsewhere is never
shadowed by importing k4mlinference. After the files ran, every property of every configured
component becomes a command-line option, type-checked against the property.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from k4mlinference.framework import messages
from k4mlinference.framework.component import CONFIGURED, Component, ConfigurationError
from k4mlinference.framework.properties import Property, PropertyError, suggest

SHIMS = Path(__file__).resolve().parent / "shims"
_SHIM_MODULES = ("Gaudi", "Configurables", "k4FWCore")
_TOOL_OPTIONS = {"--ncpus", "--executor", "--scheduler", "--shared-dir", "--worker-report", "--config-options"}


class UsageError(Exception):
    """Bad command line (exit code 2)."""


def remove_shims() -> None:
    """Undo install_shims (k4run called in-process, e.g. from tests, leaves no trace)."""
    for mod in list(sys.modules):
        if mod.split(".")[0] in _SHIM_MODULES and str(SHIMS) in str(getattr(sys.modules[mod], "__file__", "")):
            del sys.modules[mod]
    while str(SHIMS) in sys.path:
        sys.path.remove(str(SHIMS))


def install_shims() -> None:
    """Make the option-file modules resolve to our shims (only called by k4run)."""
    for mod in list(sys.modules):
        if mod.split(".")[0] in _SHIM_MODULES:
            del sys.modules[mod]
    if str(SHIMS) in sys.path:
        sys.path.remove(str(SHIMS))
    sys.path.insert(0, str(SHIMS))


def _base_parser(
    add_help: bool = True, parents: list[argparse.ArgumentParser] | None = None
) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="k4run",
        description="Run k4FWCore-style options files with k4mlinference algorithms (Python and C++).",
        add_help=False,
        parents=parents or [],
        allow_abbrev=False,
    )
    g = p.add_argument_group("k4run")
    if add_help:
        g.add_argument(
            "-h", "--help", action="store_true", help="show this help (with an options file: all properties)"
        )
    g.add_argument("-n", "--num-events", type=int, default=None, help="number of events (ApplicationMgr.EvtMax)")
    g.add_argument("--dry-run", action="store_true", help="configure and print the configuration, process nothing")
    g.add_argument("-l", "--list", action="store_true", help="list available algorithms with properties and docs")
    g.add_argument("--log-level", default=None, help="VERBOSE|DEBUG|INFO|WARNING|ERROR (overrides OutputLevel)")
    g.add_argument("--ncpus", type=int, default=1, help="split the events over N worker processes")
    g.add_argument("--executor", default="local", choices=["local", "dask"], help="where chunks run")
    g.add_argument("--scheduler", default=None, help="Dask scheduler address (default: a LocalCluster)")
    g.add_argument(
        "--shared-dir", default="", metavar="PATH", help="Dask: chunks write here (a folder all workers see)"
    )
    g.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar (default: on a TTY)"
    )
    g.add_argument(
        "--cpp-source",
        action="append",
        metavar="PATH_OR_GLOB",
        help="C++ algorithm sources to compile and load (.cpp file, folder or glob; repeatable; env K4ML_CPP_SOURCES)",
    )
    g.add_argument("--worker-report", default=None, help=argparse.SUPPRESS)
    g.add_argument("--config-options", default=None, help=argparse.SUPPRESS)
    return p


def _split_files(argv: list[str]) -> tuple[list[str], list[str]]:
    """Leading arguments up to the first option are options files."""
    files = []
    i = 0
    while i < len(argv) and not argv[i].startswith("-"):
        files.append(argv[i])
        i += 1
    return files, argv[i:]


# ------------------------------------------------------------------ --list
def list_algorithms(out: Any = None) -> None:
    from k4mlinference.framework import registry

    out = out or sys.stdout
    for name in registry.names():
        try:
            cls = registry.load(name)
        except Exception as exc:  # still list it, with the reason
            out.write(f"{name}\n    (cannot be loaded: {exc})\n\n")
            continue
        kind = getattr(cls, "kind", "?")
        origin = "C++" if getattr(cls, "_cpp_name", "") else "Python"
        out.write(f"{name}  [{origin} {kind}]\n")
        doc = " ".join((cls.__doc__ or "").split())
        if doc:
            out.write(f"    {doc}\n")
        for pname, prop in cls.properties().items():
            if pname == "OutputLevel":
                continue
            out.write(f"    {pname:<22} {prop.type_name:<40} default={prop.default!r}\n")
            if prop.doc:
                out.write(f"        {prop.doc}\n")
        out.write("\n")


# ------------------------------------------------------------------ property options
def _cli_properties() -> list[tuple[Component, str, Property]]:
    out = []
    for comp in CONFIGURED.components.values():
        for pname, prop in comp.properties().items():
            if prop.type is list and prop.element_type is None:
                continue  # TopAlg, ExtSvc: objects, not settable from a command line
            out.append((comp, pname, prop))
    return out


def _add_property_options(parser: argparse.ArgumentParser) -> dict[str, tuple[Component, str, Property]]:
    group = parser.add_argument_group("properties (--Component.Property or --Property.Component)")
    dests: dict[str, tuple[Component, str, Property]] = {}
    taken = set()
    for comp, pname, prop in _cli_properties():
        dest = f"prop::{comp.name}::{pname}"
        flags = [f"--{comp.name}.{pname}", f"--{pname}.{comp.name}"]
        flags = [f for f in dict.fromkeys(flags) if f not in taken]
        if not flags:
            continue
        taken.update(flags)
        kwargs: dict[str, Any] = {"dest": dest, "default": None, "metavar": prop.type_name.split(" ")[0].upper()}
        if prop.type is list:
            kwargs["nargs"] = "*"
        group.add_argument(*flags, help=prop.doc.replace("%", "%%"), **kwargs)
        dests[dest] = (comp, pname, prop)
    return dests


def _unknown_option_message(arg: str, known: list[str]) -> str:
    flag = arg.split("=", 1)[0]
    if flag.startswith("--") and "." in flag:
        comp = flag[2:].split(".", 1)[0]
        names = list(CONFIGURED.components)
        if comp not in names and flag[2:].split(".", 1)[1] not in names:
            return f"unknown option {flag}: no component named '{comp}'.{suggest(comp, names)}"
        return f"unknown option {flag}: no such property.{suggest(flag, known)}"
    return f"unrecognized argument {arg!r}.{suggest(flag, known)}"


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    warnings.filterwarnings("ignore", category=UserWarning, module="ROOT")  # the alpha wheel's notice
    try:
        return _main(argv)
    except SystemExit as exc:  # argparse inside an options file
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except UsageError as exc:
        sys.stderr.write(f"k4run: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("k4run: interrupted; nothing written\n")
        return 130
    except (ConfigurationError, PropertyError, ImportError) as exc:
        sys.stderr.write(f"k4run: error: {exc}\n")
        return 1
    except Exception as exc:  # algorithm failures and the like: a clear line, traceback at DEBUG
        from k4mlinference.framework.eventloop import AlgorithmError
        from k4mlinference.framework.executors import ChunkError

        if messages.get_level() <= messages.DEBUG or not isinstance(exc, (AlgorithmError, ChunkError)):
            traceback.print_exc()
        sys.stderr.write(f"k4run: error: {exc}\n")
        return 1
    finally:
        remove_shims()


def _main(argv: list[str]) -> int:
    from k4mlinference.framework.cpp import take_cpp_sources

    argv = take_cpp_sources(argv)  # before the files: `k4run --cpp-source DIR opts.py` works too
    files, rest = _split_files(argv)
    pre, _ = _base_parser().parse_known_args(rest)
    if pre.list and not files:
        list_algorithms()
        return 0
    if not files:
        if pre.help:
            _base_parser().print_help()
            return 0
        raise UsageError("no options file given (k4run OPTIONS.py [options]; k4run --list; k4run --help)")
    for f in files:
        if not os.path.isfile(f):
            raise UsageError(f"options file {f!r} does not exist")

    # ---- run the options files with the shims in place
    install_shims()
    CONFIGURED.clear()
    from k4mlinference.framework.services import METADATA

    METADATA.clear()
    saved_argv = sys.argv
    sys.argv = ["k4run", *argv]  # what parseArgs.parser.parse_known_args() inside options files sees
    try:
        for f in files:
            runpy.run_path(f, run_name="__k4run__")
    finally:
        sys.argv = saved_argv
    from k4mlinference.framework import app as appmod

    appmod.check_k4fwcore_imports()
    application = appmod.collect()

    # ---- full command line: options-file arguments + every property
    import k4FWCore.parseArgs as pa  # the shim (installed above)

    parser = _base_parser(parents=[pa.parser])
    dests = _add_property_options(parser)
    args, unknown = parser.parse_known_args(rest)
    if pre.help:
        parser.print_help()
        return 0
    if pre.list:
        list_algorithms()
        return 0
    known = [s for a in parser._actions for s in a.option_strings]
    if unknown:
        raise UsageError(_unknown_option_message(unknown[0], known))
    for dest, (comp, pname, prop) in dests.items():
        value = getattr(args, dest)
        if value is None:
            continue
        try:
            comp.set_property(pname, prop.parse(value, f"--{comp.name}.{pname}"))
        except PropertyError as exc:  # a bad value on the command line is a usage error (exit 2)
            raise UsageError(str(exc)) from None
    if args.num_events is not None:
        if args.num_events < -1:
            raise UsageError(f"-n {args.num_events}: give a number of events >= 0 (or -1 for all input events)")
        application.app.EvtMax = args.num_events
    if args.log_level:
        level = messages.BY_NAME.get(args.log_level.upper())
        if level is None:
            raise UsageError(f"--log-level {args.log_level!r}: use VERBOSE, DEBUG, INFO, WARNING or ERROR")
        application.app.OutputLevel = level
    messages.set_level(application.app.get_property("OutputLevel"))

    if args.dry_run:
        for line in appmod.option_lines(application):
            print(line)
        for alg in application.algorithms:
            alg.check_signature()
        if not application.iosvc.get_property("Input"):  # with input, the file decides what is available
            from k4mlinference.framework.scheduler import schedule

            order = schedule(application.algorithms, [])
            messages.emit("ApplicationMgr", messages.INFO, "order: " + " -> ".join(a.name for a in order))
        messages.emit("ApplicationMgr", messages.INFO, "dry run: configuration is valid, no events processed")
        return 0

    if args.ncpus > 1 or args.executor == "dask":
        with stop_on_signals(parallel=True):
            return _run_parallel(application, files, rest, args)

    options = json.loads(Path(args.config_options).read_text()) if args.config_options else None
    worker_of = os.environ.get("K4ML_WORKER", "")
    if worker_of.isdigit():  # a chunk of a parallel run: never outlive the driver
        from k4mlinference.framework.executors import die_with_parent

        die_with_parent(int(worker_of))
    with stop_on_signals(parallel=False, keep_output=not worker_of):
        result = appmod.run_application(application, progress=args.progress, config_options=options)
    if result.stopped_by:
        what = f"{result.output} holds the {result.written} completed events" if result.output else "no output written"
        sys.stderr.write(
            f"k4run: stopped by {signal.Signals(result.stopped_by).name} after {result.events} events; {what}\n"
        )
        return 128 + result.stopped_by
    if args.worker_report:
        Path(args.worker_report).write_text(
            json.dumps({"events": result.events, "written": result.written, "timing": result.timing})
        )
    return 0


@contextmanager
def stop_on_signals(parallel: bool, keep_output: bool = True) -> Iterator[None]:
    """SIGTERM (what batch systems send) and SIGINT stop the run after the current block.

    Serial runs then finish normally: the output holds every completed event under its final
    name (a batch job cut by its time limit keeps what it did; the message says how many). A worker
    of a parallel run keeps nothing, and a parallel driver tells its workers to stop and keeps
    nothing either (a partial set of chunks is no sample). A second signal aborts at once.
    """
    from k4mlinference.framework.eventloop import STOP

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        if STOP.signum:  # the second one: give up now (the output's temporary is removed)
            raise KeyboardInterrupt
        STOP.request(signum)
        if parallel:
            from k4mlinference.framework.executors import stop_children

            stop_children(signal.SIGTERM)

    STOP.clear()
    STOP.keep_output = keep_output
    saved = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in saved.items():
            signal.signal(s, h)
        STOP.keep_output = True


def _strip_tool_options(rest: list[str]) -> list[str]:
    """The command line minus the options that only the parent k4run uses."""
    out, skip = [], False
    for a in rest:
        if skip:
            skip = False
            continue
        flag = a.split("=", 1)[0]
        if flag in _TOOL_OPTIONS:
            skip = "=" not in a
            continue
        out.append(a)
    return out


def _run_parallel(application: Any, files: list[str], rest: list[str], args: argparse.Namespace) -> int:
    from k4mlinference.framework import app as appmod
    from k4mlinference.framework.eventloop import format_timing
    from k4mlinference.framework.executors import make_executor, run_chunks

    io, mgr = application.iosvc, application.app
    evt_max = int(mgr.get_property("EvtMax"))
    first = int(io.get_property("FirstEventEntry"))
    inputs = io.get_property("Input")
    if inputs:
        from k4mlinference.io import Reader

        with Reader(inputs) as r:
            avail = max(r.getEntries("events") - first, 0)
        total = avail if evt_max < 0 else min(evt_max, avail)
    else:
        if evt_max < 0:
            raise ConfigurationError("no input files and EvtMax = -1: give the number of events with -n N")
        total = evt_max
    output = io.get_property("Output")
    argv = [os.path.abspath(f) for f in files] + _strip_tool_options(rest)
    t0 = time.perf_counter()
    with make_executor(args.executor, args.ncpus, args.scheduler, args.shared_dir) as ex:
        n_chunks = args.ncpus if args.ncpus > 1 or args.scheduler is None else ex.workers
        res = run_chunks(
            ex,
            argv,
            total,
            first,
            output,
            n_chunks,
            io.name,
            appmod.option_lines(application),
            output_type=io.get_property("OutputType"),
        )
    for line in format_timing(res["timing"], total):
        messages.emit("TimingTable", messages.INFO, line)
    messages.emit(
        "ApplicationMgr",
        messages.INFO,
        f"processed {total} events in {time.perf_counter() - t0:.2f} s "
        f"({args.executor}, {n_chunks} chunks)" + (f", merged into {res['output']}" if res["output"] else ""),
    )
    if res.get("stopped_by"):
        signum = res["stopped_by"]
        sys.stderr.write(
            f"k4run: stopped by {signal.Signals(signum).name}; the workers were stopped and their chunks "
            "removed, no output written\n"
        )
        return 128 + signum
    if res["failed"]:
        from k4mlinference.framework.executors import ChunkError

        raise ChunkError(f"{len(res['failed'])} chunk(s) failed after one retry: " + "; ".join(res["failed"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
