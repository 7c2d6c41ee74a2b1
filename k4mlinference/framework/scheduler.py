"""Execution order from the data flow: an algorithm runs after the producers of its inputs.

TopAlg may list algorithms in any order (as in k4FWCore's non-sequential sequencer); the order is a
stable topological sort of the declared inputs and outputs. Ties keep the TopAlg order, so the
result is deterministic. A FilterPredicate applies to the algorithms listed after it in TopAlg (they
are scheduled after it unless it depends on them) and to the writer.
"""

from __future__ import annotations

import heapq
from typing import Any

from k4mlinference.framework.component import ConfigurationError


def schedule(algorithms: list[Any], available: list[str] | set[str]) -> list[Any]:
    """Order `algorithms` so that every input is produced before it is read.

    `available` are the collections present before any algorithm runs (the input file's).
    Raises ConfigurationError naming the algorithm and collection for a missing producer, two
    producers of one name, or a dependency cycle.
    """
    available = set(available)
    producer: dict[str, int] = {}
    for i, alg in enumerate(algorithms):
        for name in alg.output_names():
            if name in producer:
                other = algorithms[producer[name]]
                raise ConfigurationError(
                    f"collection '{name}' is produced by two algorithms: {other.type_name()}/{other.name} and "
                    f"{alg.type_name()}/{alg.name}; rename one output"
                )
            if name in available:
                raise ConfigurationError(
                    f"collection '{name}' produced by {alg.type_name()}/{alg.name} is already in the input; "
                    "rename the output (or drop the input collection with IOSvc.CollectionNames)"
                )
            producer[name] = i
    deps: list[set[int]] = []
    for alg in algorithms:
        needs: set[int] = set()
        for name in alg.input_names():
            if name in producer:
                needs.add(producer[name])
            elif name not in available:
                from k4mlinference.framework.properties import suggest

                known = sorted(available | set(producer))
                raise ConfigurationError(
                    f"{alg.type_name()}/{alg.name}: input collection '{name}' is produced by no algorithm and is not "
                    f"in the input.{suggest(name, known)} Available: {', '.join(known) or '(none)'}"
                )
        deps.append(needs)
    # A FilterPredicate stops the event for the algorithms listed after it in TopAlg (Gaudi's sequence
    # semantics): they run after the filter, unless the filter itself needs their output.
    for i, alg in enumerate(algorithms):
        if getattr(alg, "kind", "") != "FilterPredicate":
            continue
        ancestors, stack = set(), list(deps[i])
        while stack:
            j = stack.pop()
            if j not in ancestors:
                ancestors.add(j)
                stack.extend(deps[j])
        for j in range(i + 1, len(algorithms)):
            if j not in ancestors:
                deps[j].add(i)
    users: dict[int, list[int]] = {i: [] for i in range(len(algorithms))}
    for i, needs in enumerate(deps):
        for j in needs:
            users[j].append(i)
    pending = [len(d) for d in deps]
    ready = [i for i, n in enumerate(pending) if n == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            pending[u] -= 1
            if pending[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != len(algorithms):
        stuck = [f"{algorithms[i].type_name()}/{algorithms[i].name}" for i in range(len(algorithms)) if i not in order]
        raise ConfigurationError(f"dependency cycle between algorithms: {', '.join(stuck)}")
    return [algorithms[i] for i in order]
