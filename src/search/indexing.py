"""Records -> the Whoosh index: add new ids, replace changed ones, skip the rest.

An ingest run is idempotent: each document's content hash is stored, so
re-running a job on the same input writes nothing and reports every record as
unchanged. Bad lines never stop a run; they are collected as rejects.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator, Union

from .analysis import AnalysisOptions
from .documents import Record, Reject, read_jsonl
from .engine import SearchIndex
from .vocabulary import Vocabulary, document_texts

__all__ = ["IngestReport", "ingest", "read_inputs"]


@dataclass
class IngestReport:
    """What one ingest run did; ``rejects`` keeps every bad line with its reason."""

    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejects: list[Reject] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "rejected": self.rejected,
            "rejected_by_reason": dict(Counter(r.reason.split(":")[0] for r in self.rejects)),
            "seconds": round(self.seconds, 3),
            "docs_per_second": round(self.read / self.seconds, 1) if self.seconds else None,
        }

    def summary(self) -> str:
        return (
            f"read {self.read}, added {self.added}, updated {self.updated}, "
            f"unchanged {self.unchanged}, deleted {self.deleted}, rejected {self.rejected} "
            f"in {self.seconds:.1f} s"
        )


def read_inputs(paths: Iterable[str], stdin: IO[str] | None = None) -> Iterator[Union[Record, Reject]]:
    """Records and rejects from each input: a JSON Lines file, or ``-`` for stdin."""
    for path in paths:
        if path == "-":
            yield from read_jsonl(stdin or sys.stdin, "<stdin>")
            continue
        with open(path, encoding="utf-8", errors="strict", newline="") as stream:
            try:
                yield from read_jsonl(stream, path)
            except UnicodeDecodeError as exc:
                yield Reject(path, 0, f"not UTF-8 text: {exc.reason} at byte {exc.start}", "")


def ingest(
    items: Iterable[Union[Record, Reject]],
    index_dir: str,
    *,
    options: AnalysisOptions | None = None,
    batch_size: int = 5000,
    on_reject: Callable[[Reject], None] | None = None,
) -> IngestReport:
    """Write ``items`` to the index at ``index_dir`` (created when missing).

    Commits every ``batch_size`` documents, so a crash loses at most one batch;
    a re-run then finishes the job (unchanged documents are skipped).
    ``options`` only matter when the index is new: an existing index keeps
    the analysis it was built with.
    """
    started = time.perf_counter()
    report = IngestReport()
    index = SearchIndex.open_or_create(index_dir, options)
    writer = index.writer(timeout=5.0)
    vocabulary = _open_vocabulary(index)
    pending: dict[str, str] = {}  # id -> hash written in this batch (not yet visible)

    def commit() -> None:
        writer.commit()
        vocabulary.save(index_dir)
    try:
        for item in items:
            if isinstance(item, Reject):
                report.rejects.append(item)
                if on_reject:
                    on_reject(item)
                continue
            report.read += 1
            content_hash = item.content_hash
            previous = pending.get(item.id) or writer.stored_hash(item.id)
            if previous == content_hash:
                report.unchanged += 1
                continue
            if item.id in pending:
                # Whoosh cannot delete a document added in the same batch: commit first.
                commit()
                writer, pending = index.writer(timeout=5.0), {}
            if previous is not None:
                old = writer.stored_fields(item.id)
                if old is not None:
                    vocabulary.add_document(document_texts(old), sign=-1)
            writer.put(item, content_hash, replace=previous is not None)
            vocabulary.add_document(document_texts(item.__dict__))
            pending[item.id] = content_hash
            if previous is None:
                report.added += 1
            else:
                report.updated += 1
            if len(pending) >= batch_size:
                commit()
                writer, pending = index.writer(timeout=5.0), {}
        commit()
    except BaseException:
        writer.cancel()
        raise
    finally:
        index.close()
    report.seconds = time.perf_counter() - started
    return report


def _open_vocabulary(index: SearchIndex) -> Vocabulary:
    """The index's word list, rebuilt from the stored documents when it is missing."""
    vocabulary = Vocabulary.load(index.path, index.analyzer)
    if vocabulary is None:
        vocabulary = Vocabulary.from_documents(index.analyzer, index.iter_stored())
    return vocabulary
