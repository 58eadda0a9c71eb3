"""Small-count suppression for published statistics (no Flask, no database).

A published cell of a handful of complaints can point at one shopper (one complaint about
the one furniture shop of a village), so a cell counting fewer than `minimum` cases is not
published. Suppressing those alone is not enough when the total is published: the total
minus the published cells gives back the suppressed ones. So more cells are suppressed,
smallest first, until the suppressed cells together count at least `minimum` cases; what
can then be worked out is a sum of several cells that is itself not small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    count: int
    suppressed: bool


def suppress(counts: Sequence[int], minimum: int) -> list[Cell]:
    """`counts[0]` is the total and `counts[1:]` its parts (which add up to it); the cells
    in the same order, each suppressed or not."""
    if not counts:
        return []
    total, parts = counts[0], list(counts[1:])
    if total < minimum:
        return [Cell(c, True) for c in counts]
    hidden = {i for i, c in enumerate(parts) if c < minimum}
    shown = sorted((i for i in range(len(parts)) if i not in hidden), key=lambda i: (parts[i], i))
    while hidden and sum(parts[i] for i in hidden) < minimum and shown:
        hidden.add(shown.pop(0))
    return [Cell(total, False), *(Cell(c, i in hidden) for i, c in enumerate(parts))]
