"""Taking turns at accepting (api.balanced): the rule, and the count each worker publishes."""

from __future__ import annotations

from api.balanced import MAX_DEFER_SECONDS, CountingSet, _Load, may_accept


def test_a_worker_accepts_while_it_holds_no_more_than_the_least_loaded_other() -> None:
    assert may_accept([0, 0], 0, None)
    assert may_accept([2, 2, 5], 0, None)
    assert may_accept([1, 2], 0, None)
    assert not may_accept([3, 2], 0, None)
    assert not may_accept([2, 5, 1], 1, None)
    assert may_accept([7], 0, None)  # a lone worker always accepts


def test_stepping_aside_is_bounded() -> None:
    assert not may_accept([3, 0], 0, MAX_DEFER_SECONDS / 2)
    assert may_accept([3, 0], 0, MAX_DEFER_SECONDS)


def test_the_published_count_follows_connections_and_those_being_handed_over() -> None:
    shared = [9, 4]  # a dead worker's stale count is reset by its successor
    load = _Load(shared, 0)
    assert shared == [0, 4]
    connections = CountingSet(load)
    connections.add("a")
    connections.add("b")
    connections.add("b")
    assert shared == [2, 4]
    load.pending += 1
    load.publish()
    assert shared == [3, 4]
    connections.discard("a")
    connections.discard("a")
    connections.remove("b")
    assert shared == [1, 4]
