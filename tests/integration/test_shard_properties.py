"""Property: for any durations, the split is a balanced, deterministic partition (Hypothesis).

Hypothesis's import and its scan of every local module for constants cost each process more
than the unit tests themselves, so the property tests run in the integration session.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import testgate.shard as shard


def _check_partition(plan: shard.Plan, ids: list[str]) -> None:
    seen = [n for g in plan.groups for n in g.node_ids]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    position = {n: i for i, n in enumerate(ids)}
    for g in plan.groups:
        assert [position[n] for n in g.node_ids] == sorted(position[n] for n in g.node_ids)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=0, max_size=60),
    st.integers(min_value=1, max_value=9),
    st.floats(min_value=0, max_value=1),
)
def test_groups_are_a_balanced_partition(weights: list[float], splits: int, known: float) -> None:
    ids = [f"t.py::test_{i}" for i in range(len(weights))]
    cut = int(len(ids) * known)
    durations = dict(zip(ids[:cut], weights[:cut], strict=True))
    plan = shard.split(ids, splits, durations)
    _check_partition(plan, ids)
    assert len(plan.groups) == splits
    assert [g.index for g in plan.groups] == list(range(1, splits + 1))
    assert (
        shard.split(list(reversed(ids)), splits, durations).groups
        == tuple(shard.Group(g.index, tuple(reversed(g.node_ids)), g.seconds) for g in plan.groups)
        or not plan.balanced
    )
    if plan.balanced and plan.mean is not None:
        w = {n: durations.get(n, plan.mean) for n in ids}
        total = sum(w.values())
        biggest = max(w.values())
        # no group is worse than LPT's guarantee: the mean load plus one test
        assert max(g.seconds for g in plan.groups) <= total / splits + biggest + 1e-6
        assert sum(g.seconds for g in plan.groups) == pytest.approx(total)
