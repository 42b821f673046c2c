"""What the fake vendors share with the real clients' ``concurrently``: calls run on up to
``concurrency`` threads, results in the order of the items."""

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class SideBySide:
    """A fake client's ``concurrently``: serial in the caller's thread at a concurrency of 1,
    else on a pool of that many threads (every item runs before the results are handed out,
    which a fake answering at once can afford)."""

    def __init__(self, concurrency: int = 1) -> None:
        self.concurrency = concurrency

    def concurrently(self, work: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self.concurrency <= 1:
            return map(work, items)
        with ThreadPoolExecutor(self.concurrency) as pool:
            return iter(list(pool.map(work, items)))
