"""One thread for every request's deadline (nixgen.pypi.watchdog): a deadline that passes calls its
callback, a cancelled one never does, and a stopped watchdog starts again when used."""

from __future__ import annotations

import threading
import time

from nixgen.pypi.watchdog import Watchdog


def test_a_passed_deadline_calls_back_and_a_cancelled_one_does_not() -> None:
    dog = Watchdog()
    fired = threading.Event()
    cancelled = threading.Event()
    later = dog.watch(time.monotonic() + 0.2, cancelled.set)
    dog.watch(time.monotonic() + 0.05, fired.set)
    dog.cancel(later)
    assert fired.wait(5)
    time.sleep(0.3)  # past the cancelled deadline
    assert not cancelled.is_set()
    dog.stop()


def test_deadlines_are_kept_in_order_on_one_thread() -> None:
    dog = Watchdog()
    seen: list[str] = []
    done = threading.Event()
    now = time.monotonic()
    dog.watch(now + 0.15, lambda: (seen.append("third"), done.set()))
    dog.watch(now + 0.05, lambda: seen.append("first"))
    dog.watch(now + 0.10, lambda: seen.append("second"))
    assert sum(t.name == f"nixgen-deadlines-{id(dog):x}" for t in threading.enumerate()) == 1
    assert done.wait(5)
    assert seen == ["first", "second", "third"]
    dog.stop()


def test_a_stopped_watchdog_drops_its_deadlines_and_works_again() -> None:
    dog = Watchdog()
    dropped = threading.Event()
    dog.watch(time.monotonic() + 0.1, dropped.set)
    dog.stop()
    again = threading.Event()
    dog.watch(time.monotonic() + 0.05, again.set)
    assert again.wait(5)
    time.sleep(0.1)
    assert not dropped.is_set()
    dog.stop()
