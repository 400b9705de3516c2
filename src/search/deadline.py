"""One time limit per request, checked wherever a search spends its time.

A request gets a :class:`Deadline` when it starts (``SEARCH_QUERY_TIME_LIMIT``
seconds, the exports their own). Everything that can take long is handed the
same deadline and checks it between steps: expanding prefixes, reading and
adding each term's postings, matching phrases segment by segment, scoring,
counting facets, making snippets, writing an export. So the limit covers the
whole answer, not only one part of it, and a query that runs past it is
stopped with :class:`SearchTimeout` (HTTP 503 ``timeout``) rather than holding
a worker.

>>> Deadline(0).expired(), Deadline(60).expired()
(False, False)
>>> Deadline(1e-9).check()
Traceback (most recent call last):
...
search.deadline.SearchTimeout: the search took longer than 1e-09 s and was stopped
"""

from __future__ import annotations

import math
import time

__all__ = ["Deadline", "SearchTimeout", "NO_DEADLINE"]


class SearchTimeout(RuntimeError):
    """A search ran past its time limit and was stopped."""


#: How long an expensive search works between two pauses, and how long it pauses
#: (seconds): it gives up the interpreter and the CPU for a moment.
NICE_SLICE = 0.002
NICE_PAUSE = 0.0005


class Deadline:
    """A point in time a piece of work must finish by; ``seconds`` 0 means none.

    ``nice`` (set while an expensive search runs, see
    :class:`~search.admission.ExpensiveSearches`): every :meth:`check` after
    :data:`NICE_SLICE` of work pauses for :data:`NICE_PAUSE`, giving up the
    interpreter and the CPU, so that the cheap searches of other threads run in
    between instead of waiting for Python's switch interval at every step.
    """

    __slots__ = ("at", "seconds", "nice", "_yielded")

    def __init__(self, seconds: float = 0.0, *, at: float | None = None) -> None:
        self.seconds = seconds
        if at is not None:
            self.at = at
        else:
            self.at = time.perf_counter() + seconds if seconds > 0 else math.inf
        self.nice = False
        self._yielded = 0.0

    def expired(self) -> bool:
        return time.perf_counter() > self.at

    def check(self) -> None:
        """Raise :class:`SearchTimeout` once the deadline has passed."""
        now = time.perf_counter()
        if now > self.at:
            raise SearchTimeout(f"the search took longer than {self.seconds:g} s and was stopped")
        if self.nice and now - self._yielded > NICE_SLICE:
            time.sleep(NICE_PAUSE)  # releases the interpreter and the CPU: a waiting thread takes them
            self._yielded = time.perf_counter()

    def remaining(self) -> float:
        return max(0.0, self.at - time.perf_counter())

    def share(self, fraction: float) -> "Deadline":
        """A deadline for optional work (feedback's second run): ``fraction`` of the
        time left, so the answer still has time for its snippets when it is cut short."""
        if math.isinf(self.at):
            return self
        shared = Deadline(self.seconds, at=time.perf_counter() + fraction * self.remaining())
        shared.nice = self.nice
        return shared


#: For work that has no time limit (ingest, tools, tests).
NO_DEADLINE = Deadline(0)
