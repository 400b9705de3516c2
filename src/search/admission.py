"""Admission control: a flood of expensive searches cannot starve the cheap ones.

Owns: :class:`ExpensiveSearches` (a budget of estimated work shared by every
worker process of a server, in shared memory), :class:`Busy` (refused: 503
with Retry-After), and :func:`text_cost` (what a query's text alone says it
costs, before it is parsed). The estimates come from the backend
(:meth:`search.engine.backend.Backend.estimate`); the service
(:mod:`search.searching`) admits each search through this.

Must not touch: the index (it counts microseconds, nothing else).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from typing import Iterator

from .deadline import Deadline
from .romanized import is_roman

__all__ = ["Busy", "ExpensiveSearches", "SERVER_ADMISSION", "text_cost", "HIT_COST"]


class Busy(RuntimeError):
    """Every slot for expensive searches in this process is taken (answered 503 with
    Retry-After): so a flood of them cannot starve the cheap searches beside them."""


class ExpensiveSearches:
    """Admission control: the searches that are not cheap share a budget of work.

    Each search's cost is estimated before it runs (microseconds of work, from
    :meth:`Backend.estimate <search.engine.backend.Backend.estimate>` and the query's text, :func:`text_cost`). A
    search estimated at ``cheap`` or less (nearly all of a search box's) is never
    held back. The others run while their estimates together stay within
    ``budget`` (one larger than the whole budget runs alone); one more waits for
    room until its deadline, and any more are refused at once with
    :class:`Busy` (503 with Retry-After). So however many clients flood a
    server with expensive queries, only a bounded amount of such work runs at a
    time, and the threads, the interpreter and the CPU stay free for the cheap
    ones.

    The counters are in shared memory: created before gunicorn forks its
    workers (:mod:`search.serving` does, see :data:`SERVER_ADMISSION`), one
    budget holds for the whole server, not once per worker process (two
    workers each running an expensive search would take both cores of a
    two-core machine).
    """

    #: Processes that may hold part of the budget at once (a server's workers).
    PROCESSES = 256

    def __init__(self, cheap: int, budget: int) -> None:
        self.cheap = cheap
        self.budget = max(budget, 1)
        # Per process: its pid and what its searches hold, so that what a worker
        # killed mid-search held is given back (_reclaim); and the pid of the one waiter.
        self._pids = multiprocessing.Array("q", self.PROCESSES, lock=False)
        self._amounts = multiprocessing.Array("q", self.PROCESSES, lock=False)
        self._waiter = multiprocessing.Value("q", 0, lock=False)
        self._room = multiprocessing.Condition()
        self._holding = threading.local()  # what this thread holds already (a search's several steps)

    @contextlib.contextmanager
    def admit(self, cost: int, deadline: Deadline) -> Iterator[None]:
        """Hold room for the ``with`` block's work, ``cost`` microseconds (:class:`Busy` when none)."""
        held = getattr(self._holding, "amount", 0)
        need = min(cost, self.budget) - held if cost > self.cheap else 0
        if need <= 0:
            yield
            return
        self._take(need, deadline)
        self._holding.amount = held + need
        nice, deadline.nice = deadline.nice, True  # it pauses as it goes, leaving the CPU to cheap searches
        try:
            yield
        finally:
            deadline.nice = nice
            self._holding.amount = held
            with self._room:
                self._add(-need)
                self._room.notify_all()

    def used(self) -> int:
        """The estimated work running now (microseconds), over every process."""
        return sum(a for p, a in zip(self._pids, self._amounts) if p)

    def _add(self, amount: int) -> None:
        """Add to this process's holding (under ``_room``'s lock)."""
        pid = os.getpid()
        slots = list(self._pids)
        at = slots.index(pid) if pid in slots else slots.index(0)
        self._pids[at] = pid
        self._amounts[at] += amount
        if self._amounts[at] <= 0:
            self._pids[at] = self._amounts[at] = 0

    def _reclaim(self) -> None:
        """Give back what dead processes held (a worker killed while it searched)."""
        for at, pid in enumerate(self._pids):
            if pid and pid != os.getpid() and not _alive(pid):
                self._pids[at] = self._amounts[at] = 0
        if self._waiter.value and not _alive(self._waiter.value):
            self._waiter.value = 0

    def _fits(self, need: int) -> bool:
        used = self.used()
        return used + need <= self.budget or used == 0

    def _take(self, need: int, deadline: Deadline) -> None:
        with self._room:
            if not self._fits(need):
                self._reclaim()
            if not self._fits(need):
                if self._waiter.value:
                    raise Busy("too many expensive searches are running; try again in a moment")
                self._waiter.value = os.getpid()
                try:
                    admitted = self._room.wait_for(
                        lambda: self._fits(need), timeout=deadline.remaining() if deadline.seconds else None
                    )
                finally:
                    self._waiter.value = 0
                if not admitted:
                    deadline.check()
                    raise Busy("too many expensive searches are running; try again in a moment")
            self._add(need)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: Set by the server before it starts its worker processes (:mod:`search.serving`):
#: the one admission budget they all share. None: each process has its own.
SERVER_ADMISSION: ExpensiveSearches | None = None


#: What a query's text alone says it will cost, in microseconds, before it is parsed
#: (:func:`text_cost`): a prefix expands to up to ``max_prefix_terms`` terms in title and
#: body, a Latin-script word is read against the index's terms, any word is looked up.
PREFIX_TEXT_COST = 10_000
ROMAN_TEXT_COST = 1_000
WORD_TEXT_COST = 200


def text_cost(q: str) -> int:
    """A lower bound of what searching ``q`` costs, from its text alone (microseconds).

    Parsing a query (reading romanized words, expanding prefixes) is itself work;
    a flood of queries with 150 prefixes or 150 romanized words would keep a
    server's threads busy just being refused. A query whose text says it is
    expensive is admitted (:class:`ExpensiveSearches`) before it is parsed.

    >>> text_cost("भारत रूस"), text_cost("भा* रू*"), text_cost("bharat rus")
    (400, 20400, 2400)
    """
    cost = 0
    for word in q.split():
        cost += WORD_TEXT_COST
        if word.endswith("*"):
            cost += PREFIX_TEXT_COST
        elif is_roman(word.strip('"()-')):
            cost += ROMAN_TEXT_COST
    return cost


#: What one hit shown costs beyond the search, in microseconds (its stored fields, snippet
#: and title), for :class:`ExpensiveSearches`.
HIT_COST = 300
