"""The index's vocabulary of surface words: autocomplete and did-you-mean.

The index holds *stems* (``भारतीय`` -> ``भारत``), which are no use in a search
box: a user typing ``भार`` wants to see ``भारत`` and ``भारतीय``. So ingest
also keeps, beside the index, a side file ``vocabulary.json`` (JSON Lines): for each
normalised word (``ज़ोर`` and ``जोर`` are one), in how many documents it
occurs and its most common written form. It is small (one entry per distinct
word) and is updated by every ingest commit, with replaced and deleted
documents un-counted, so it follows the index.

When the file is missing (an index built before it existed) it is rebuilt from
the stored documents once, when first needed.

Lookups:

* :meth:`Vocabulary.complete`: words starting with a typed prefix, most
  common first. Prefixes are compared in normalised form, so a partial
  syllable (``भार``, ``कि``) matches as typed, and ``ज़`` matches ``ज``.
* :meth:`Vocabulary.corrections`: known words within a small edit distance
  of a word the index does not know (``किसन`` -> ``किसान``), most common first.
"""

from __future__ import annotations

import bisect
import heapq
import json
import os
import tempfile
import threading
import time
from collections import Counter
from typing import IO, Iterable

from .analysis import STOP_WORDS, Analyzer, fold_vowel_length, words

__all__ = ["Vocabulary", "VOCABULARY_FILE", "edit_distance", "document_texts", "fsync_directory"]

VOCABULARY_FILE = "vocabulary.json"
_FORMAT = 2
#: Words per line of the vocabulary file (a few milliseconds to parse).
_CHUNK = 2000
_UNSEEN = object()
#: Surface words whose normalised form a vocabulary remembers (then it starts again).
_SEEN_LIMIT = 500_000


def _unambiguous_by_vowel_length(words: Iterable[str]) -> dict[str, str]:
    """``{word with long vowels folded: word}`` for the words no other one folds onto."""
    found: dict[str, list[str]] = {}
    for word in words:
        found.setdefault(fold_vowel_length(word), []).append(word)
    return {key: forms[0] for key, forms in found.items() if len(forms) == 1}


#: Stop words by their vowel-folded form, where only one folds there (see :meth:`Vocabulary.spelled`).
_STOP_WORDS_BY_VOWEL_LENGTH = _unambiguous_by_vowel_length(sorted(STOP_WORDS))


class Vocabulary:
    """Normalised word -> (document frequency, surface form -> count)."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self._counted: dict[str, list] = {}  # norm -> [df, {surface: count}], see _words
        # New documents' counts not yet folded into _counted: documents per normalised
        # word, occurrences per surface word (both counted in C, see _count_document).
        self._new_docs: Counter = Counter()
        self._new_forms: Counter = Counter()
        self._sorted: list[str] | None = None
        self._lock = threading.Lock()
        self._fold_lock = threading.Lock()  # readers in several threads may fold at once
        self._seen: dict[str, str | None] = {}  # surface word -> normalised, None: not counted
        self._short: dict[tuple[str, int], list[tuple[str, int]]] = {}  # completions of 1-2 letters
        self._by_vowel_length: dict[str, str] | None = None  # see spelled()

    def _forget_derived(self) -> None:
        """Drop what is computed from the counts once they change."""
        self._sorted = None
        self._short = {}
        self._by_vowel_length = None

    # -- building ------------------------------------------------------------

    def _normalised(self, surface: str) -> str | None:
        """The normalised form of a surface word, None for stop words and numbers (memoised)."""
        try:
            return self._seen[surface]
        except KeyError:
            term, stop = self.analyzer.word(surface)
            norm = None if stop or not term or surface.isdigit() else self.analyzer.normalised(surface)
            if len(self._seen) >= _SEEN_LIMIT:
                self._seen.clear()
            self._seen[surface] = norm
            return norm

    def _document_words(self, texts: Iterable[str]) -> dict[str, dict[str, int]]:
        counts: Counter = Counter()
        for text in texts:
            counts.update(words(text))  # counted in C; each distinct word normalised once
        seen: dict[str, dict[str, int]] = {}
        for surface, n in counts.items():
            norm = self._normalised(surface)
            if norm is not None:
                seen.setdefault(norm, {})[surface] = n
        return seen

    def add_document(self, texts: Iterable[str], sign: int = 1) -> None:
        """Count (``sign`` 1) or un-count (-1) the words of one document's texts."""
        if sign > 0:
            self._count_document(texts)
            return
        words = self._words
        for norm, surfaces in self._document_words(texts).items():
            entry = words.get(norm)
            if entry is None:
                if sign < 0:
                    continue
                entry = words[norm] = [0, {}]
            entry[0] += sign
            forms = entry[1]
            for surface, n in surfaces.items():
                forms[surface] = forms.get(surface, 0) + sign * n
                if forms[surface] <= 0:
                    del forms[surface]
            if entry[0] <= 0 or not forms:
                del words[norm]
        self._forget_derived()

    @property
    def _words(self) -> dict[str, list]:
        """norm -> [document frequency, {surface form: count}], the new documents' counts included.

        Folding changes the entries: one thread folds, under a lock, and the others
        wait for it (a server's threads share a vocabulary; two folding at once
        failed with "dictionary changed size during iteration", or counted twice).
        """
        if self._new_forms:
            with self._fold_lock:
                if self._new_forms:
                    self._fold()
        return self._counted

    @_words.setter
    def _words(self, value: dict[str, list]) -> None:
        self._new_docs.clear()
        self._new_forms.clear()
        self._counted = value

    def _count_document(self, texts: Iterable[str]) -> None:
        self.count_words([surface for text in texts for surface in words(text)])

    def count_words(self, found: list[str]) -> None:
        """Count a new document whose texts have the words ``found`` (:func:`words`).

        Every ingested document comes through here, so it is kept lean: its
        words, its distinct words and their distinct normalised forms are
        counted with C-level set and ``Counter`` operations, and folded into
        the per-word entries only when they are read (:meth:`_fold`).
        """
        if not found:
            return
        distinct = set(found)
        seen = self._seen
        unseen = distinct.difference(seen)
        if unseen:
            if len(seen) + len(unseen) >= _SEEN_LIMIT:
                seen.clear()  # here, not inside _normalised, so every word of this document stays
                unseen = distinct
            for surface in unseen:
                self._normalised(surface)
        norms = set(map(seen.__getitem__, distinct))
        norms.discard(None)
        self._new_docs.update(norms)
        self._new_forms.update(found)
        self._forget_derived()

    def _fold(self) -> None:
        """Add the counts of the documents :meth:`_count_document` took to the per-word entries."""
        counted = self._counted
        for norm, docs in self._new_docs.items():
            entry = counted.get(norm)
            if entry is None:
                counted[norm] = [docs, {}]
            else:
                entry[0] += docs
        seen = self._seen
        for surface, n in self._new_forms.items():
            norm = seen.get(surface, _UNSEEN)
            if norm is _UNSEEN:
                norm = self._normalised(surface)
            if norm is not None:
                forms = counted[norm][1]
                forms[surface] = forms.get(surface, 0) + n
        self._new_docs.clear()
        self._new_forms.clear()

    def take_counts(self) -> dict[str, list]:
        """The raw counts (normalised word -> [document frequency, {surface form: count}]),
        to send to another process and :meth:`merge` there; this vocabulary starts
        again from none (it still remembers how each word normalises)."""
        counts, self._words = self._words, {}  # the getter folds the new documents in first
        self._forget_derived()
        return counts

    def merge(self, counts: dict[str, list]) -> None:
        """Add the :meth:`counts` of documents counted elsewhere (a worker process)."""
        words = self._words
        for norm, (df, forms) in counts.items():
            entry = words.get(norm)
            if entry is None:
                words[norm] = [df, dict(forms)]
                continue
            entry[0] += df
            mine = entry[1]
            for surface, n in forms.items():
                mine[surface] = mine.get(surface, 0) + n
        self._forget_derived()

    @classmethod
    def from_documents(cls, analyzer: Analyzer, documents: Iterable[dict]) -> "Vocabulary":
        """Count the words of stored documents (``title`` and ``body``): the rebuild path."""
        vocabulary = cls(analyzer)
        for fields in documents:
            vocabulary.add_document(document_texts(fields))
        vocabulary._words  # folded before it is shared: readers then only read
        return vocabulary

    # -- storing -------------------------------------------------------------

    def save(self, directory: str, *, fsync: bool = True) -> None:
        """Write atomically: a reader sees the old file or the new one, never half.

        A header line, then the words in lines of :data:`_CHUNK` words, each a
        JSON object: a server reloads the file after every commit in a
        background thread, and a short parse per line lets its searches run
        in between (one ``json.loads`` of the whole file held the interpreter
        for 300 ms at 55,000 documents).

        With ``fsync``, the new file is flushed to disk before it replaces the old
        one, and the directory after, so a power cut leaves one or the other.
        A failed write (a full disk) leaves no temporary file and the old file as it was.
        """
        items = sorted(self._words.items())  # in order: loading needs no sort (one long call)
        lines = [json.dumps({"format": _FORMAT, "words": len(items)})]
        for start in range(0, len(items), _CHUNK):
            # json.dumps, not json.dump: only the one-shot call uses the C encoder (10x faster)
            lines.append(json.dumps(dict(items[start : start + _CHUNK]), ensure_ascii=False, separators=(",", ":")))
        fd, tmp = tempfile.mkstemp(prefix=".vocabulary-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                _write_text(out, "\n".join(lines) + "\n", tmp)
                if fsync:
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(tmp, os.path.join(directory, VOCABULARY_FILE))
        except BaseException:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise
        if fsync:
            fsync_directory(directory)

    @classmethod
    def load(cls, directory: str, analyzer: Analyzer, pause: float = 0.0) -> "Vocabulary | None":
        """The saved vocabulary, or None when there is none (or it is unreadable).

        ``pause``: seconds to sleep after each line, when a background thread
        reloads it beside searches."""
        path = os.path.join(directory, VOCABULARY_FILE)
        words: dict[str, list] = {}
        try:
            with open(path, encoding="utf-8") as stream:
                header = json.loads(stream.readline())
                if not isinstance(header, dict):
                    return None
                if header.get("format") == 1 and isinstance(header.get("words"), dict):
                    words = header["words"]  # the one-object file of earlier versions
                elif header.get("format") == _FORMAT:
                    for line in stream:
                        words.update(json.loads(line))
                        if pause:
                            time.sleep(pause)
                    if len(words) != header.get("words"):
                        return None  # cut short
                else:
                    return None
        except (OSError, ValueError, TypeError):
            return None
        vocabulary = cls(analyzer)
        vocabulary._words = words
        if header.get("format") == _FORMAT:
            vocabulary._sorted = list(words)  # saved in order
        return vocabulary

    # -- looking up ----------------------------------------------------------

    def __len__(self) -> int:
        return len(self._words)

    def surface(self, norm: str) -> str:
        """The most common written form of a normalised word."""
        forms = self._words[norm][1]
        return max(forms.items(), key=lambda kv: (kv[1], kv[0]))[0]

    def spelled(self, norm: str) -> str:
        """The documents' commonest way of writing a normalised word and the words
        differing from it only in vowel length, which the lexical side reads as one
        (``norm`` itself when the index has none of them): what hybrid search gives
        the model, whose vector moves with spellings the lexical side folds.

        >>> v = Vocabulary(Analyzer())
        >>> for text in ["दिल्ली में हिन्दी", "हिंदी", "हिंदी दिल्ली", "दिल्लि"]:
        ...     v.add_document([text])
        >>> [v.spelled(w) for w in ["हिंदी", "दिल्लि", "दिल्ली", "मुंबई"]]
        ['हिंदी', 'दिल्ली', 'दिल्ली', 'मुंबई']

        Stop words (not counted) are told apart by vowel length only where that is
        unambiguous: नहिं is नहीं, but कि and की are both words.

        >>> [v.spelled(w) for w in ["नहिं", "लीए", "कि", "की"]]
        ['नहीं', 'लिए', 'कि', 'की']
        """
        if norm in STOP_WORDS:
            return norm
        key = fold_vowel_length(norm)
        word = self.vowel_length_forms().get(key)
        if word is not None:
            return self.surface(word)
        return _STOP_WORDS_BY_VOWEL_LENGTH.get(key, norm)

    def vowel_length_forms(self) -> dict[str, str]:
        """``{word with long vowels folded: the commonest word folding there}``, built
        once per set of counts (~0.1 s for 200,000 words; a server's warm-up builds it)."""
        forms = self._by_vowel_length
        if forms is None:
            best: dict[str, tuple[int, str]] = {}
            for word, (df, _forms) in self._words.items():
                key = fold_vowel_length(word)
                if key not in best or best[key] < (df, word):
                    best[key] = (df, word)
            forms = self._by_vowel_length = {key: word for key, (_df, word) in best.items()}
        return forms

    def frequency(self, norm: str) -> int:
        entry = self._words.get(norm)
        return entry[0] if entry else 0

    def documents(self) -> dict[str, int]:
        """Each normalised word and the number of documents it occurs in.

        >>> v = Vocabulary(Analyzer())
        >>> v.add_document(["ज़ोर जोर भारत"]); v.add_document(["जोर"])
        >>> sorted(v.documents().items())
        [('जोर', 2), ('भारत', 1)]
        """
        return {norm: entry[0] for norm, entry in self._words.items()}

    def common_words(self, limit: int) -> list[str]:
        """Every written form of the ``limit`` words found in the most documents.

        >>> v = Vocabulary(Analyzer())
        >>> v.add_document(["ज़ोर जोर भारत"]); v.add_document(["जोर"])
        >>> v.common_words(1)
        ['ज़ोर', 'जोर']
        """
        words = self._words
        best = heapq.nlargest(limit, words, key=lambda w: words[w][0])
        return [form for w in best for form in sorted(words[w][1])]

    def _keys(self) -> list[str]:
        with self._lock:
            if self._sorted is None:
                self._sorted = sorted(self._words)
            return self._sorted

    def _range(self, prefix: str) -> list[str]:
        keys = self._keys()
        lo = bisect.bisect_left(keys, prefix)
        hi = bisect.bisect_left(keys, prefix + "\U0010ffff")
        return keys[lo:hi]

    def complete(self, partial: str, limit: int = 10) -> list[tuple[str, int]]:
        """``[(surface word, documents)]`` of words starting with ``partial``, most common first.

        >>> v = Vocabulary(Analyzer())
        >>> v.add_document(["भारत और भारतीय रेल", "भारत"]); v.add_document(["भारतीय भारी"])
        >>> v.complete("भार")
        [('भारतीय', 2), ('भारत', 1), ('भारी', 1)]
        """
        prefix = self.analyzer.normalise_word(partial)
        if not prefix:
            return []
        cached = self._short.get((prefix, limit))
        if cached is not None:
            return cached
        words = self._words
        best = heapq.nsmallest(limit, self._range(prefix), key=lambda w: (-words[w][0], len(w), w))
        found = [(self.surface(w), words[w][0]) for w in best]
        if len(prefix) <= 2:  # the first keystrokes scan the most words: remember them
            self._short[(prefix, limit)] = found
        return found

    def corrections(self, word: str, max_distance: int = 2, limit: int = 5) -> list[tuple[str, int]]:
        """``[(surface word, documents)]`` of known words close to ``word``.

        Nearest first, then the longest shared beginning (``दिली`` is closer to
        ``दिल्ली`` than to ``दी``), then most common. Candidates share the first letter
        (misspellings rarely change it) and differ in length by at most
        ``max_distance``, which keeps the scan to a small slice of the words.

        >>> v = Vocabulary(Analyzer()); v.add_document(["किसान किसानों का आंदोलन"])
        >>> v.corrections("किसन")
        [('किसान', 1)]
        """
        norm = self.analyzer.normalise_word(word)
        if len(norm) < 3:
            return []
        found: list[tuple[int, int, int, str]] = []
        for candidate in self._range(norm[0]):
            if candidate == norm or abs(len(candidate) - len(norm)) > max_distance:
                continue
            d = edit_distance(norm, candidate, max_distance)
            if d <= max_distance:
                shared = len(os.path.commonprefix([norm, candidate]))
                found.append((d, -shared, -self._words[candidate][0], candidate))
        found.sort()
        return [(self.surface(w), -f) for _, _, f, w in found[:limit]]


def _write_text(stream: IO[str], text: str, path: str) -> None:
    """Write the vocabulary file's text to ``stream`` (open on ``path``); the storage
    fault hook of :mod:`search.engine` wraps it, so tests can fail a save halfway."""
    stream.write(text)


def fsync_directory(path: str) -> None:
    """Make the entries of directory ``path`` (files created, renamed, removed) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def document_texts(fields: dict) -> list[str]:
    """The texts of a document whose words the vocabulary counts."""
    return [fields.get("title") or "", fields.get("body") or ""]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count 1), or ``limit + 1`` once over it.

    >>> edit_distance("किसन", "किसान", 2), edit_distance("दिन", "दीन", 2), edit_distance("अब", "भारत", 1)
    (1, 1, 2)

    Works on code points, so a missing or wrong vowel sign (ा, ी) is one edit.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)
