"""Test hook: storage faults and crashes, injected where the index writes files.

``SEARCH_FAULT_INJECT=ENOSPC:3`` makes the 3rd file the index storage creates
in this process, and every one after it, fail with OSError(ENOSPC), as a full
disk would; ``EROFS:1`` and ``EACCES:1`` stand for a read-only or forbidden
directory. ``KILL:3`` creates the 3rd file, then kills the process with
SIGKILL (a crash at that point of a commit). A third part ``:vocabulary`` aims
at the vocabulary's side file instead: the Nth save (and every later one)
writes half the file, then fails with the error, or is killed. Counts are per
process (worker processes count their own). Only tests set it
(tests/test_faults.py): it is how they prove a failed or killed write leaves
the last commit searchable and nothing behind, without root rights or a
special filesystem.

Installed when :mod:`search.engine` is imported, and only when the variable is set.
"""

from __future__ import annotations

import errno
import os
import signal
from typing import Any

import whoosh.filedb.filestore


# --------------------------------------------------------------------------
# Test hook: storage faults and crashes. ``SEARCH_FAULT_INJECT=ENOSPC:3`` makes
# the 3rd file the index storage creates in this process, and every one after
# it, fail with OSError(ENOSPC), as a full disk would; ``EROFS:1`` and
# ``EACCES:1`` stand for a read-only or forbidden directory. ``KILL:3`` creates
# the 3rd file, then kills the process with SIGKILL (a crash at that point of
# a commit). A third part ``:vocabulary`` aims at the vocabulary's side file
# instead: the Nth save (and every later one) writes half the file, then fails
# with the error, or is killed. Counts are per process (worker processes count
# their own). Only tests set it (tests/test_faults.py):
# it is how they prove a failed or killed write leaves the last commit
# searchable and nothing behind, without root rights or a special filesystem.
# --------------------------------------------------------------------------

FAULT_INJECT_ENV = "SEARCH_FAULT_INJECT"


def _install_fault_hook(spec: str) -> None:
    """Wrap Whoosh's ``FileStorage.create_file``, or the vocabulary's write, to fail as
    ``spec`` says (``ERRNO:N``, ``KILL:N``, optionally ``:vocabulary``)."""
    what, _, rest = spec.partition(":")
    count, _, target = rest.partition(":")
    what, target = what.strip().upper(), target.strip().lower() or "index"
    kill = what == "KILL"
    code = getattr(errno, what, None)
    if not (kill or isinstance(code, int)) or not count.strip().isdigit() or target not in ("index", "vocabulary"):
        raise ValueError(
            f"{FAULT_INJECT_ENV}={spec!r}: expected ERRNO:N or KILL:N, then optionally :vocabulary, e.g. ENOSPC:3"
        )
    fail_from = int(count)
    calls = 0

    def strike(path: str) -> None:
        if kill:
            os.kill(os.getpid(), signal.SIGKILL)
        raise OSError(code, f"{os.strerror(code)} (injected by {FAULT_INJECT_ENV})", path)

    if target == "vocabulary":
        from .. import vocabulary as module

        write = module._write_text

        def write_text(stream: Any, text: str, path: str) -> None:
            nonlocal calls
            calls += 1
            if calls < fail_from:
                return write(stream, text, path)
            write(stream, text[: len(text) // 2], path)
            stream.flush()
            strike(path)

        module._write_text = write_text  # type: ignore[assignment]
        return

    original = whoosh.filedb.filestore.FileStorage.create_file

    def create_file(storage: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls >= fail_from:
            if kill:
                original(storage, name, *args, **kwargs)
            strike(os.path.join(storage.folder, name))
        return original(storage, name, *args, **kwargs)

    whoosh.filedb.filestore.FileStorage.create_file = create_file  # type: ignore[method-assign]


if os.environ.get(FAULT_INJECT_ENV):
    _install_fault_hook(os.environ[FAULT_INJECT_ENV])
