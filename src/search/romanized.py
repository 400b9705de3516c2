"""Romanized (Hinglish) words -> loose phonetic keys shared with Devanagari.

Readers type Hindi on Latin keyboards, and they romanize loosely:
``bharat``/``bhaarat``, ``sahyog``/``sahayog``, ``ki``/``kee``,
``main``/``mein``, ``w``/``v``, ``sh``/``s``, ``chh``/``ch``. This module maps
*both* scripts onto two Latin spellings:

* :func:`key` -- a consonant skeleton (aspirates folded, vowels dropped except
  a word-initial one, nasals before consonants dropped). A roman word and the
  Devanagari word it stands for almost always share it, so it is the bucket in
  which candidates are looked up::

      key("bharat") == key("bhaarat") == key("भारत") == "brt"

* :func:`loose` -- the same folding with the vowels kept (long and short
  merged), used to rank the candidates of one bucket by how close their
  spelling is (:func:`similarity`).

The rules were tuned on how native speakers typed 25,000 Hindi words (the
Dakshina lexicon; see ``bench/romanized_eval.py``), but they are rules, not a
word list: they work on words nobody has typed before. Everything here is a
pure function; looking candidates up in an index lives in :mod:`search.engine`.
"""

from __future__ import annotations

import bisect
import heapq
import re
import unicodedata
from functools import lru_cache
from typing import Iterable, Sequence

from .vocabulary import edit_distance

__all__ = [
    "is_roman",
    "transliterate",
    "loose",
    "key",
    "similarity",
    "suffix_keys",
    "candidate_keys",
    "best_matches",
    "best_readings",
    "RomanCompletions",
]

# --------------------------------------------------------------------------
# Devanagari -> a plain Latin spelling
# --------------------------------------------------------------------------

_CONSONANTS = {
    "क": "k", "ख": "kh", "ग": "g", "घ": "gh", "ङ": "n",
    "च": "ch", "छ": "chh", "ज": "j", "झ": "jh", "ञ": "n",
    "ट": "t", "ठ": "th", "ड": "d", "ढ": "dh", "ण": "n",
    "त": "t", "थ": "th", "द": "d", "ध": "dh", "न": "n",
    "प": "p", "फ": "ph", "ब": "b", "भ": "bh", "म": "m",
    "य": "y", "र": "r", "ल": "l", "ळ": "l", "व": "v",
    "श": "sh", "ष": "sh", "स": "s", "ह": "h",
}  # fmt: skip
_VOWELS = {
    "अ": "a", "आ": "aa", "इ": "i", "ई": "ii", "उ": "u", "ऊ": "uu",
    "ऋ": "ri", "ए": "e", "ऐ": "ai", "ओ": "o", "औ": "au",
    "ऍ": "e", "ऎ": "e", "ऑ": "o", "ऒ": "o", "ॠ": "ri", "ऌ": "li",
}  # fmt: skip
_SIGNS = {
    "ा": "aa", "ि": "i", "ी": "ii", "ु": "u", "ू": "uu", "ृ": "ri",
    "े": "e", "ै": "ai", "ो": "o", "ौ": "au", "ॅ": "e", "ॉ": "o",
    "ॆ": "e", "ॊ": "o", "ॄ": "ri",
}  # fmt: skip
_FLAPS = {"ड": "r", "ढ": "rh"}
_NASALS = {"ं": "n", "ँ": "n", "ः": "h"}  # (and the visarga: पुनः punah)
_ANUSVARA = "ंँ"
_VIRAMA = "्"
_DROP = {"़", "\u200c", "\u200d", "ऽ"}


@lru_cache(maxsize=200_000)
def transliterate(word: str, inherent: str = "a", flap: bool = False, nasal: str = "n") -> str:
    """A plain Latin spelling of a Devanagari word, with the inherent ``a`` of
    each consonant written out except at the end of the word (schwa deletion).

    >>> [transliterate(w) for w in ["भारत", "सहयोग", "क्रिकेट", "मोदी", "हैं", "ज़िंदगी"]]
    ['bhaarat', 'sahayog', 'kriket', 'modii', 'hain', 'jindagii']

    Hindi also drops many inherent vowels inside a word (जनता is said and
    typed ``janta``); ``inherent=""`` spells every inherent vowel between two
    consonants that way: ``transliterate("जनता", "")`` is ``'jntaa'``. The
    index folds the nukta (ड़ = ड), so with ``flap`` ड and ढ are spelled as
    the ``r``/``rh`` people type for ड़ and ढ़: ``transliterate("बडी", flap=True)``
    is ``'barii'``. ``nasal`` spells the anusvara, which people often leave
    out (``me`` for में, ``nahi`` for नहीं).

    Latin and other characters pass through lower-cased, so a mixed token is
    still spelled somehow; the result only feeds :func:`key` and :func:`loose`.
    """
    word = unicodedata.normalize("NFD", word).replace("ज्ञ", "ग्य")  # yagya, gyan
    out: list[str] = []
    pending = False  # a consonant waiting for its vowel
    for ch in word:
        if ch in _DROP:
            continue
        if ch in _CONSONANTS:
            if pending:
                out.append(inherent)
            out.append(_FLAPS[ch] if flap and ch in _FLAPS else _CONSONANTS[ch])
            pending = True
        elif ch in _SIGNS:
            out.append(_SIGNS[ch])
            pending = False
        elif ch == _VIRAMA:
            pending = False
        elif ch in _NASALS:
            if pending:
                out.append("a")
                pending = False
            out.append(nasal if ch in _ANUSVARA else _NASALS[ch])
        elif ch in _VOWELS:
            if pending:
                out.append("a")
                pending = False
            out.append(_VOWELS[ch])
        else:
            if pending:
                out.append("a")
                pending = False
            out.append(ch.lower())
    return "".join(out)


def is_roman(word: str) -> bool:
    """True for a word written in Latin letters (``bharat``, ``BRICS``, ``G20``).

    >>> [is_roman(w) for w in ["bharat", "G20", "भारत", "2026", "modiजी"]]
    [True, True, False, False, False]
    """
    return word.isascii() and any(c.isalpha() for c in word)


# --------------------------------------------------------------------------
# Folding one Latin spelling: the loose form and the key
# --------------------------------------------------------------------------

#: Ordered rewrites applied to lower-case Latin text (either a user's spelling
#: or :func:`transliterate` output). Longer patterns first.
_FOLDS = [
    (re.compile(r"[^a-z]"), ""),
    (re.compile(r"(?<=.)[ts]ion"), "shan"),  # English loans: station, television
    (re.compile(r"(?<=[aeiou])y(?=[ei]$)"), ""),  # kiye = किए, gaye = गए
    (re.compile(r"ee|ii"), "i"),  # kee = की (before doubled letters collapse)
    (re.compile(r"oo|uu"), "u"),
    (re.compile(r"(.)\1+"), r"\1"),  # doubled letters: pakka -> paka, bhaarat -> bharat
    (re.compile(r"t?chh?"), "C"),  # chh/ch: छ च (and English tch: match = मैच)
    (re.compile(r"c(?=[eiy])"), "s"),  # English spellings: city, cement
    (re.compile(r"ck|c"), "k"),  # clinic, cricket
    (re.compile(r"sh|shh"), "S"),
    (re.compile(r"([kgjtdpb])h"), r"\1"),  # aspirates: bh -> b, kh -> k, th -> t
    (re.compile(r"ph|f"), "p"),
    (re.compile(r"w"), "v"),
    (re.compile(r"z"), "j"),
    (re.compile(r"q"), "k"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"S"), "s"),  # sh/s: श ष स
    (re.compile(r"C"), "c"),
    # vowels: long and short merged, diphthongs kept apart from their parts
    (re.compile(r"ie"), "i"),
    (re.compile(r"ou"), "u"),
    (re.compile(r"ai|ei"), "E"),
    (re.compile(r"au"), "O"),
    (re.compile(r"E"), "e"),
    (re.compile(r"O"), "o"),
]

_VOWEL_RE = re.compile(r"[aeiouy]")
#: n/m before a consonant is an anusvara (संबंध sambandh/sanbandh/sabandh).
_NASAL_BEFORE_CONSONANT = re.compile(r"[nm](?=[^aeiouy])")


@lru_cache(maxsize=200_000)
def loose(latin: str) -> str:
    """A Latin spelling with the usual romanization variants folded, vowels kept.

    >>> [loose(w) for w in ["bhaarat", "bharat", "sahyog", "kee", "washington", "chhatra"]]
    ['barat', 'barat', 'sahyog', 'ki', 'vasington', 'catra']
    """
    text = latin.lower()
    for pattern, repl in _FOLDS:
        text = pattern.sub(repl, text)
    return text


@lru_cache(maxsize=200_000)
def key(word: str) -> str:
    """The phonetic key of a word in either script: its consonant skeleton.

    >>> [key(w) for w in ["bharat", "bhaarat", "भारत", "sahyog", "sahayog", "सहयोग"]]
    ['brt', 'brt', 'brt', 'shg', 'shg', 'shg']
    >>> [key(w) for w in ["mein", "main", "में", "aatankwad", "आतंकवाद"]]
    ['m', 'm', 'm', 'atkvd', 'atkvd']

    A word-initial vowel is kept as ``a`` (``iske`` -> ``ask``); ``h`` between
    vowels is kept (रहना ``rhn``); nasals before a consonant and at the end of
    a word are dropped (``hain``/``hai``/``है`` all ``h``).
    """
    if not word.isascii():
        word = transliterate(word)
    text = loose(word)
    if not text:
        return ""
    head = "a" if text[0] in "aeiou" else text[0]
    body = _VOWEL_RE.sub("", text[1:])
    body = _NASAL_BEFORE_CONSONANT.sub("", body)
    body = re.sub(r"[nm]$", "", body)
    body = re.sub(r"(.)\1+", r"\1", body)
    return head + body


#: Endings a typed word may have beyond its index stem (``gharon`` = घर + ``on``),
#: in :func:`loose` spelling; any other left-over tail costs more.
_INFLECTIONS = frozenset(
    loose(e)
    for e in (
        "a e i o on en ein in iyon iyan iyaan ian yon yan aon aen ayen ae aye ai ne na ni "
        "ta ti te tee kar ke ega egi enge engi unga ungi aya ayi ya yi vala vali vale "
        "wala wali wale pan it ik iy iya iye ate ati ata ana ane ani oge ogi"
    ).split()
)


_C = "[bcdfghjklmnpqrstvwxyz]h?"
#: Hindi drops the inherent a between two consonants after a vowel and before
#: one: सरकार is sarkaar, not sarakaar; सहयोग sahyog.
_MEDIAL_SCHWA = re.compile(f"(?<=[aeiou])({_C})a(?={_C}[aeiou])")


#: What reading a word as spoken rather than letter by letter costs in :func:`similarity`.
_SPOKEN_COST = 0.05


def _closeness(a: str, b: str) -> float:
    longest = max(len(a), len(b))
    return 1.0 - edit_distance(a, b, longest) / longest


def _prefix_distances(word: str, text: str) -> list[int]:
    """Edit distance between ``word`` and each prefix of ``text`` (index = prefix
    length): one dynamic-programming table instead of one per prefix."""
    previous = list(range(len(text) + 1))
    for i, a in enumerate(word, 1):
        current = [i]
        for j, b in enumerate(text, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous


@lru_cache(maxsize=200_000)
def similarity(roman: str, devanagari: str) -> float:
    """How close a roman spelling is to a Devanagari word (or stem), 0..1.

    The roman word may carry an inflection the index stem lacks (``gharon``
    for the stem ``घर``), so it is compared with its best-matching prefix; a
    left-over tail that is a Hindi ending costs a little, any other tail more.
    A fifth of the score compares the spellings before folding, so ``ke``
    prefers के to कई.

    >>> round(similarity("bharat", "भारत"), 2), round(similarity("gharon", "घर"), 2)
    (0.97, 0.89)
    >>> similarity("sahyog", "सहयोग") > similarity("sahyog", "सुहाग")
    True
    >>> similarity("bharat", "भारत") > similarity("bharat", "भर")
    True
    >>> round(similarity("sarkar", "सरकार"), 2)  # spoken sarkaar: the medial a is silent
    0.92
    """
    r = loose(roman)
    best = 0.0
    flaps = (False, True) if any(c in _FLAPS for c in devanagari) else (False,)
    nasals = ("n", "") if any(c in _ANUSVARA for c in devanagari) else ("n",)
    spellings = []
    for inherent, flap, nasal in ((i, f, n) for i in ("a", "") for f in flaps for n in nasals):
        plain = transliterate(devanagari, inherent, flap, nasal)
        spellings.append((plain, 0.0))
        if inherent:  # as spoken (सरकार sarkaar, सहयोग sahyog), a little behind the letters
            spoken = _MEDIAL_SCHWA.sub(r"\1", plain)
            if spoken != plain:
                spellings.append((spoken, _SPOKEN_COST))
    for plain, penalty in spellings:
        d = loose(plain)
        if not r or not d:
            continue
        raw = 0.2 * _closeness(roman.lower(), plain)
        distances = _prefix_distances(d, r)
        for cut in range(max(1, len(d) - 2), min(len(r), len(d) + 2) + 1):
            tail = r[cut:]
            cost = 0.0 if not tail else 0.05 if tail in _INFLECTIONS else 0.12 * len(tail)
            closeness = 1.0 - distances[cut] / max(cut, len(d))
            best = max(best, 0.8 * (closeness - cost) + raw - penalty)
    return max(0.0, best)


@lru_cache(maxsize=1)
def suffix_keys() -> tuple[str, ...]:
    """Key tails of the Hindi inflections a stemmer strips, longest first.

    The index holds stems (``घरों`` -> ``घर``), a user types the whole word
    (``gharon``): its key minus one of these tails is looked up too.

    >>> suffix_keys()[0] == "" and "g" in suffix_keys()
    True
    """
    endings = [
        "ों", "ें", "ीं", "ियों", "ियां", "ाओं", "ाएं", "ने", "ना", "नी", "ता", "ती", "ते",
        "ाना", "ाने", "ानी", "ाता", "ाती", "ाते", "कर", "ेगा", "ेगी", "ेंगे", "ेंगी",
        "ूंगा", "ूंगी", "ाया", "ाई", "ाए", "ाकर", "वाला", "वाली", "वाले", "पन", "ता", "ियाँ",
        "ाइयां", "ाइयों", "ावट", "ाहट", "ित", "िक", "ीय", "ात्मक", "कार",
    ]  # fmt: skip
    base = key("क")
    tails = {""}
    for ending in endings:
        full = key("क" + ending)
        if full.startswith(base):
            tails.add(full[len(base):])
    return tuple(sorted(tails, key=lambda t: (bool(t), -len(t), t)))


def candidate_keys(roman: str) -> tuple[str, ...]:
    """The keys under which the index stem of a roman word may be filed.

    Besides the word's own key: its key without an inflection tail (the index
    holds stems: ``karenge`` -> कर) and, since the index folds the nukta
    (ड़ = ड), an ``r``/``rh`` typed for ड़/ढ़ read as ``d`` (``ladki`` = लड़की),
    and an English ``g`` before ``e``/``i`` as ``j`` (``digital`` = डिजिटल).

    >>> candidate_keys("karenge")[:2]
    ('krg', 'kr')
    >>> "ldk" in candidate_keys("larki")
    True
    """
    base = key(roman)
    variants = [base]
    spelled = loose(roman)
    if "r" in spelled[1:]:
        variants.append(key(spelled[0] + re.sub(r"rh?", "d", spelled[1:])))
    if "h" in spelled[1:]:  # English h: Delhi = दिल्ली
        variants.append(key(spelled[0] + spelled[1:].replace("h", "")))
    if re.search(r"g(?=[ie])", spelled):  # English spellings: digital, agency
        variants.append(key(re.sub(r"g(?=[ie])", "j", spelled)))
    keys: list[str] = []
    for variant in variants:
        for tail in suffix_keys():
            if not tail:
                stem = variant
            elif variant.endswith(tail) and len(variant) > len(tail):
                stem = variant[: -len(tail)]
            else:
                continue
            if stem not in keys:
                keys.append(stem)
    return tuple(keys)


def best_matches(
    roman: str, terms: Iterable[str], *, limit: int = 8, min_score: float = 0.6
) -> list[tuple[str, float]]:
    """The ``limit`` Devanagari ``terms`` closest to ``roman``, with their scores,
    best first; ties go to the shorter (more common, less inflected) term.

    >>> [t for t, _ in best_matches("sahyog", ["सहयोग", "सहयोगी", "सुहाग", "शहर"])]
    ['सहयोग', 'सहयोगी']
    """
    scored = [(term, similarity(roman, term)) for term in set(terms)]
    scored = [(t, s) for t, s in scored if s >= min_score]
    scored.sort(key=lambda ts: (-ts[1], len(ts[0]), ts[0]))
    return scored[:limit]


def best_readings(
    alternatives: Sequence[Sequence[str]], weights: Sequence[Sequence[float]], cap: int
) -> list[tuple[tuple[str, ...], float]]:
    """The ``cap`` term sequences with the highest product of weights: the readings a
    phrase of romanized words is searched as (a beam search, so ten words with eight
    readings each cost 10 x cap x 8 steps, not 8**10).

    >>> best_readings([["भारत", "भरत"], ["रूस"]], [[1.0, 0.8], [1.0]], 2)
    [(('भारत', 'रूस'), 1.0), (('भरत', 'रूस'), 0.8)]
    """
    beam: list[tuple[float, tuple[str, ...]]] = [(1.0, ())]
    for i, terms in enumerate(alternatives):
        ws = weights[i] if i < len(weights) else (1.0,) * len(terms)
        extended = [(score * w, seq + (t,)) for score, seq in beam for t, w in zip(terms, ws)]
        beam = heapq.nlargest(cap, extended, key=lambda sw: sw[0])
    return [(seq, score) for score, seq in beam]


# --------------------------------------------------------------------------
# Completing a romanized prefix with the index's own words
# --------------------------------------------------------------------------

_LONG_VOWELS = re.compile(r"aa|ii|uu|ee|oo")


def _spelled(latin: str) -> str:
    """A Latin spelling with only doubled vowels folded: closer to how a word is
    typed than :func:`loose` (``bh`` is not ``b``: भारत ``bharat``, बार ``bar``)."""
    return _LONG_VOWELS.sub(lambda m: m.group()[0], latin.lower())


def _prefix_closeness(typed: str, text: str) -> float:
    """1 - the edit distance between ``typed`` and the closest prefix of ``text``
    (one letter shorter to one longer), over the length typed."""
    distances = _prefix_distances(typed, text[: len(typed) + 1])
    return 1.0 - min(distances[max(0, len(typed) - 1):] or [len(typed)]) / len(typed)


class RomanCompletions:
    """Completions of a Latin-script prefix with Devanagari words: ``bhar`` ->
    भारत, भारतीय; ``kis`` -> किसान; ``dill`` -> दिल्ली.

    The words are filed under their :func:`key` (the consonant skeleton, which a
    romanized prefix shares whatever its vowels); a prefix finds the words whose
    key starts with its own, keeps those whose spelling begins like the prefix
    (:func:`loose` folding, at most one letter in four off), and ranks them by
    how closely they begin with it as typed, then by how many documents have them.

    >>> c = RomanCompletions({"भारत": 50, "भारतीय": 30, "बार": 90, "किसान": 10, "कसम": 40})
    >>> [w for w, _, _ in c.complete("bhar")]
    ['भारत', 'भारतीय', 'बार']
    >>> [w for w, _, _ in c.complete("kis")]
    ['किसान']
    >>> [(w, spelled) for w, _, spelled in RomanCompletions({"सरकार": 9, "सहयोग": 5}).complete("sa")]
    [('सरकार', 'sarkar'), ('सहयोग', 'sahyog')]
    """

    #: Letters a prefix needs before it is completed (one letter matches a tenth of a language).
    MIN_LETTERS = 2
    #: How close a word's start must be to the prefix, after folding.
    MIN_CLOSENESS = 0.75

    def __init__(self, documents: dict[str, int], min_documents: int = 1) -> None:
        rows = []
        for word, count in documents.items():
            if count < min_documents or word.isascii():
                continue
            written = transliterate(word)
            for plain in {written, _MEDIAL_SCHWA.sub(r"\1", written)}:  # भारतीय: bharatiy and bhartiy
                rows.append((key(word), word, count, loose(plain), _spelled(plain)))
        rows.sort()
        self._keys = [row[0] for row in rows]
        self._rows = rows

    def complete(self, prefix: str, limit: int = 10) -> list[tuple[str, int, str]]:
        """``[(word, documents, its Latin spelling)]``, best first."""
        typed = re.sub(r"[^a-z]", "", prefix.lower())
        if len(typed) < self.MIN_LETTERS:
            return []
        # An English h after l, m, n, r, v, y is often silent in the Devanagari word
        # (delhi = दिल्ली): that reading too, a little behind the one as typed.
        variants = {typed: 0.0}
        silent_h = typed[0] + re.sub(r"(?<=[lmnrvy])h", "", typed[1:])
        if silent_h != typed:
            variants[silent_h] = 0.1
        found: dict[str, tuple[float, int, str]] = {}
        for variant, penalty in variants.items():
            for closeness, count, word, spelled_word in self._matches(variant):
                score = round(0.8 * closeness + 0.2 * _prefix_closeness(_spelled(variant), spelled_word) - penalty, 2)
                if word not in found or found[word][0] < score:
                    found[word] = (score, count, spelled_word)
        ranked = sorted(found.items(), key=lambda wb: (-wb[1][0], -wb[1][1], wb[0]))
        return [(word, count, spelled) for word, (_, count, spelled) in ranked[:limit]]

    #: Candidates of one reading scored as typed: the closest, most common ones.
    _SCORED = 50

    def _matches(self, typed: str) -> list[tuple[float, int, str, str]]:
        """``[(closeness, documents, word, spelling)]`` of the words a prefix may begin:
        those beginning with it exactly (after folding) and, only when they are few,
        those a letter in four off (an edit distance per word is the costly part)."""
        folded, skeleton = loose(typed), key(typed)
        if not folded:
            return []
        lo = bisect.bisect_left(self._keys, skeleton)
        hi = bisect.bisect_left(self._keys, skeleton + "\x7f")
        rows = self._rows[lo:hi]
        exact = [(1.0, row[2], row[1], row[4]) for row in rows if row[3].startswith(folded)]
        exact = list({m[2]: m for m in sorted(exact, key=lambda m: -len(m[3]))}.values())  # one per word, as spoken
        if len(exact) < self._SCORED:
            start = folded[:2]
            for _, word, count, folded_word, spelled_word in rows:
                if folded_word.startswith(start) and not folded_word.startswith(folded):
                    closeness = _prefix_closeness(folded, folded_word)
                    if closeness >= self.MIN_CLOSENESS:
                        exact.append((closeness, count, word, spelled_word))
        return heapq.nlargest(self._SCORED, exact, key=lambda m: (m[0], m[1]))

