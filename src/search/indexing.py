"""Records -> the Whoosh index: add new ids, replace changed ones, skip the rest, delete.

An ingest run is idempotent: each document's content hash is stored, so
re-running a job on the same input writes nothing and reports every record as
unchanged. Bad lines never stop a run; they are counted as rejects (the first
``SEARCH_MAX_REJECTS_KEPT`` kept with their details, so millions of bad lines
cost no memory).

Crash safety: changes are committed every ``batch_size`` documents (sooner
when they hold ``SEARCH_BATCH_MAX_CHARS`` of text: the postings of a batch are
held in memory until it commits), and a
commit only becomes visible when the index's table of contents is renamed
into place, so a ``kill -9`` at any moment leaves the last committed state;
re-running the job completes it. One run at a time: :class:`IngestLock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .analysis import AnalysisOptions, words
from .config import Settings
from .documents import Delete, Item, Record, Reject, read_inputs
from .engine import Backend, IndexLocked, open_or_create
from .vocabulary import VOCABULARY_FILE, Vocabulary, document_texts, fsync_directory

#: ``read_inputs`` is re-exported: it is what ``ingest`` usually reads.
__all__ = ["IngestReport", "IngestLock", "VocabularyNotSaved", "ingest", "read_inputs", "reason_kind", "OUTCOMES"]

#: What became of one input item, as ``on_outcome`` is told (the documents API answers with it):
#: ``superseded``: a later item of the same id in the same input wins; ``not_found``: a delete of an
#: id the index does not hold.
OUTCOMES = ("added", "updated", "unchanged", "superseded", "deleted", "not_found", "rejected")


def reason_kind(reason: str) -> str:
    """The reason without its details, for counting: ``"invalid JSON: …"`` -> ``"invalid JSON"``."""
    return reason.split(":")[0]


@dataclass
class IngestReport:
    """What one ingest run did.

    ``rejected`` and ``rejected_by_reason`` count every bad line; ``rejects``
    keeps the first ``max_rejects_kept`` of them with their details (all of
    them go to ``on_reject`` as they come), so a run over millions of bad
    lines holds no more than that in memory.
    """

    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Records skipped because a later record (or deletion) of the same id follows in the input.
    superseded: int = 0
    deleted: int = 0
    #: The first ``max_rejects_kept`` rejects.
    rejects: list[Reject] = field(default_factory=list)
    rejected: int = 0
    rejected_by_reason: Counter = field(default_factory=Counter)
    max_rejects_kept: int = Settings.max_rejects_kept
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: Stopped early by ``stop`` (SIGTERM/SIGINT): what was read so far is committed.
    interrupted: bool = False

    def reject(self, item: Reject) -> None:
        """Count a bad record, and keep it if fewer than ``max_rejects_kept`` are kept."""
        self.rejected += 1
        self.rejected_by_reason[reason_kind(item.reason)] += 1
        if len(self.rejects) < self.max_rejects_kept:
            self.rejects.append(item)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "superseded": self.superseded,
            "deleted": self.deleted,
            "rejected": self.rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "seconds": round(self.seconds, 3),
            "docs_per_second": round(self.read / self.seconds, 1) if self.seconds else None,
            "notes": self.notes,
            "interrupted": self.interrupted,
        }

    def summary(self) -> str:
        superseded = f", superseded {self.superseded}" if self.superseded else ""
        return (
            f"read {self.read}, added {self.added}, updated {self.updated}, "
            f"unchanged {self.unchanged}{superseded}, deleted {self.deleted}, rejected {self.rejected} "
            f"in {self.seconds:.1f} s"
        )


class IngestLock:
    """One ingest at a time per index directory, held for the whole run.

    Whoosh's own write lock is only held per batch, so two jobs could
    interleave their batches; this lock spans the run. It is an ``flock`` on
    the index directory itself (a read-only descriptor of it): the kernel
    drops it when the holder dies (even by ``kill -9``), so it is never stale,
    and no file can be deleted from under it. (A lock on the file
    ``INGEST.lock`` was lost when the file was deleted: a second run then
    took a lock of its own and deleted the first one's temporary files.)
    ``INGEST.lock`` is only a note of who holds the lock, the holder's pid
    and start time, for the message a waiting job prints.
    """

    def __init__(self, index_dir: str) -> None:
        os.makedirs(index_dir, exist_ok=True)
        self.directory = index_dir
        self.path = os.path.join(index_dir, "INGEST.lock")
        self._fd: int | None = None

    def holder(self) -> str:
        try:
            with open(self.path, encoding="utf-8") as f:
                return f.read().strip() or "unknown"
        except OSError:
            return "unknown"

    def acquire(self, wait: float) -> None:
        """Take the lock, waiting up to ``wait`` seconds; :class:`IndexLocked` after that."""
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise IndexLocked(
                        f"another ingest ({self.holder()}) is writing to {self.directory!r}; "
                        f"gave up after waiting {wait:g} s (--wait)"
                    ) from None
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        try:
            self._note(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        except BaseException:
            os.close(fd)  # closing it releases the lock
            raise
        self._fd = fd

    def _note(self, text: str) -> None:
        """Write ``text`` into ``INGEST.lock`` (created again if it was deleted)."""
        note = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(note, text.encode())
        finally:
            os.close(note)

    def release(self) -> None:
        if self._fd is not None:
            try:
                self._note("")
            except OSError:
                pass  # only the note: the lock goes with the descriptor
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "IngestLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class VocabularyNotSaved(OSError):
    """The documents are committed, but the vocabulary (the word list of /suggest and
    did-you-mean) could not be saved to match: the next ingest rebuilds it from the
    index (:data:`VOCABULARY_DIRTY` stays). ``report``: what the run did until then."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.errno, error.strerror or str(error), error.filename)
        self.error = error
        self.report: IngestReport | None = None


#: Segments a run may leave; more are merged into one at its end. 0 (the
#: default): never. Merging rewrites the whole index (about a minute of CPU
#: and up to 1 GB for hindi-lit's 53k passages) but makes rare-word queries
#: 2-5x faster; ask for it on a nightly run (``--max-segments 1``).
MAX_SEGMENTS = 0

#: Present while an ingest commits and has not yet saved the vocabulary to match.
VOCABULARY_DIRTY = "vocabulary.dirty"


class _CommittedHashes(dict):
    """``{id: content hash}`` of committed documents, looked up one id at a time as asked.

    For a write of a few records into a large index (the documents API): reading every
    hash first is a pass over the whole index per request (seconds at 50,000 documents),
    a lookup by id costs a term lookup. What a batch commits is set and popped as in the
    full mapping; a popped id is remembered as absent, so the lookup of a deleted id
    never asks a writer that has not seen the delete.
    """

    def __init__(self, writer: Callable[[], Any]) -> None:
        super().__init__()
        self._writer = writer  # the batch's current writer (it is reopened after each commit)
        self._absent: set[str] = set()

    def get(self, doc_id: str, default: Any = None) -> Any:  # type: ignore[override]
        if doc_id in self:
            return self[doc_id]
        if doc_id in self._absent:
            return default
        fields = self._writer().stored_fields(doc_id)
        if fields is None:
            self._absent.add(doc_id)
            return default
        self[doc_id] = fields.get("hash", "")
        return self[doc_id]

    def __setitem__(self, doc_id: str, content_hash: str) -> None:
        self._absent.discard(doc_id)
        super().__setitem__(doc_id, content_hash)

    def pop(self, doc_id: str, *default: Any) -> Any:  # type: ignore[override]
        self._absent.add(doc_id)
        return super().pop(doc_id, *default)


class _Batch:
    """The open writer, the changes not yet committed, and the vocabulary kept in step."""

    def __init__(
        self, index: Backend, batch_size: int, workers: int,
        read_ahead: Callable[[], bool] | None = None, fsync: bool = True, max_chars: int = Settings.batch_max_chars,
        look_up_ids: bool = False,
    ) -> None:
        self.index = index
        self.fsync = fsync  # the vocabulary and the dirty marker made durable too
        self.read_ahead = read_ahead  # called while a commit waits for the worker processes
        self.batch_size = batch_size
        self.max_chars = max_chars
        self.chars = 0  # characters of title and body written in this batch
        self.workers = workers  # processes besides this one that index shares of a batch
        self.vocabulary, self.vocabulary_rebuilt = _open_vocabulary(index)
        self.writer = index.writer(timeout=30.0, vocabulary=self.vocabulary, workers=workers)
        # id -> hash, as committed: every one read at once, or each looked up when first asked
        self.known: dict[str, str] = _CommittedHashes(lambda: self.writer) if look_up_ids else self.writer.indexed_hashes()
        self.pending: dict[str, str | None] = {}  # id -> hash written (None: deleted) in this batch

    def touch(self, doc_id: str) -> None:
        """Whoosh cannot change a document twice in one batch: commit first."""
        if doc_id in self.pending:
            self.commit()

    def maybe_commit(self) -> None:
        if len(self.pending) >= self.batch_size or self.chars >= self.max_chars:
            self.commit()

    def previous(self, doc_id: str) -> str | None:
        """The document's hash as this run left it so far (None: not in the index)."""
        return self.pending[doc_id] if doc_id in self.pending else self.known.get(doc_id)

    def uncount(self, doc_id: str) -> None:
        """Take the committed text of ``doc_id`` out of the vocabulary (it is replaced or deleted)."""
        old = self.writer.stored_fields(doc_id)
        if old is not None:
            self.vocabulary.add_document(document_texts(old), sign=-1)

    def save_vocabulary(self) -> None:
        """Save the vocabulary, then drop the dirty marker; :class:`VocabularyNotSaved`
        when it cannot be written (the marker stays, so the next ingest rebuilds it)."""
        try:
            self.vocabulary.save(self.index.path, fsync=self.fsync)
        except OSError as exc:
            raise VocabularyNotSaved(exc) from exc
        dirty = os.path.join(self.index.path, VOCABULARY_DIRTY)
        if os.path.exists(dirty):
            os.remove(dirty)

    def commit(self, *, reopen: bool = True) -> None:
        """Commit, then save the vocabulary; a crash or a failed save in between
        leaves a marker, and the next ingest rebuilds the vocabulary from the index."""
        open(os.path.join(self.index.path, VOCABULARY_DIRTY), "w").close()
        if self.fsync:  # on disk before the commit: a power cut cannot keep the commit and lose the marker
            fsync_directory(self.index.path)
        for counts in self.writer.commit(self.read_ahead):  # the words of the documents worker processes indexed
            self.vocabulary.merge(counts)
        for doc_id, content_hash in self.pending.items():
            if content_hash is None:
                self.known.pop(doc_id, None)
            else:
                self.known[doc_id] = content_hash
        self.pending = {}
        self.chars = 0
        self.save_vocabulary()
        if reopen:
            self.writer = self.index.writer(timeout=30.0, vocabulary=self.vocabulary, workers=self.workers)


def ingest(
    items: Iterable[Item],
    index_dir: str,
    *,
    options: AnalysisOptions | None = None,
    batch_size: int = 20000,
    procs: int = 1,
    delete_ids: Iterable[str] = (),
    prune: bool = False,
    wait: float = 0.0,
    on_reject: Callable[[Reject], None] | None = None,
    on_progress: Callable[[IngestReport], None] | None = None,
    stop: Callable[[], bool] | None = None,
    rebuild: bool = False,
    max_segments: int = MAX_SEGMENTS,
    fsync: bool | None = None,
    on_outcome: Callable[[Item, str], None] | None = None,
    look_up_ids: bool = False,
) -> IngestReport:
    """Write ``items`` to the index at ``index_dir`` (created when missing).

    Commits every ``batch_size`` documents, so a crash loses at most one batch;
    a re-run then finishes the job (unchanged documents are skipped).
    ``delete_ids`` are removed first. With ``prune``, documents of a ``source``
    seen in this run that the run did not see are deleted at the end (a
    full-sync run); pruning is skipped, with a note, when any record was
    rejected, since the run then did not see the whole source.
    ``procs`` > 1 indexes large batches in that many processes.
    ``options`` only matter when the index is new: an existing index keeps
    the analysis it was built with. Raises :class:`IndexLocked` when another
    ingest holds the index longer than ``wait`` seconds, :class:`IndexUnavailable`
    when the index is damaged or the directory holds something else; ``rebuild``
    replaces whatever index is there by a new one holding only this run's documents.
    ``stop`` is asked before each record: when it answers True (a SIGTERM), the
    run commits what it has read so far, so it ends at a batch boundary, and
    returns a report with ``interrupted`` set. With ``max_segments`` > 0, a
    run that changed something and leaves more segments merges them all into
    one at its end (each search runs once per segment: rare-word queries are
    several times faster on one). ``fsync`` (None: the ``SEARCH_FSYNC`` setting)
    flushes every commit to disk before it is reported. When the vocabulary cannot
    be saved after a commit, the run stops there: :class:`VocabularyNotSaved`,
    with the report of what is committed. ``on_outcome`` is told, for each item
    read, what became of it (one of :data:`OUTCOMES`), so the documents API can
    answer record by record; it is called before the commit that makes it
    visible, which happens before ``ingest`` returns. ``look_up_ids`` looks each
    id's committed content hash up as it comes instead of reading every hash
    first: for a few records into a large index (not with ``prune``).
    """
    started = time.perf_counter()
    settings = Settings.load()
    report = IngestReport(max_rejects_kept=settings.max_rejects_kept)
    if fsync is None:
        fsync = bool(settings.fsync)
    with IngestLock(index_dir) as lock:
        lock.acquire(wait)
        index = open_or_create(index_dir, options=options, rebuild=rebuild, fsync=fsync)
        if rebuild:
            for name in (VOCABULARY_FILE, VOCABULARY_DIRTY):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(index_dir, name))
        index.remove_leftovers()
        unsummed = index.unverified_segments()
        if unsummed:
            report.notes.append(
                f"{unsummed} segment(s) were written before checksums existed and are not verified; "
                "--max-segments 1 (a merge) or --rebuild writes them again with checksums"
            )
        items = _Lookahead(items, stop)
        batch = _Batch(index, batch_size, max(procs - 1, 0), items.read_ahead, fsync, settings.batch_max_chars,
                       look_up_ids and not prune)
        most_words = settings.max_indexed_words
        cut = 0  # documents written with more words than are indexed
        seen_ids: set[str] = set()
        seen_sources: set[str] = set()
        try:
            for doc_id in delete_ids:
                _delete(batch, doc_id, report)
            for count, item in enumerate(items, start=1):
                if stop is not None and stop():
                    report.interrupted = True
                    report.notes.append("interrupted: stopped after the records read so far, which are committed")
                    break
                if on_progress and count % 1000 == 0:
                    on_progress(report)
                if isinstance(item, Reject):
                    report.reject(item)
                    if on_reject:
                        on_reject(item)
                    outcome = "rejected"
                elif isinstance(item, Delete):
                    if items.again(item.id):  # (a later record of the id replaces it anyway)
                        outcome = "superseded"
                    else:
                        outcome = "deleted" if _delete(batch, item.id, report) else "not_found"
                else:
                    seen_ids.add(item.id)
                    seen_sources.add(item.source)
                    if items.again(item.id):
                        # The last record of an id wins: writing this one too would make
                        # every re-run of the same input replace the document twice.
                        report.read += 1
                        report.superseded += 1
                        outcome = "superseded"
                    else:
                        before = report.added
                        written = _put(batch, item, report)
                        outcome = ("added" if report.added > before else "updated") if written else "unchanged"
                        if written and _more_words(item, most_words):
                            cut += 1
                if on_outcome:
                    on_outcome(item, outcome)
            if cut:
                report.notes.append(
                    f"{cut} document(s) have more than {most_words:,} words in the body or title: the words past "
                    "that are stored and shown but not indexed (raise the limit with SEARCH_MAX_INDEXED_WORDS)"
                )
            if prune and report.interrupted:
                report.notes.append("--prune skipped: the run was interrupted, so it did not see every document")
            elif prune and report.rejected:
                report.notes.append("--prune skipped: some records were rejected, so this run did not see every document")
            elif prune:
                for source in sorted(seen_sources):
                    for doc_id in batch.writer.ids_with_source(source):
                        if doc_id not in seen_ids and doc_id not in batch.pending:
                            _delete(batch, doc_id, report)
            if batch.pending:
                batch.commit(reopen=False)
            else:
                batch.writer.cancel()  # nothing changed: write nothing, not even a merge
                if batch.vocabulary_rebuilt:
                    batch.save_vocabulary()
            changed = report.added + report.updated + report.deleted
            if changed and max_segments:
                _compact(index, max_segments, report)
        except VocabularyNotSaved as exc:  # after a commit: nothing to cancel
            report.seconds = time.perf_counter() - started
            report.notes.append(
                f"the vocabulary (/suggest, did-you-mean) could not be saved ({exc.strerror}): "
                "the next ingest rebuilds it; the documents reported are committed"
            )
            exc.report = report
            raise
        except BaseException:
            with contextlib.suppress(Exception):  # a failed commit may leave little to cancel
                batch.writer.cancel()
            raise
        finally:
            index.stop_workers()
            index.remove_leftovers()
            index.close()
    report.seconds = time.perf_counter() - started
    if on_progress:
        on_progress(report)
    return report


class _Lookahead:
    """The input items, read up to ``LIMIT`` (and ``TEXT_LIMIT``) ahead of the one being written.

    So :meth:`again` can tell that an id comes again (the last record of an id
    wins, and only it is written: a re-run of the same input then writes
    nothing), and while a commit waits for the worker processes to write their
    segments, the ingest process has the records that follow read and checked.
    An id repeated further apart than that is written each time, in order.

    An error reading ahead is raised where the item it stopped at would have been
    read, so the commit in progress is not affected by it.
    """

    #: Items read ahead at most, and characters of text (about 30-60 MB: a
    #: Devanagari character takes 2 bytes in a Python string).
    LIMIT = 10_000
    TEXT_LIMIT = 16_000_000

    def __init__(self, items: Iterable[Item], stop: Callable[[], bool] | None = None) -> None:
        self._items = iter(items)
        self._stop = stop  # a SIGTERM: read no further ahead
        self._ahead: deque[Item] = deque()
        self._ids: Counter = Counter()  # ids of the records and deletions read ahead
        self._text = 0  # characters of title and body read ahead
        self._error: Exception | None = None
        self._done = False

    def __iter__(self) -> "_Lookahead":
        return self

    def __next__(self) -> Item:
        while self.read_ahead():
            pass
        if self._ahead:
            item = self._ahead.popleft()
            if isinstance(item, Record):
                self._text -= len(item.title) + len(item.body)
            if not isinstance(item, Reject):
                left = self._ids[item.id] - 1
                if left:
                    self._ids[item.id] = left
                else:
                    del self._ids[item.id]
            return item
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._done:
            raise StopIteration
        # Stopped (a SIGTERM) with nothing read ahead: hand over the next item
        # as it comes, so the run sees the stop and says it was interrupted.
        return next(self._items)

    def again(self, doc_id: str) -> bool:
        """Whether a record or deletion of ``doc_id`` follows among the items read ahead."""
        return self._ids[doc_id] > 0

    def read_ahead(self) -> bool:
        """Read one more item ahead; False once enough are waiting, the input is
        exhausted, or reading failed."""
        if self._done or self._error is not None or len(self._ahead) >= self.LIMIT or self._text >= self.TEXT_LIMIT:
            return False
        if self._stop is not None and self._stop():
            return False
        try:
            item = next(self._items)
        except StopIteration:
            self._done = True
            return False
        except Exception as exc:
            self._error = exc
            return False
        self._ahead.append(item)
        if isinstance(item, Record):
            self._text += len(item.title) + len(item.body)
        if not isinstance(item, Reject):
            self._ids[item.id] += 1
        return True


def _more_words(record: Record, most: int) -> bool:
    """Whether the body or title has more words than the index takes of it (see
    ``_SegmentWriter.add_document``). Only a text of more than ``most`` characters
    can, so ordinary documents cost a length check."""
    return any(len(text) > most and len(words(text)) > most for text in (record.body, record.title))


def _put(batch: _Batch, record: Record, report: IngestReport) -> bool:
    """Write ``record`` unless the index has it as it is; True when written."""
    report.read += 1
    content_hash = record.content_hash
    previous = batch.previous(record.id)
    if previous == content_hash:
        report.unchanged += 1
        return False
    batch.touch(record.id)
    if previous is not None:
        batch.uncount(record.id)
    batch.writer.put(record, content_hash, replace=previous is not None)  # counts its words too
    batch.pending[record.id] = content_hash
    batch.chars += len(record.title) + len(record.body)
    if previous is None:
        report.added += 1
    else:
        report.updated += 1
    batch.maybe_commit()
    return True


def _delete(batch: _Batch, doc_id: str, report: IngestReport) -> bool:
    """Delete ``doc_id``; False when the index (as this run left it) does not hold it."""
    if batch.previous(doc_id) is None:
        return False
    batch.touch(doc_id)
    batch.uncount(doc_id)
    batch.writer.delete(doc_id)
    batch.pending[doc_id] = None
    report.deleted += 1
    batch.maybe_commit()
    return True


def _compact(index: Backend, max_segments: int, report: IngestReport) -> None:
    """Merge the index into one segment when it has more than ``max_segments``; a failed
    merge leaves the committed documents as they are (only searching is slower), so it
    is a note, not an error."""
    try:
        index.compact(max_segments, timeout=30.0)
    except (OSError, IndexLocked) as exc:
        index.remove_leftovers()
        report.notes.append(f"segments not merged ({exc}); the documents are committed")


def _open_vocabulary(index: Backend) -> tuple[Vocabulary, bool]:
    """The index's word list, rebuilt from the stored documents when it is missing
    or a killed ingest left it behind the index (:data:`VOCABULARY_DIRTY`)."""
    dirty = os.path.exists(os.path.join(index.path, VOCABULARY_DIRTY))
    vocabulary = None if dirty else Vocabulary.load(index.path, index.analyzer)
    if vocabulary is None:
        return Vocabulary.from_documents(index.analyzer, index.iter_stored()), True
    return vocabulary, False
