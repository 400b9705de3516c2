"""Writing segments: the ingest's writer and the posting-list writer behind it.

Owns: :class:`Writer` (the backend writer: put, delete, commit, cancel, the
committed hashes), :class:`_SegmentWriter` (Whoosh's segment writer without
its per-posting overhead), :func:`_write_posting_list` (one term's postings in
Whoosh 2.7.4's W3 format, block by block), and the merging writer.

Ingest speed: most of Whoosh's indexing time is Python per posting. Our writer
(written against Whoosh 2.7.4, which is pinned) adds documents without the
generic per-token and per-posting bookkeeping our schema never needs, reads
field lengths once per flush, and commits segments built by worker processes
(:mod:`.workers`) beside its own. The postings written are the ones stock
Whoosh writes. Whoosh's write lock (``WRITELOCK``) is an ``fcntl.flock``: the
kernel releases it when the holder dies, so a killed writer never leaves a
stale lock.

Must not touch: searching (nothing here reads postings back but a merge).
"""

from __future__ import annotations

import operator
import os
import pickle
import struct
import zlib
from array import array
from typing import TYPE_CHECKING, Any, Callable

import whoosh.analysis
import whoosh.codec.whoosh3
import whoosh.fields
import whoosh.formats
import whoosh.writing

from ..analysis import words
from ..config import Settings
from ..documents import Record
from ..vocabulary import Vocabulary
from .lexicon import _HASH_LENGTHS
from .schema import HindiText, LeadText, shared_analyzer
from .storage import _SEGMENT_FILE_RE, _seal


if TYPE_CHECKING:
    from .workers import SegmentBuilders


class _SealsSegments:
    """Mixin for a Whoosh ``SegmentWriter``: each segment its commit adds is sealed
    (:func:`_seal`) before the new table of contents is written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._committed_ids = {s.segment_id() for s in self.segments}

    def _commit_toc(self, segments: list[Any]) -> None:
        for segment in segments:
            if segment.segment_id() not in self._committed_ids:
                _seal(self.storage, segment)
        super()._commit_toc(segments)  # type: ignore[misc]


class _MergingWriter(_SealsSegments, whoosh.writing.SegmentWriter):
    """Whoosh's own writer, for merging (:meth:`SearchIndex.merge_segments`), sealing its segment."""


class _FieldLengths:
    """Every document's field lengths of a new segment, read once into memory.

    Each posting block records the shortest and longest field length of its
    documents. Whoosh's ``add_postings`` reads the length for every posting,
    a seek and read in the lengths column each; once per document is enough.
    They are read back rather than counted, so they are the lengths as stored
    (quantised to a byte), exactly the ones Whoosh's own writer uses.
    """

    def __init__(self, reader: Any, schema: whoosh.fields.Schema, doc_count: int) -> None:
        self._lengths = {
            name: [reader.doc_field_length(n, name) for n in range(doc_count)]
            for name in schema.scorable_names()
        }

    def of(self, fieldname: str) -> list[int] | None:
        """Every document's length of ``fieldname`` (by document number), None if not scorable."""
        return self._lengths.get(fieldname)


def _codec() -> Any:
    """Whoosh's default codec, but zlib level 1 for posting blocks instead of 3:
    compressing took a tenth of ingest time; any level reads back the same."""
    return whoosh.codec.whoosh3.W3Codec(compression=1)


class _SegmentWriter(_SealsSegments, whoosh.writing.SegmentWriter):
    """Whoosh's writer, building the new segment's postings in memory, grouped by
    term as they arrive, and able to commit segments built by worker processes
    beside its own.

    Stock Whoosh puts every posting into a pool as a tuple, sorts the pool
    (spilling runs to disk when large), then feeds the postings one at a time
    to the codec: most of its ingest time. Here postings go straight into
    ``field -> term -> [docnum, weight, value, ...]``; the flush sorts only
    the terms and writes each posting list block by block
    (:func:`_write_posting_list`). Segments merged in at commit (Whoosh's
    ``MERGE_SMALL``) come through the same dictionary, after this writer's own
    documents, so every list stays in document order.
    """

    #: Where the words of each added document are counted (None: nowhere).
    vocabulary: Vocabulary | None = None

    #: Called at commit once this writer's own segment is written: the segments
    #: that worker processes wrote meanwhile (so both are written at the same time).
    extra_segments: Callable[[], list[Any]] = staticmethod(list)  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: field -> term -> [docnum, weight, value, ...]
        self._postings: dict[str, dict[str, list[Any]]] = {}
        #: Plain ``ID`` fields: the whole value is the one term, weight the field boost, no value bytes.
        self._plain_ids = frozenset(
            name for name in self.schema.names()
            if type(self.schema[name]) is whoosh.fields.ID
            and type(self.schema[name].analyzer) is whoosh.analysis.IDTokenizer
            and type(self.schema[name].format) is whoosh.formats.Existence
        )
        # Stored fields: zlib level 1 with a small window instead of level 3
        # (half the cost per document, 4% larger; read back the same).
        stored = self.perdocwriter._colwriters["_stored"]._child
        stored._level = 1
        stored._compress = _compress_small_window
        #: Words of a text field indexed (SEARCH_MAX_INDEXED_WORDS; workers read it too): the rest are only stored.
        self.max_words = Settings.load().max_indexed_words

    def add_document(self, **fields: Any) -> None:
        """``SegmentWriter.add_document`` for our schema, without its per-posting overhead.

        Our fields have no boosts, spelling words, term vectors or custom
        stored values. Text fields add their postings themselves from one
        analysis of each text (:meth:`HindiText.add_postings`; the lead reuses
        the body's), a plain ``ID`` field adds its value as its one term, and
        any other indexed field goes through Whoosh's ``index``. The words of the
        text fields (title and body, see :func:`document_texts`) are counted in
        :attr:`vocabulary`, from the same tokenizing pass.
        """
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        postings = self._postings
        analysed: dict[str, dict[str, list[int]]] = {}  # text -> its term positions
        counted: list[str] = []  # the words of the text fields, for the vocabulary
        perdocwriter.start_doc(docnum)
        for fieldname in sorted(fields):
            value = fields[fieldname]
            field = schema[fieldname]
            length = 0
            if field.indexed:
                terms = postings.get(fieldname)
                if terms is None:
                    terms = postings[fieldname] = {}
                if fieldname in self._plain_ids:
                    entry = terms.get(value)
                    if entry is None:
                        terms[value] = [docnum, field.format.field_boost, b""]
                    else:
                        entry += (docnum, field.format.field_boost, b"")
                elif isinstance(field, (HindiText, LeadText)):
                    positions = analysed.get(value)
                    if positions is None:
                        found = words(value)
                        if len(found) > self.max_words:
                            del found[self.max_words :]
                        if type(field) is HindiText:
                            counted += found
                        positions = analysed[value] = shared_analyzer(field.analyzer.options).term_positions(value, found)
                    length = field.add_postings(positions, docnum, terms)
                else:
                    for tbytes, freq, weight, vbytes in field.index(value):
                        length += freq
                        term = tbytes.decode("utf-8")
                        entry = terms.get(term)
                        if entry is None:
                            terms[term] = [docnum, weight, vbytes]
                        else:
                            entry += (docnum, weight, vbytes)
                if not field.scorable:
                    length = 0
            perdocwriter.add_field(fieldname, field, value if field.stored else None, length)
            if field.column_type:
                perdocwriter.add_column_value(fieldname, field.column_type, field.to_column_value(value))
        perdocwriter.finish_doc()
        if self.vocabulary is not None:
            self.vocabulary.count_words(counted)
        self._added = True
        self.docnum += 1

    def add_postings_to_pool(self, reader: Any, startdoc: int, docmap: Any) -> None:
        """A segment merged in at commit: its postings join this writer's, after them."""
        postings = self._postings
        decoded: dict[bytes, str] = {}
        for fieldname, tbytes, docnum, weight, vbytes in self._process_posts(reader.iter_postings(), startdoc, docmap):
            terms = postings.get(fieldname)
            if terms is None:
                terms = postings[fieldname] = {}
            term = decoded.get(tbytes)
            if term is None:
                term = decoded[tbytes] = tbytes.decode("utf-8")
            entry = terms.get(term)
            if entry is None:
                terms[term] = [docnum, weight, vbytes]
            else:
                entry += (docnum, weight, vbytes)
        self._added = True

    def commit(self, mergetype: Any = None, optimize: Any = None, merge: Any = None) -> None:
        """``SegmentWriter.commit`` (Whoosh 2.7.4) plus :attr:`extra_segments` in the new TOC."""
        self._check_state()
        final = self._merge_segments(mergetype, optimize, merge)
        if self._added:
            final.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(final + list(self.extra_segments()))
        self._finish()

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        reader = self.per_document_reader() if self.codec.length_stats else None
        lengths = _FieldLengths(reader, self.schema, self.docnum) if reader else None
        fieldwriter = self.fieldwriter
        out = _PostingsOut(fieldwriter)
        postings, self._postings = self._postings, {}
        for fieldname in sorted(postings):
            terms = postings.pop(fieldname)
            if not terms:
                continue
            fieldobj = self.schema[fieldname]
            fieldwriter.start_field(fieldname, fieldobj)
            doc_lengths = lengths.of(fieldname) if lengths is not None else None
            fixed_size = fieldobj.format.fixed_value_size()
            for term in sorted(terms):  # code point order is UTF-8 byte order
                _write_posting_list(out, term.encode("utf-8"), terms.pop(term), doc_lengths, fixed_size)
            fieldwriter.finish_field()
        fieldwriter.close()
        if reader:
            reader.close()


#: Posting blocks smaller than this (pickled) are stored uncompressed: zlib's
#: fixed cost per call outweighs what it saves on a few bytes (any reader
#: decompresses by the block's own flag, so both kinds read back the same).
_MIN_COMPRESSED_BLOCK = 256


#: zlib window for posting blocks and stored fields: 4 KB, about the size of a
#: large block or document, halves zlib's set-up cost per call; ``zlib.decompress``
#: reads any window size.
_ZLIB_WBITS = 12


def _compress_small_window(data: bytes, level: int) -> bytes:
    return zlib.compress(data, level, _ZLIB_WBITS)


#: Pickle protocol of posting block data. Whoosh writes protocol 2, which has no
#: opcode for bytes: each position value (a ``bytes``) becomes a call to
#: ``_codecs.encode`` of a latin-1 string, 3x slower to write and twice the size
#: after zlib. Protocol 4 writes bytes as bytes; ``pickle.loads`` (what Whoosh's
#: reader calls) reads any protocol to the same tuple. Block headers stay protocol 2.
_BLOCK_PICKLE_PROTOCOL = 4


#: ``W3TermInfo.to_bytes`` of a posting list that is not inlined.
_TERMINFO = struct.Struct("!BfIBBfIIqi")


class _PostingsOut:
    """Where :func:`_write_posting_list` writes: a ``W3FieldWriter``'s postings file and
    term index, with both file positions kept here. ``BufferedWriter.tell()`` is an
    ``lseek`` system call, and Whoosh asks it three times per term."""

    def __init__(self, fieldwriter: Any) -> None:
        self.fieldwriter = fieldwriter
        self.codec = fieldwriter._codec
        self.postfile = fieldwriter._postfile
        self.post_pos: int = self.postfile.tell()
        self.tindex = fieldwriter._tindex
        self.tfile = self.tindex.dbfile
        self.term_pos: int = self.tfile.tell()

    def add_term(self, keybytes: bytes, valbytes: bytes) -> None:
        """``OrderedHashWriter.add`` (Whoosh 2.7.4), with the position kept instead of asked."""
        tindex = self.tindex
        if keybytes <= tindex.lastkey:
            raise ValueError(f"Keys must increase: {tindex.lastkey!r}..{keybytes!r}")
        pos = self.term_pos
        tindex.index.append(pos)
        record = _HASH_LENGTHS.pack(len(keybytes), len(valbytes)) + keybytes + valbytes
        self.tfile.write(record)
        h = tindex.hashfn(keybytes)
        tindex.buckets[h & 255].append((h, pos))
        tindex.lastkey = keybytes
        self.term_pos = pos + len(record)


def _write_posting_list(
    out: _PostingsOut, tbytes: bytes, flat: list[Any], doc_lengths: list[int] | None, fixed_size: int | None
) -> None:
    """Write one term's postings (``flat``: docnum, weight, value, ...) as Whoosh 2.7.4's
    ``W3FieldWriter`` would from one ``add`` per posting: the same blocks of
    ``blocklimit`` postings, block statistics, term info and decoded data,
    except that small blocks are not compressed (:data:`_MIN_COMPRESSED_BLOCK`)
    and block data is pickled with :data:`_BLOCK_PICKLE_PROTOCOL`.

    Runs once per term of every new segment, so it is written for speed: the
    term statistics are kept as ``W3TermInfo.add_block`` keeps them and packed
    as ``W3TermInfo.to_bytes`` packs them, without a block or term info object.
    """
    w3 = whoosh.codec.whoosh3
    codec = out.codec
    blocklimit = codec._blocklimit
    level = codec._compression
    dumps = w3.dumps
    length_to_byte = w3.length_to_byte
    pack_int = w3.pack_int
    pickle_dumps = pickle.dumps
    sub = operator.sub
    parts = [w3.WHOOSH3_HEADER_MAGIC]
    docnums = flat[0::3]
    weights = flat[1::3]
    values = flat[2::3]
    total = len(docnums)
    # the term's statistics, as W3TermInfo keeps them
    total_weight: float = 0
    term_min_length: int | None = None
    term_max_length = 0
    term_max_weight: float = 0
    for start in range(0, total, blocklimit):
        end = min(start + blocklimit, total)
        if total <= blocklimit:
            ids, ws, vs = docnums, weights, values
        else:
            ids, ws, vs = docnums[start:end], weights[start:end], values[start:end]
        n = end - start
        max_weight = max(0, max(ws))
        if ws.count(1.0) == n:  # most blocks: what the float32 array below would find too
            mini_weights: Any = None
            total_weight += float(n)
        else:
            block_weights = array("f", ws)
            total_weight += sum(block_weights)
            if block_weights.count(1.0) == n:
                mini_weights = None
            elif block_weights.count(block_weights[0]) == n:
                mini_weights = block_weights[0]
            else:
                mini_weights = tuple(block_weights)
        min_length: int | None = None
        max_length = 0
        if doc_lengths is not None:
            lengths = list(map(doc_lengths.__getitem__, ids))
            min_length = min(lengths)
            if min_length:
                max_length = max(lengths)
            else:  # only lengths that are not 0 count, as W3PostingsWriter counts them
                lengths = [length for length in lengths if length]
                min_length, max_length = (min(lengths), max(lengths)) if lengths else (None, 0)
        # W3TermInfo.add_block
        term_min_length = min_length if term_min_length is None else min(term_min_length, min_length)  # type: ignore[type-var]
        term_max_length = max(term_max_length, max_length)
        term_max_weight = max(term_max_weight, max_weight)
        # W3PostingsWriter._write_block
        deltas = (ids[0], *map(sub, ids[1:], ids)) if n > 1 else (ids[0],)
        if fixed_size is None or fixed_size < 0:
            if not all(vs):  # only values that are not empty are kept, as Whoosh does
                vs = [v for v in vs if v]
            mini_values: Any = tuple(vs)
        elif fixed_size == 0:
            mini_values = None
        else:
            mini_values = b"".join(vs)
        databytes = pickle_dumps((deltas, mini_weights, mini_values), _BLOCK_PICKLE_PROTOCOL)
        comp = level if len(databytes) >= _MIN_COMPRESSED_BLOCK else 0
        if comp:
            databytes = zlib.compress(databytes, comp, _ZLIB_WBITS)
        infobytes = dumps((n, ids[-1], max_weight, comp, length_to_byte(min_length), length_to_byte(max_length)), 2)
        blocklength = len(infobytes) + len(databytes)
        parts += (pack_int(-blocklength if end == total else blocklength), infobytes, databytes)
    data = b"".join(parts)
    offset = out.post_pos
    out.postfile.write(data)
    out.post_pos = offset + len(data)
    terminfo = _TERMINFO.pack(
        False, total_weight, total, 0 if term_min_length is None else length_to_byte(term_min_length),
        length_to_byte(term_max_length), term_max_weight, docnums[0], docnums[-1], offset, len(data),
    )
    out.add_term(w3.pack_ushort(out.fieldwriter._fieldid) + tbytes, terminfo)


def _doc_fields(record: Record, content_hash: str) -> dict[str, str]:
    fields = {k: v for k, v in record.__dict__.items() if v}
    fields["hash"] = content_hash
    if record.body:
        fields["lead"] = record.body  # the same string: pickled once when sent to a worker
    return fields


class Writer:
    """Adds, replaces and deletes documents; nothing is visible before :meth:`commit`."""

    def __init__(self, writer: Any, builders: SegmentBuilders | None = None) -> None:
        self._w = writer
        self._builders = builders
        self._searcher = writer.searcher()

    def indexed_hashes(self) -> dict[str, str]:
        """``{id: content hash}`` of every committed document, read from the columns.

        One pass per segment instead of a lookup per document: per-document
        lookups cost more with every segment. Indexes built before the
        columns existed are read from the stored fields (slower, same answer).
        """
        hashes: dict[str, str] = {}
        reader = self._searcher.reader()
        for segment, _ in reader.leaf_readers():
            if segment.has_column("id") and segment.has_column("hash"):
                ids = segment.column_reader("id")
                values = segment.column_reader("hash")
                for n in range(segment.doc_count_all()):
                    if not segment.is_deleted(n):
                        hashes[ids[n]] = values[n]
            else:
                for fields in segment.all_stored_fields():
                    hashes[fields["id"]] = fields.get("hash", "")
        return hashes

    def stored_fields(self, doc_id: str) -> dict[str, Any] | None:
        """The committed stored fields of ``doc_id`` (e.g. to un-count its words), or None."""
        return self._searcher.document(id=doc_id)

    def put(self, record: Record, content_hash: str, *, replace: bool) -> None:
        """Add ``record`` (replacing the committed document of its id when ``replace``).

        Its words are counted in the writer's vocabulary, or by the worker process
        that takes it (:meth:`commit` returns those counts).
        """
        if replace:
            self._w.delete_by_term("id", record.id)
        fields = _doc_fields(record, content_hash)
        if self._builders is None or not self._builders.route(fields):
            self._w.add_document(**fields)

    def delete(self, doc_id: str) -> int:
        return self._w.delete_by_term("id", doc_id)

    def ids_with_source(self, source: str) -> list[str]:
        """Ids of the committed documents whose ``source`` is ``source`` ("" = none given)."""
        searcher = self._searcher
        if source:
            return [searcher.stored_fields(n)["id"] for n in searcher.document_numbers(source=source)]
        return [f["id"] for f in searcher.reader().all_stored_fields() if not f.get("source")]

    def commit(self, while_waiting: Callable[[], bool] | None = None) -> list[dict[str, Any]]:
        """Make every change visible at once; :class:`IndexWriteFailed` if a worker failed.

        Returns the vocabulary counts (:meth:`Vocabulary.take_counts`) of the
        documents worker processes took (see :meth:`put`). ``while_waiting``:
        see :meth:`SegmentBuilders.finish`.
        """
        counts: list[dict[str, Any]] = []
        if self._builders is not None:
            collect = self._builders.finish(while_waiting)

            def worker_segments() -> list[Any]:
                segments, worker_counts = collect()
                counts.extend(worker_counts)
                return segments

            self._w.extra_segments = worker_segments
        self._searcher.close()
        self._w.commit()
        return counts

    def cancel(self) -> None:
        """Drop the uncommitted changes, and the files Whoosh opened for the new segment."""
        self._searcher.close()
        self._w.cancel()
        segid = self._w.newsegment.segid
        folder = self._w.storage.folder
        for name in os.listdir(folder):
            match = _SEGMENT_FILE_RE.match(name)
            if match and match["segid"] == segid:
                try:
                    os.remove(os.path.join(folder, name))
                except OSError:
                    pass
