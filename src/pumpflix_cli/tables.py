"""How a table fits a terminal: which columns stay and how wide each is.

Every table declares its columns with a priority and a fit. On a terminal narrower than
the table, the least important columns are dropped first, then the cells that may be cut
are shortened with an ellipsis, never below a readable width; ids, statuses, numbers and
times are never cut. Piped output is not fitted at all (scripts read whole values).
Pure: no Rich here, so the rule is tested on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# "whole": never cut (ids, statuses and other short enumerations, numbers, times);
# "name": cut with an ellipsis, never below NAME_WIDTH (or the longest name, if shorter);
# "text": cut with an ellipsis (descriptions, errors, details), never below TEXT_WIDTH;
# "wrap": folded onto more lines, never cut (the values of one object's fields).
Fit = Literal["whole", "name", "text", "wrap"]

NAME_WIDTH = 16
TEXT_WIDTH = 12
WRAP_WIDTH = 20


@dataclass(frozen=True)
class Column:
    header: str
    # 0 is kept longest; when the terminal is too narrow the highest goes first.
    priority: int = 0
    fit: Fit = "whole"


def overhead(count: int) -> int:
    """Width of the borders and padding of a table of ``count`` columns: an edge on each
    side, a rule between columns, one space either side of each cell."""
    return 3 * count + 1


def minimum(column: Column, natural: int) -> int:
    """The narrowest ``column`` may become, its widest cell (or header) being ``natural``."""
    floor = {"whole": natural, "name": NAME_WIDTH, "text": TEXT_WIDTH, "wrap": WRAP_WIDTH}
    return min(natural, max(floor[column.fit], len(column.header)))


def fit_columns(columns: Sequence[Column], natural: Sequence[int], width: int) -> list[int | None]:
    """The width of each column in a table at most ``width`` wide, ``None`` for a dropped
    one. ``natural`` is each column's widest cell, its header included."""
    floors = [minimum(c, n) for c, n in zip(columns, natural, strict=True)]
    kept = list(range(len(columns)))
    while len(kept) > 1 and sum(floors[i] for i in kept) + overhead(len(kept)) > width:
        kept.remove(max(kept, key=lambda i: (columns[i].priority, i)))
    widths: dict[int, int] = {i: natural[i] for i in kept}
    excess = sum(widths.values()) + overhead(len(kept)) - width
    # Wrapped values and cut texts give way first, names last; least important first.
    for fit in ("wrap", "text", "name"):
        for i in sorted(kept, key=lambda i: (-columns[i].priority, -i)):
            if excess <= 0 or columns[i].fit != fit:
                continue
            cut = min(excess, widths[i] - floors[i])
            widths[i] -= cut
            excess -= cut
    if excess > 0 and len(kept) == 1:  # a terminal narrower than any readable column
        widths[kept[0]] = max(1, width - overhead(1))
    return [widths.get(i) for i in range(len(columns))]
