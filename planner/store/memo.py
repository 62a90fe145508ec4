"""A small cache of what a key (a store version, a scope...) gives, kept for the last few keys, safe across the
dashboard's threads: the facts of a view, the H3 cells of the accounts, a rep's book-wide figures."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Kept(Generic[T]):
    """The values of the last `keep` keys, the least recently used forgotten first. Built outside the lock (two
    threads may build the same key once each; the last one kept wins, both values being the same)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._values: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = build()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.keep:
                self._values.popitem(last=False)
        return value
