"""The backend interface: what the search service and the ingest need of a search
engine, in this product's own terms.

Records and query trees go in (:class:`~search.documents.Record`,
:mod:`search.querying` nodes, :mod:`search.filtering` nodes, a sort, a page);
hits with their stored fields, exact totals and facet counts come out; a
writer puts, deletes and commits; vocabulary statistics (document
frequencies, the index terms a romanized word may stand for) serve romanized
readings, did-you-mean and feedback. Nothing here names a segment, a document
number or a Whoosh class, so a backend on a search cluster implements it as
well as the embedded Whoosh one (:class:`search.engine.index.SearchIndex`).

Ranking ideas that are not one engine's (pseudo-relevance feedback, blending
the readings of romanized words) live above this interface, in
:mod:`search.ranking`, and reach a backend as plain parameters (``boosts``).

Must not import Whoosh: this module is the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, Sequence

from ..analysis import Analyzer
from ..config import Settings
from ..deadline import NO_DEADLINE, Deadline
from ..documents import Record
from ..filtering import FilterNode
from ..querying import Node
from ..vocabulary import Vocabulary


#: Stored fields, as returned for each hit.
STORED_FIELDS = ("id", "title", "body", "url", "published", "source", "category", "hash")
#: The analysed text fields, searched by words and phrases.
TEXT_FIELDS = ("title", "body")
#: Stored fields every backend can give without reading a whole document (``find(fields=...)``).
COLUMN_FIELDS = ("id", "hash", "published", "source", "category")
#: Accepted values of ``sort``.
SORTS = ("relevance", "published", "-published")


@dataclass(frozen=True)
class Ranking:
    """How matching documents are scored. Defaults are the settings' defaults
    (``Settings`` says what each means), so they are declared once.

    The backend scores with BM25F (``k1``, ``b``, the field boosts, the
    proximity bonus); the ``feedback_*`` parameters are read by the ranking
    layer above it (:class:`search.ranking.Ranker`)."""

    k1: float = Settings.bm25_k1
    b: float = Settings.bm25_b
    title_boost: float = Settings.title_boost
    lead_boost: float = Settings.lead_boost
    #: Weight of a pair of consecutive words of a long query found near each
    #: other (within ``proximity_slop`` positions, in order), against one word.
    proximity_boost: float = Settings.proximity_boost
    proximity_slop: int = Settings.proximity_slop
    #: Pseudo-relevance feedback of long any-word queries (see :mod:`search.ranking`).
    feedback_terms: int = Settings.feedback_terms
    feedback_docs: int = Settings.feedback_docs
    feedback_weight: float = Settings.feedback_weight
    feedback_after: int = Settings.feedback_after

    @classmethod
    def from_settings(cls, settings: Settings) -> "Ranking":
        """The ranking a service with ``settings`` uses (``bm25_k1``, ``bm25_b``, the rest by name)."""
        same = {name: getattr(settings, name) for name in cls.__dataclass_fields__ if name not in ("k1", "b")}
        return cls(k1=settings.bm25_k1, b=settings.bm25_b, **same)


class IndexUnavailable(RuntimeError):
    """The index is missing or cannot be opened; the message says why."""


class IndexLocked(RuntimeError):
    """Another writer holds the index lock."""


class IndexWriteFailed(RuntimeError):
    """A worker process building part of a batch failed; the batch was not committed."""


@dataclass
class ResultSet:
    """What a search found: exact total, the top hits (score, stored fields), facet counts."""

    total: int
    hits: list[tuple[float, dict[str, Any]]]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class Writer(Protocol):
    """Adds, replaces and deletes documents; nothing is visible before :meth:`commit`.

    A writer changes each document at most once between two commits (the
    ingest commits first when an id comes again)."""

    def indexed_hashes(self) -> dict[str, str]:
        """``{id: content hash}`` of every committed document (what makes ingest idempotent)."""

    def stored_fields(self, doc_id: str) -> dict[str, Any] | None:
        """The committed stored fields of ``doc_id``, or None."""

    def put(self, record: Record, content_hash: str, *, replace: bool) -> None:
        """Add ``record`` (replacing the committed document of its id when ``replace``)."""

    def delete(self, doc_id: str) -> int:
        """Delete the document ``doc_id``; how many were deleted (0 or 1)."""

    def ids_with_source(self, source: str) -> list[str]:
        """Ids of the committed documents whose ``source`` is ``source`` ("" = none given)."""

    def commit(self, while_waiting: Callable[[], bool] | None = None) -> list[dict[str, Any]]:
        """Make every change visible to searches at once; :class:`IndexWriteFailed` when it
        fails (nothing of the batch is visible then). Returns the vocabulary counts
        of documents counted elsewhere than in the writer's vocabulary (worker processes)."""

    def cancel(self) -> None:
        """Drop the uncommitted changes."""


class Backend(Protocol):
    """One index, opened for searching or writing. Every method that reads takes or
    honours a :class:`~search.deadline.Deadline`; past it, :class:`SearchTimeout` is raised."""

    #: The directory of the index's side files (the vocabulary) and, for an embedded index, the index.
    path: str
    #: The analysis chain the index was built with: the query side uses the very same.
    analyzer: Analyzer
    ranking: Ranking

    # -- searching ----------------------------------------------------------

    def find(
        self, node: Node | None, *, limit: int, offset: int = 0, max_prefix_terms: int = 50,
        filter: FilterNode | None = None, facets: Sequence[str] = (), sort: str = "relevance",
        time_limit: float = 0.0, deadline: Deadline | None = None, boosts: Sequence[tuple[str, float]] = (),
        fields: Sequence[str] | None = None,
    ) -> ResultSet:
        """The ``limit`` hits after the first ``offset`` of ``node`` (None: every document)
        under ``filter``, in ``sort`` order (:data:`SORTS`), with the exact total and the
        counts of ``facets`` over every match. ``boosts`` (body terms with weights; only
        for an any-word query sorted by relevance) add to the scores of the documents
        the query matches without matching any others: the ranking layer's feedback.
        Results are the same whatever the page size, the sort or the facets asked for.
        ``fields``: the stored fields each hit needs (None: all); a backend may then
        leave the others out (hybrid search checks a hundred candidates' ids and
        content hashes, and reads the whole of only the page it shows)."""

    def estimate(
        self, node: Node | None, *, max_prefix_terms: int = 50, budget: int = 1 << 62, deadline: Deadline = NO_DEADLINE,
    ) -> int:
        """About how long answering ``node`` will take, in microseconds, before anything
        is read (counting stops past ``budget``): the service's admission control."""

    def stored(self, doc_id: str) -> dict[str, Any] | None:
        """The stored fields of one document, or None."""

    def iter_stored(self) -> Iterator[dict[str, Any]]:
        """The stored fields of every live document (for rebuilding side files)."""

    # -- statistics and vocabulary --------------------------------------------

    def doc_count(self) -> int:
        """Live documents."""

    def collection_size(self) -> int:
        """The document count BM25's idf is computed with (deleted documents not yet
        purged included, as Lucene's ``maxDoc``)."""

    def term_frequency(self, field: str, term: str) -> int:
        """In how many documents ``term`` occurs in ``field``, as idf counts them."""

    def doc_frequency(self, term: str) -> int:
        """In how many documents ``term`` occurs, in title or body (the larger)."""

    def read_roman(
        self, word: str, *, limit: int = 8, min_score: float = 0.6, deadline: Deadline = NO_DEADLINE
    ) -> list[tuple[str, float]]:
        """The Devanagari index terms a romanized ``word`` may stand for, with a closeness
        weight, best first (``bharat`` -> ``[("भारत", 1.0), ...]``)."""

    def generation(self) -> int:
        """The commit searches read now; it grows with every commit."""

    def files(self) -> dict[str, Any]:
        """``index_bytes`` and ``last_commit`` (UTC, ISO) for /stats."""

    def warm_up(self, phrase_share: float = Settings.phrase_warm_share) -> None:
        """Read what the first searches of a new server would otherwise wait for."""

    def close(self) -> None: ...

    # -- writing (only while holding the ingest lock) --------------------------

    def writer(self, timeout: float = 0.0, *, vocabulary: Vocabulary | None = None, workers: int = 0) -> Writer:
        """A writer; :class:`IndexLocked` after ``timeout`` s. The words of what it adds
        are counted in ``vocabulary``. ``workers`` > 0: that many helper processes may
        index shares of large batches (kept for the later writers until :meth:`stop_workers`)."""

    def stop_workers(self) -> None:
        """Stop the helper processes writers started."""

    def remove_leftovers(self) -> None:
        """Delete what a killed or failed writer left behind."""

    def unverified_segments(self) -> int:
        """Parts of the index written before checksums existed (not verified)."""

    def compact(self, max_segments: int, timeout: float = 0.0) -> bool:
        """Merge the index into one part when it has more than ``max_segments``; whether it did."""
