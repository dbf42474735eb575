"""Deadlines for requests: one thread that calls each callback when its deadline passes, unless it was
cancelled first.

A ``threading.Timer`` per request would do the same with a new thread for every request (two for a request
with a body); a cold run makes thousands of requests, and starting their threads cost it more CPU than
parsing the pages.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Watch:
    """One registered deadline; :meth:`Watchdog.cancel` it when the work finished in time."""

    __slots__ = ("call", "when")

    def __init__(self, when: float, call: Callable[[], None]) -> None:
        self.when = when
        self.call: Callable[[], None] | None = call


class Watchdog:
    """Calls each ``call`` registered with :meth:`watch` at its ``time.monotonic()`` deadline, on one
    daemon thread started on first use (a call that is already running when cancelled runs to its end, as
    with ``threading.Timer``)."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._generation = 0  # bumped by stop(): a thread of an older generation ends
        self._running: int | None = None  # the generation whose thread runs

    def watch(self, when: float, call: Callable[[], None]) -> Watch:
        watch = Watch(when, call)
        with self._cv:
            heapq.heappush(self._heap, (when, next(self._order), watch))
            if self._running != self._generation:
                self._running = self._generation
                threading.Thread(target=self._run, args=(self._generation,), daemon=True,
                                 name=f"nixgen-deadlines-{id(self):x}").start()
            elif self._heap[0][2] is watch:
                self._cv.notify_all()  # the new deadline is the nearest
        return watch

    def cancel(self, watch: Watch) -> None:
        with self._cv:
            watch.call = None

    def stop(self) -> None:
        """End the thread (pending deadlines are dropped); a later :meth:`watch` starts a new one."""
        with self._cv:
            self._generation += 1
            self._heap.clear()
            self._cv.notify_all()

    def _run(self, generation: int) -> None:
        with self._cv:
            while generation == self._generation:
                while self._heap and self._heap[0][2].call is None:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cv.wait()
                    continue
                left = self._heap[0][0] - time.monotonic()
                if left > 0:
                    self._cv.wait(left)
                    continue
                watch = heapq.heappop(self._heap)[2]
                call, watch.call = watch.call, None
                if call is not None:
                    self._cv.release()
                    try:
                        call()
                    finally:
                        self._cv.acquire()
