"""Group commit: concurrent callers' writes share transactions, and each learns its own result."""

import threading
from collections.abc import Sequence

import pytest

from sales_pipeline.store.group_commit import GroupCommit


class _Writes:
    """A stand-in transaction log: the groups written, in order; the first group waits until
    every caller has queued, so the test decides what is grouped."""

    def __init__(self, release: threading.Event, fail_first: bool = False) -> None:
        self.groups: list[list[int]] = []
        self.started = threading.Event()
        self._release = release
        self._fail_first = fail_first

    def write(self, items: Sequence[int]) -> list[int]:
        self.groups.append(list(items))
        if len(self.groups) == 1:
            self.started.set()
            assert self._release.wait(timeout=30)
            if self._fail_first:
                raise RuntimeError("disk full")
        return [item * 10 for item in items]


def _submit_all(writes: _Writes, items: list[int], release: threading.Event) -> dict[int, object]:
    """Submit ``items[0]``; once its write has begun, the others; release the write once they
    are all queued behind it. Each item's result or error."""
    commit = GroupCommit(writes.write)
    outcomes: dict[int, object] = {}

    def submit(item: int) -> None:
        try:
            outcomes[item] = commit.submit(item)
        except RuntimeError as error:
            outcomes[item] = error

    first = threading.Thread(target=submit, args=(items[0],))
    first.start()
    assert writes.started.wait(timeout=30)
    others = [threading.Thread(target=submit, args=(item,)) for item in items[1:]]
    for thread in others:
        thread.start()
    while len(commit._queue) < len(items) - 1:  # the callers behind the first have queued
        threading.Event().wait(0.001)
    release.set()
    for thread in [first, *others]:
        thread.join(timeout=60)
    return outcomes


def test_callers_queued_behind_a_write_are_written_together_and_get_their_own_results() -> None:
    release = threading.Event()
    writes = _Writes(release)
    outcomes = _submit_all(writes, [1, 2, 3, 4, 5], release)
    assert outcomes == {1: 10, 2: 20, 3: 30, 4: 40, 5: 50}
    assert writes.groups[0] == [1]
    assert sorted(writes.groups[1]) == [2, 3, 4, 5]
    assert len(writes.groups) == 2


def test_a_failed_write_fails_its_own_callers_only() -> None:
    release = threading.Event()
    writes = _Writes(release, fail_first=True)
    outcomes = _submit_all(writes, [1, 2, 3], release)
    assert isinstance(outcomes[1], RuntimeError)
    assert (outcomes[2], outcomes[3]) == (20, 30)


def test_a_caller_alone_writes_at_once() -> None:
    def write(items: Sequence[int]) -> list[str]:
        return [str(item) for item in items]

    commit = GroupCommit(write)
    assert commit.submit(7) == "7"
    assert commit.submit(8) == "8"


def test_a_write_that_raises_reaches_the_caller() -> None:
    def broken(items: Sequence[int]) -> list[int]:
        raise OSError("no space")

    with pytest.raises(OSError, match="no space"):
        GroupCommit(broken).submit(1)
