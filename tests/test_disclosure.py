"""Small-count suppression (api/disclosure.py): no suppressed count can be worked out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pledge_registry.api.disclosure import Cell, suppress


@pytest.mark.parametrize("parts,hidden", [
    ([10, 9], []),
    ([10, 2], [0, 1]),            # one small cell: total - the other would give it back
    ([10, 9, 2, 1], [1, 2, 3]),   # 2 + 1 < 5: the next smallest too
    ([10, 9, 3, 3], [2, 3]),      # 3 + 3 >= 5: enough
    ([4, 4, 4], [0, 1, 2]),
])
def test_suppression(parts: list[int], hidden: list[int]) -> None:
    cells = suppress([sum(parts), *parts], 5)
    assert cells[0] == Cell(sum(parts), False)
    assert [i for i, c in enumerate(cells[1:]) if c.suppressed] == hidden


def test_a_small_total_hides_everything() -> None:
    assert all(c.suppressed for c in suppress([4, 3, 1], 5))


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=12), st.integers(2, 10))
def test_no_suppressed_cell_is_small_alone_or_recoverable(parts: list[int], minimum: int) -> None:
    cells = suppress([sum(parts), *parts], minimum)
    shown = [c.count for c in cells[1:] if not c.suppressed]
    hidden = [c.count for c in cells[1:] if c.suppressed]
    assert all(c >= minimum for c in shown) or cells[0].suppressed
    if not cells[0].suppressed and hidden:
        assert sum(hidden) >= minimum or not shown  # the total minus the shown: a sum that is not small
