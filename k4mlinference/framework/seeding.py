"""Per-event random numbers: the convention that makes parallel runs equal serial ones."""

from __future__ import annotations

import numpy as np


def event_rng(seed: int, event_number: int) -> np.random.Generator:
    """The random generator of one event: independent of how events are split into jobs."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, max(int(event_number), 0)])
