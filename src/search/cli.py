"""``hindi-search``: the command line. ``ingest``, ``embed``, ``query``, ``serve`` and ``settings``;
``--version``.

Exit status of ``ingest``: 0 every record landed, 1 some were rejected
(reported on stderr with line numbers, and in ``--rejects`` FILE), 2 usage
or I/O error, 3 stopped by SIGTERM/SIGINT (what was read is committed),
4 the index could not be written (disk full, read-only, permission denied;
the last commit stays searchable), 5 the index is damaged or the directory is
not an index (nothing written; ``--rebuild`` builds a new one), 75 another
ingest held the index longer than ``--wait`` (EX_TEMPFAIL: a scheduler may
simply try again next time). Of ``query``
(as grep): 0 something found, 1 nothing found, 2 a bad query or filter, or no index.
Of every command: 3 stopped by SIGTERM/SIGINT, 78 a setting (``SEARCH_*``) has a
value it cannot take (EX_CONFIG: one line names the variable; nothing was done).

This module imports only the standard library and :mod:`search.config` at the
top: :func:`main` installs the signal handlers first, then loads the rest (Whoosh,
numpy, Flask take half a second), so a signal at any moment after the first
line of the program is handled the same way.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Iterator, Sequence

from . import version
from .config import SECRET_SETTINGS, SETTINGS_HELP, Settings, SettingsError

if TYPE_CHECKING:
    from .documents import InputProgress, Reject
    from .indexing import IngestReport
    from .searching import Hit

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 75
EXIT_INTERRUPTED, EXIT_STORAGE, EXIT_DAMAGED = 3, 4, 5
#: A setting cannot be read (EX_CONFIG of sysexits.h): a status no other failure has.
EXIT_CONFIG = 78
#: ``embed``: the model cannot run here (the semantic extra is missing, or the CPU lacks what it needs).
EXIT_UNAVAILABLE = 69
#: The reader of the output went away (``hindi-search settings | head``): 128 + SIGPIPE, as a shell reports it.
EXIT_BROKEN_PIPE = 141
#: Errors that mean the index's disk or directory refuses writes, whatever the file.
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}
DEFAULT_PROCS = max(1, min(os.cpu_count() or 1, 4))


class _Rejects:
    """Reports each reject on stderr (unless a rejects file takes them) and in the rejects file."""

    def __init__(self, path: str | None) -> None:
        self.file: IO[str] | None = open(path, "w", encoding="utf-8") if path else None

    def __call__(self, reject: Reject) -> None:
        if self.file is None:
            print(f"{reject.source}:{reject.line}: rejected: {reject.reason}", file=sys.stderr)
        else:
            self.file.write(json.dumps(reject.as_dict(), ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class _ProgressBar:
    """A one-line progress bar on stderr, redrawn at most 5 times a second."""

    WIDTH = 24

    def __init__(self, inputs: InputProgress) -> None:
        self.inputs = inputs
        self.started = time.monotonic()
        self.drawn = 0.0

    def __call__(self, report: IngestReport) -> None:
        now = time.monotonic()
        if now - self.drawn < 0.2 and report.seconds == 0:
            return
        self.drawn = now
        total = max(self.inputs.files_total, 1)
        filled = int(self.WIDTH * self.inputs.files_done / total)
        rate = report.read / max(now - self.started, 1e-6)
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.inputs.files_done}/{self.inputs.files_total} files, "
            f"{report.read:,} read, {report.rejected:,} rejected, {rate:,.0f} docs/s  {self.inputs.current[-40:]}"
        )
        end = "\n" if report.seconds else ""
        sys.stderr.write("\r" + line[:160].ljust(160) + end)
        sys.stderr.flush()


class _Signals:
    """SIGTERM and SIGINT, handled from the program's first moment to its last.

    Python's defaults would kill the process (SIGTERM: no report, status -15)
    or raise KeyboardInterrupt wherever the program happens to be (SIGINT: a
    traceback, status 1), also while it is still importing or after its report.
    Here a signal is only *noted* (the command ends with status 3) except:

    - while an ingest runs (:meth:`stoppable`): the first asks it to stop at the
      next record, commit what it has read (so it ends at a batch boundary) and
      report; a second stops it at once, cancelling the batch in progress (the
      last commit stays);
    - while another command runs (:meth:`interruptible`): the first stops it.

    Either raises KeyboardInterrupt once, only inside the block that expects it.
    A signal before the command starts means it does not start.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: int | None = None
        #: When a signal raises KeyboardInterrupt: never, on the first one, or on one after the first.
        self._raise: str = "never"
        self._previous: dict[int, Any] = {}

    def __call__(self) -> bool:
        """Has a signal come (the ``stop`` an ingest asks before each record)?"""
        return self.received is not None

    def _handle(self, signum: int, frame: Any) -> None:
        earlier = self.received is not None
        if not earlier:
            self.received = signum
        if self._raise == "always" or (self._raise == "after_first" and earlier):
            self._raise = "never"  # once: a flood of signals must not interrupt the clean-up
            raise KeyboardInterrupt

    def install(self) -> "_Signals":
        if threading.current_thread() is threading.main_thread():  # only there can Python handle signals
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}

    def ignore_from_now(self) -> None:
        """The exit status is decided: later signals are ignored. (Not restored: at
        its very end CPython resets every Python handler to the default, which
        would let a last SIGTERM kill the process with status -15; an ignored
        signal stays ignored.)"""
        if self._previous:
            for s in self.SIGNALS:
                signal.signal(s, signal.SIG_IGN)

    @contextmanager
    def _raising(self, when: str) -> Iterator["_Signals"]:
        self._raise = when
        try:
            yield self
        finally:
            self._raise = "never"

    def stoppable(self) -> Any:
        """Around an ingest: the first signal stops it at a record, a second at once."""
        return self._raising("after_first")

    def interruptible(self) -> Any:
        """Around a command that stops at once (a query, the server)."""
        return self._raising("always")


def is_storage_error(exc: OSError, index: str) -> bool:
    """Is ``exc`` the index's storage refusing a write (full, read-only, forbidden)?"""
    if exc.errno in _STORAGE_ERRNOS:
        return True
    where = os.path.abspath(exc.filename) if isinstance(exc.filename, str) else ""
    inside = where == os.path.abspath(index) or where.startswith(os.path.abspath(index) + os.sep)
    return inside and exc.errno in (errno.EACCES, errno.EPERM)


def _print_report(args: argparse.Namespace, index: str, report: IngestReport) -> None:
    """The report on stdout: one JSON object (``--json``), a summary with notes, or nothing (``--quiet``)."""
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    elif not args.quiet:
        print(f"ingest into {index}: {report.summary()}")
        for note in report.notes:
            print(f"note: {note}")
        if report.rejected and args.rejects:
            print(f"{report.rejected} rejected record(s) written to {args.rejects}")


def cmd_ingest(args: argparse.Namespace) -> int:
    from .documents import InputProgress, parse_field_map
    from .engine import IndexLocked, IndexUnavailable, IndexWriteFailed
    from .indexing import IngestReport, VocabularyNotSaved, ingest, read_inputs

    settings = Settings.load({"index": args.index})
    stop: _Signals = args.signals
    if stop():  # a signal while the program was starting: nothing is read or written
        return _report_ingest(args, settings.index, IngestReport(interrupted=True), stop)
    if not args.inputs and not args.delete:
        print("ingest: error: give input files, directories or -, or --delete ID", file=sys.stderr)
        return EXIT_USAGE
    for name, value, least in (("--batch-size", args.batch_size, 1), ("--procs", args.procs, 1), ("--wait", args.wait, 0)):
        if value < least:
            print(f"ingest: error: {name} must be at least {least}, not {value:g}", file=sys.stderr)
            return EXIT_USAGE
    try:
        field_map = parse_field_map(args.map or "", "" if args.date_format == "YYYY-MM-DD" else args.date_format)
        rejects = _Rejects(args.rejects)
    except (ValueError, OSError) as exc:
        print(f"ingest: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    progress = InputProgress()
    bar = _ProgressBar(progress) if not (args.quiet or args.json) and sys.stderr.isatty() else None
    try:
        items = read_inputs(args.inputs, field_map=field_map, stdin_format=args.format, progress=progress)
        with stop.stoppable():
            report = ingest(
                items,
                settings.index,
                batch_size=args.batch_size,
                max_segments=args.max_segments,
                procs=args.procs,
                delete_ids=args.delete or (),
                prune=args.prune,
                wait=args.wait,
                on_reject=rejects,
                on_progress=bar,
                stop=stop,
                rebuild=args.rebuild,
            )
    except IndexLocked as exc:
        print(f"ingest: error: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except KeyboardInterrupt:
        print("ingest: stopped by a second signal; the batch in progress was cancelled, "
              "the last commit stays: re-run the job", file=sys.stderr)
        return EXIT_INTERRUPTED
    except IndexUnavailable as exc:
        print(f"ingest: error: {exc}; nothing was written", file=sys.stderr)
        return EXIT_DAMAGED
    except VocabularyNotSaved as exc:
        if exc.report is not None:
            _print_report(args, settings.index, exc.report)
        print(
            f"ingest: error: cannot write the vocabulary at {settings.index!r}: {exc.strerror}"
            f"{f' ({exc.filename})' if exc.filename else ''}; the documents reported are committed and "
            "searchable, but /suggest and did-you-mean keep the previous word list until the next ingest "
            "rebuilds it: free space or fix permissions, then re-run",
            file=sys.stderr,
        )
        return EXIT_STORAGE
    except OSError as exc:
        if not is_storage_error(exc, settings.index):
            print(f"ingest: error: {exc}; the batch in progress was not committed, re-run the job", file=sys.stderr)
            return EXIT_USAGE
        print(
            f"ingest: error: cannot write the index at {settings.index!r}: {exc.strerror or exc}"
            f"{f' ({exc.filename})' if exc.filename else ''}; the batch in progress was not committed, "
            "the index keeps its last commit and stays searchable: free space or fix permissions, then re-run",
            file=sys.stderr,
        )
        return EXIT_STORAGE
    except (ValueError, IndexWriteFailed) as exc:
        print(f"ingest: error: {exc}; the batch in progress was not committed, re-run the job", file=sys.stderr)
        return EXIT_USAGE
    finally:
        rejects.close()
    return _report_ingest(args, settings.index, report, stop)


def _report_ingest(args: argparse.Namespace, index: str, report: IngestReport, stop: _Signals) -> int:
    """Print the report (stdout) and what a stop means (stderr); the exit status."""
    _print_report(args, index, report)
    if report.interrupted:
        print(f"ingest: stopped by signal {stop.received}: the records read so far are committed; "
              "re-run the job to finish it", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_REJECTED if report.rejected else EXIT_OK


#: Terminal colours: a match in black on yellow, a title in bold.
_MARK_ON, _BOLD, _RESET = "\x1b[30;43m", "\x1b[1m", "\x1b[0m"


def use_colour(choice: str, stream: IO[str]) -> bool:
    """``auto``: colour only on a terminal, and not when ``NO_COLOR`` is set (no-color.org)."""
    if choice != "auto":
        return choice == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR")


def terminal_text(fragment: str, colour: bool) -> str:
    """A snippet or title (HTML with ``<mark>``) for a terminal: matches in colour, or plain.

    >>> terminal_text("<mark>किसान</mark> &amp; मजदूर", colour=False)
    'किसान & मजदूर'
    >>> terminal_text("<mark>किसान</mark>", colour=True) == _MARK_ON + "किसान" + _RESET
    True
    """
    from .exporting import plain_text

    if colour:  # the document's own text is escaped, so every literal <mark> is ours
        fragment = fragment.replace("<mark>", _MARK_ON).replace("</mark>", _RESET)
    return plain_text(fragment)


def _print_table(hits: list[Hit], colour: bool, out: IO[str]) -> None:
    bold, reset = (_BOLD, _RESET) if colour else ("", "")
    for number, hit in enumerate(hits, 1):
        title = terminal_text(hit.title_html, colour)
        if colour:  # keep the title bold after each highlighted word
            title = title.replace(_RESET, _RESET + bold)
        print(f"{number:>3}. {bold}{title}{reset}", file=out)
        meta = " · ".join(v for v in (hit.source, hit.published, hit.category, hit.id, hit.url) if v)
        print(f"     {meta}", file=out)
        print(f"     {terminal_text(hit.snippet, colour)}", file=out)
        print(file=out)


def cmd_query(args: argparse.Namespace) -> int:
    from .engine import IndexUnavailable
    from .exporting import csv_chunks
    from .searching import FilterError, QueryError, SearchRequest, SearchService, SearchTimeout, SemanticOff

    settings = Settings.load({"index": args.index})
    if not 1 <= args.limit <= settings.export_max_rows:
        print(f"query: error: --limit must be 1 … {settings.export_max_rows}", file=sys.stderr)
        return EXIT_USAGE
    service = SearchService(settings)
    request = SearchRequest(q=args.query, per_page=args.limit, filter=args.filter, sort=args.sort, mode=args.mode)
    try:
        response = service.search(request)
    except (QueryError, FilterError, SearchTimeout, IndexUnavailable, SemanticOff) as exc:
        kind = "filter: " if isinstance(exc, FilterError) else ""
        print(f"query: error: {kind}{exc}", file=sys.stderr)
        return EXIT_USAGE
    out = sys.stdout
    if args.format == "json":
        print(json.dumps(response.as_dict(), ensure_ascii=False, indent=2), file=out)
    elif args.format == "csv":
        out.writelines(csv_chunks(response.hits, for_spreadsheets=False))
    else:
        colour = use_colour(args.color, out)
        _print_table(response.hits, colour, out)
        shown = f"{len(response.hits)} of {response.total}" if response.total > len(response.hits) else str(response.total)
        print(f"{shown} documents · {response.took_ms:.0f} ms · parsed: {response.parsed}", file=out)
        if response.suggestion:
            print(f"did you mean: {response.suggestion}", file=out)
    return EXIT_OK if response.total else EXIT_REJECTED


def _gunicorn_missing() -> str | None:
    """Why gunicorn cannot serve here (the ``serve`` extra is not installed), or None."""
    try:
        import gunicorn  # noqa: F401
    except ImportError as exc:
        return f"gunicorn is not installed ({exc}): pip install 'hindi-search[serve]'"
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the API: gunicorn with the shipped configuration (``search.serving``), or
    Flask's development server with ``--dev`` or where gunicorn is not installed."""
    settings = Settings.load({"index": args.index})  # a bad setting: one line, status 78, before anything starts
    if args.workers is not None and args.dev:
        print("serve: error: --workers and --dev exclude each other (the development server is one process)", file=sys.stderr)
        return EXIT_USAGE
    if args.workers is not None and args.workers < 1:
        print(f"serve: error: --workers must be at least 1, not {args.workers}", file=sys.stderr)
        return EXIT_USAGE
    missing = None if args.dev else _gunicorn_missing()
    if missing and args.workers is not None:
        print(f"serve: error: --workers needs gunicorn, which cannot run: {missing} (or use --dev)", file=sys.stderr)
        return EXIT_USAGE
    url = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}"
    server = "the development server" if args.dev or missing else "gunicorn"
    print(
        f"Serving {settings.index} at {url}/ with {server}  (open it in a browser, or try: "
        f"curl -G {url}/search --data-urlencode 'q=भारत')",
        flush=True,
    )
    if args.dev or missing:
        if missing:
            print(f"serve: note: {missing}; using Flask's development server, not for production", file=sys.stderr, flush=True)
        from .web import create_app

        app = create_app({"index": settings.index})
        app.run(host=args.host, port=args.port, threaded=True)
        return EXIT_OK
    # gunicorn takes over this process: its master handles the signals (SIGTERM: a
    # graceful stop, workers finish their requests) and its exit status is ours.
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:search.serving", "-b", url.removeprefix("http://")]
    if args.workers is not None:
        argv += ["-w", str(args.workers)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, {**os.environ, "SEARCH_INDEX": settings.index})
    return EXIT_OK  # not reached


class _EmbedBar:
    """``embed``'s progress line on stderr: done of to do, rate, time left."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.drawn = 0.0

    def __call__(self, done: int, todo: int) -> None:
        now = time.monotonic()
        if now - self.drawn < 0.2 and done < todo:
            return
        self.drawn = now
        rate = done / max(now - self.started, 1e-6)
        left = (todo - done) / rate if rate else 0.0
        filled = int(24 * done / max(todo, 1))
        line = (f"[{'#' * filled}{'.' * (24 - filled)}] {done:,}/{todo:,} documents embedded, {rate:,.1f}/s, "
                f"{int(left // 3600)}:{int(left % 3600 // 60):02d}:{int(left % 60):02d} left")
        sys.stderr.write("\r" + line.ljust(100) + ("\n" if done >= todo else ""))
        sys.stderr.flush()


def cmd_embed(args: argparse.Namespace) -> int:
    """Embed the committed documents that have no vector of their version yet."""
    from .embedding import E5Embedder, SemanticUnavailable, embed_index, semantic_status
    from .engine import IndexUnavailable, open_index
    from .vectors import VectorsLocked

    settings = Settings.load({"index": args.index})
    stop: _Signals = args.signals
    if min(args.procs, args.batch, args.commit_every) < 1:
        print("embed: error: --procs, --batch and --commit-every must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    reason = semantic_status()
    if reason:
        print(f"embed: error: semantic search is unavailable: {reason}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        index = open_index(settings.index)
    except IndexUnavailable as exc:
        print(f"embed: error: {exc}", file=sys.stderr)
        return EXIT_DAMAGED
    try:
        embedder = E5Embedder(threads=1, max_tokens=settings.embed_tokens, processes=args.procs)
    except SemanticUnavailable as exc:
        print(f"embed: error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    bar = _EmbedBar() if not (args.quiet or args.json) and sys.stderr.isatty() else None
    try:
        report = embed_index(
            index, embedder, batch=args.batch, commit_every=args.commit_every, timeout=args.wait,
            on_progress=bar, should_stop=stop,
        )
    except VectorsLocked as exc:
        print(f"embed: error: {exc}; waited {args.wait:g} s", file=sys.stderr)
        return EXIT_LOCKED
    except OSError as exc:
        print(f"embed: error: {exc}; the vectors reported before are committed, re-run the job", file=sys.stderr)
        return EXIT_STORAGE
    finally:
        embedder.close()
        index.close()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    elif not args.quiet:
        print(f"embed into {settings.index}: {report.summary()}")
    return EXIT_INTERRUPTED if report.interrupted else EXIT_OK


def cmd_settings(args: argparse.Namespace) -> int:
    current = Settings.load()
    for name, (default, help_text) in SETTINGS_HELP.items():
        value = getattr(current, name)
        if name in SECRET_SETTINGS:  # a key is never printed: only whether one is set
            value = "(set)" if value else ""
        print(f"SEARCH_{name.upper():<20} = {value!r:<12} (default {default!r}) {help_text}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from .documents import FORMATS
    from .indexing import MAX_SEGMENTS
    from .searching import MODES, SORTS

    parser = argparse.ArgumentParser(prog="hindi-search", description="Hindi full-text search.")
    parser.add_argument("--version", action="version", version=f"hindi-search {version()}",
                        help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser(
        "ingest",
        help="add, update, delete documents",
        description="Add, update and delete documents. Exit status: 0 clean, 1 some records rejected, "
        "2 usage or I/O error, 3 stopped by SIGTERM/SIGINT (what was read is committed), "
        "4 the index could not be written (disk full, read-only, permission denied), "
        "5 the index is damaged or the directory holds no index but other files (see --rebuild), "
        "75 the index was locked by another ingest for longer than --wait.",
    )
    p.add_argument(
        "inputs", nargs="*", metavar="PATH",
        help="files (.jsonl .csv .txt .html .htm, each optionally .gz), directories (read recursively), or - for stdin",
    )
    p.add_argument("--index", help="index directory (default: $SEARCH_INDEX or index/)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--quiet", action="store_true", help="print nothing but rejects")
    p.add_argument("--map", metavar="FIELD=COLUMN,...", help="take a field from another column/key, e.g. body=text,title=headline")
    p.add_argument("--date-format", default="YYYY-MM-DD", metavar="FORMAT",
                   help="how the input's dates are written: YYYY-MM-DD (default), DD/MM/YYYY or DD-MM-YYYY "
                        "(day first, as in India; never guessed)")
    p.add_argument("--format", default="jsonl", choices=sorted(set(FORMATS.values())), help="format of stdin (default jsonl)")
    p.add_argument("--delete", nargs="+", action="extend", metavar="ID", help="delete these document ids")
    p.add_argument("--prune", action="store_true", help="full sync: delete documents of the sources seen that this run did not see")
    p.add_argument("--batch-size", type=int, default=20000, metavar="N", help="commit every N changes (default 20000)")
    p.add_argument(
        "--max-segments", type=int, default=MAX_SEGMENTS, metavar="N",
        help="merge the index into one segment at the end of a run that leaves more than N (default 0: never; "
        "1 on a nightly run keeps searches fastest)",
    )
    p.add_argument(
        "--procs", type=int, default=DEFAULT_PROCS, metavar="N",
        help=f"index in N processes when a run adds over 1000 documents (default {DEFAULT_PROCS}: the CPUs, at most 4; 1 = this process only)",
    )
    p.add_argument("--wait", type=float, default=300.0, metavar="SECONDS", help="wait this long for another ingest to finish (default 300), then exit 75")
    p.add_argument(
        "--rebuild", action="store_true",
        help="replace the index (e.g. a damaged one) by a new one holding only this run's documents",
    )
    p.add_argument("--rejects", metavar="PATH", help="write rejected records here as JSON Lines (source, line, reason, raw)")
    p.set_defaults(func=cmd_ingest)

    p = commands.add_parser(
        "embed",
        help="embed the documents that have no meaning vector yet (hybrid search)",
        description="Embed every committed document without a vector of its current version, drop the vectors "
        "of replaced and deleted documents, and exit: run it after ingest (cron, CI). Resumable: a killed run "
        "keeps what it committed. Exit status: 0 done, 2 usage, 3 stopped by SIGTERM/SIGINT (what was embedded "
        "is committed), 4 the vectors could not be written, 5 no index, 69 the model cannot run here (install "
        "the semantic extra), 75 another embed held the vectors for longer than --wait.",
    )
    p.add_argument("--index", help="index directory (default: $SEARCH_INDEX or index/)")
    p.add_argument("--procs", type=int, default=min(DEFAULT_PROCS, 2), metavar="N",
                   help="embed in N processes of one thread (default: 2, or the CPUs if fewer)")
    p.add_argument("--batch", type=int, default=32, metavar="N", help="passages per model call (default 32)")
    p.add_argument("--commit-every", type=int, default=512, metavar="N",
                   help="commit every N vectors (default 512): what a killed run keeps")
    p.add_argument("--wait", type=float, default=300.0, metavar="SECONDS",
                   help="wait this long for another embed to finish (default 300), then exit 75")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_embed)

    p = commands.add_parser("query", help="search a local index and print the hits (table, json or csv)")
    p.add_argument("query", help='the query, as for /search: words, "phrases", OR, -word, title:word, prefix*')
    p.add_argument("--index", help="index directory (default: $SEARCH_INDEX or index/)")
    p.add_argument("--filter", default="", help='filter, as for /search: category = khel AND published >= 2026-01')
    p.add_argument("--sort", choices=SORTS, default=SORTS[0], help="relevance (default), published (oldest first), -published (newest first; write --sort=-published)")
    p.add_argument("--limit", type=int, default=10, help="most hits to print (default 10)")
    p.add_argument("--mode", choices=MODES, default="auto",
                   help="auto (hybrid for long queries when SEARCH_SEMANTIC=1), lexical, hybrid, semantic")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table",
                   help="table (default; highlights in colour on a terminal), json (as /search), csv (as /export.csv)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour the highlights: auto (on a terminal, unless NO_COLOR is set), always, never")
    p.set_defaults(func=cmd_query)

    p = commands.add_parser(
        "serve",
        help="serve the HTTP API (gunicorn; --dev: the development server)",
        description="Serve the HTTP API and the search page. With gunicorn installed (the serve extra): gunicorn "
        "with the shipped configuration (python:search.serving: one worker process per core, at least 2, 4 "
        "threads each); SIGTERM stops it gracefully. Without it, or with --dev: Flask's development server.",
    )
    p.add_argument("--index", help="index directory (default: $SEARCH_INDEX or index/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="gunicorn worker processes (default: one per core, at least 2); needs gunicorn")
    p.add_argument("--dev", action="store_true", help="Flask's development server (one process, not for production)")
    p.set_defaults(func=cmd_serve)

    p = commands.add_parser("settings", help="list every setting, its value and default")
    p.set_defaults(func=cmd_settings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``hindi-search``. Without ``argv`` this is the program (the console script,
    ``python -m search``): its signal handlers stay until the process ends. Code
    that passes ``argv`` gets its own handlers back when the command returns."""
    return _run(sys.argv[1:] if argv is None else list(argv), whole_process=argv is None)


def ingest_main(argv: Sequence[str] | None = None) -> int:
    """``python ingest.py …`` = ``hindi-search ingest …``."""
    return _run(["ingest", *(sys.argv[1:] if argv is None else argv)], whole_process=argv is None)


def _run(argv: list[str], whole_process: bool) -> int:
    signals = _Signals().install()  # before the imports below, which take half a second
    command = "hindi-search"
    try:
        args = build_parser().parse_args(argv)
        args.signals = signals
        command = args.command
        if command in ("ingest", "embed"):
            status = args.func(args)  # stops at a record boundary and reports, also when stopped already
        elif signals():  # a signal while starting: the command does not start
            status = EXIT_INTERRUPTED
        else:
            with signals.interruptible():
                status = args.func(args)
    except SettingsError as exc:
        print(f"{command}: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:  # the signal that stopped a query or the server
        status = EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of our output stopped reading: stop too, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush goes nowhere
        return EXIT_BROKEN_PIPE
    finally:
        if whole_process:
            signals.ignore_from_now()
        else:
            signals.restore()
    if signals.received is not None and status in (EXIT_OK, EXIT_REJECTED, EXIT_INTERRUPTED):
        if command != "ingest":
            print(f"{command}: stopped by signal {signals.received}", file=sys.stderr)
        elif status != EXIT_INTERRUPTED:
            print(f"ingest: signal {signals.received} came after the run had finished: "
                  "everything read is committed", file=sys.stderr)
        status = EXIT_INTERRUPTED
    return status
