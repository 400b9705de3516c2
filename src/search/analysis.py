"""Hindi text analysis: text -> terms, with offsets into the original text.

This is the heart of the product. Stock tokenizers treat Devanagari vowel signs
and the virama as punctuation, so ``भारत`` falls apart into ``भ | रत``. Here a
word is a whole run of Devanagari letters *and* their combining signs, and each
word then goes through a short, visible chain of steps::

    tokenize  ->  normalise  ->  stop (marked)  ->  stem

    "भारत और रूस ने हिन्दी में…"
    tokens:   भारत | और | रूस | ने | हिन्दी | में
    normalise: भारत | और | रूस | ने | हिंदी  | में
    stop:      भारत | (और) | रूस | (ने) | हिंदी | (में)
    stem:      भारत | (और) | रूस | (ने) | हिंद  | (में)

Which steps run is decided by :class:`AnalysisOptions`, the one switch board.
Stop words are *marked*, not dropped: the index keeps them (so the phrase
``"भारत और रूस"`` matches exactly those three words in a row) and the query
side drops them from keyword queries, where they only cost time.

The chain works word by word and remembers each word it has seen, because
Hindi vocabulary is Zipfian: almost every token of a new document is a word
already analysed, so analysis costs one dictionary lookup per token.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import partial
from itertools import accumulate, islice
from typing import Callable, Iterator

import Stemmer

__all__ = [
    "ANALYSIS_VERSION",
    "AnalysisOptions",
    "Analyzer",
    "Token",
    "STOP_WORDS",
    "fold_vowel_length",
    "normalise",
    "tokenize",
    "words",
]

# --------------------------------------------------------------------------
# Tokenizing: find the words and where they are.
# --------------------------------------------------------------------------

#: Devanagari letters, vowel signs, virama, nukta, anusvara, chandrabindu,
#: visarga and Vedic signs, plus ZWJ/ZWNJ (which shape a conjunct and must
#: never split a word). Not included: danda ``।`` (U+0964), double danda ``॥``
#: (U+0965), Devanagari digits (U+0966–096F, numbers are their own tokens) and
#: the abbreviation sign ``॰`` (U+0970): those separate words.
_DEVANAGARI = "\u0900-\u0963\u0971-\u097f\ua8e0-\ua8ff\u1cd0-\u1cff\u200c\u200d"
_DIGIT = "0-9\u0966-\u096f"
#: Any other letter (Latin, other scripts), optionally with digits inside
#: (``G20``, ``COVID19``, also written ``COVID१९``) and joined by ``&`` or an
#: apostrophe (``M&MTC``).
_OTHER_LETTER = r"[^\W\d_\u0900-\u097f]"
_OTHER_CHAR = r"(?:[^\W_\u0900-\u097f]|[\u0300-\u036f\u0966-\u096f])"

_WORD_RE = re.compile(
    rf"[{_DEVANAGARI}]+"
    rf"|[{_DIGIT}]+(?:[.,][{_DIGIT}]+)*"
    rf"|{_OTHER_LETTER}{_OTHER_CHAR}*(?:[&'’]{_OTHER_CHAR}+)*"
)


#: :data:`_WORD_RE` as one group: ``split`` gives the gaps and the words in turn.
_WORD_SPLIT_RE = re.compile(f"({_WORD_RE.pattern})")


def words(text: str) -> list[str]:
    """The words of ``text`` as :func:`tokenize` finds them, without offsets (one C-level pass).

    >>> words("भारत और रूस, G20 में।")
    ['भारत', 'और', 'रूस', 'G20', 'में']
    """
    return _WORD_RE.findall(text)


def tokenize(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield ``(word, start, end)`` for each word, offsets into ``text``.

    >>> [w for w, _, _ in tokenize("ISIS/दाएश और IRIGC-M&MTC की 22वीं बैठक।")]
    ['ISIS', 'दाएश', 'और', 'IRIGC', 'M&MTC', 'की', '22', 'वीं', 'बैठक']

    Hyphenated compounds are two words (``को-विकास`` -> ``को``, ``विकास``), so
    a search for ``विकास`` finds them; a query word typed with the hyphen
    becomes the phrase of its parts.
    """
    for match in _WORD_RE.finditer(text):
        yield match.group(), match.start(), match.end()


# --------------------------------------------------------------------------
# Normalising: make the common spellings of one word meet.
# --------------------------------------------------------------------------

_NUKTA = "\u093c"
_VIRAMA = "\u094d"
_ANUSVARA = "\u0902"
_CHANDRABINDU = "\u0901"
_ZW = "\u200c\u200d"
_CONSONANT = "\u0915-\u0939\u0958-\u095f\u0978-\u097f"

#: A nasal consonant (ङ ञ ण न म) + virama before a stop consonant (क … भ)
#: is the same sound as an anusvara: हिन्दी = हिंदी, सम्बन्ध = संबंध. Before
#: य र ल व श स ह and other nasals it is not (सैन्य, अन्य, सम्मान stay).
_STOPS = "\u0915-\u0918\u091a-\u091d\u091f-\u0922\u0924-\u0927\u092a-\u092d"
_NASAL_CLUSTER_RE = re.compile(rf"[\u0919\u091e\u0923\u0928\u092e]{_VIRAMA}(?=[{_STOPS}])")
#: ये / यी after a vowel sound are spelled ए / ई just as often, at the end of
#: a word and inside it: गये = गए, नयी = नई, लिये = लिए, जायेगा = जाएगा,
#: गयीं = गईं, थियेटर = थिएटर. Only after a vowel, so the pronoun ये and
#: words like नियम, प्रयोग are untouched. यि is यी with the vowel length
#: slipped (हुयि for हुयी = हुई), and इ in its own right (सामुदायिक = सामुदाइक).
_YE_RE = re.compile(rf"(?<=[\u0905-\u0914{_CONSONANT}\u093e-\u094c])य([\u0947\u0940\u093f])({_ANUSVARA}?)")
_YE_VOWEL = {"\u0947": "\u090f", "\u0940": "\u0908", "\u093f": "\u0907"}  # े -> ए, ी -> ई, ि -> इ
_FOLD_TABLE = str.maketrans(
    {
        _NUKTA: None,  # ज़ोर -> जोर, फ़ैसला -> फैसला
        _CHANDRABINDU: _ANUSVARA,  # गाँव -> गांव
        "\u200c": None,  # ZWNJ and ZWJ only choose a glyph shape
        "\u200d": None,
        ",": None,  # 1,20,000 -> 120000
        **{chr(0x0966 + d): str(d) for d in range(10)},  # २०२६ -> 2026
    }
)


def normalise(word: str) -> str:
    """Fold the spelling variants of one word onto one form.

    >>> [normalise(w) for w in ["ज़ोर", "गाँव", "हिन्दी", "सम्बन्ध", "गये", "२०२६", "BRICS"]]
    ['जोर', 'गांव', 'हिंदी', 'संबंध', 'गए', '2026', 'brics']

    Decomposing first (NFD) also turns the precomposed nukta letters
    (U+0958–095F, e.g. ज़ as one code point) into consonant + nukta, so both
    encodings fold the same way. Long and short vowels are *not* folded: कि
    and की, दिन and दीन are different words.
    """
    word = unicodedata.normalize("NFD", word).translate(_FOLD_TABLE)
    word = _NASAL_CLUSTER_RE.sub(_ANUSVARA, word)
    word = _YE_RE.sub(lambda m: _YE_VOWEL[m.group(1)] + m.group(2), word)
    return unicodedata.normalize("NFC", word).lower()


# --------------------------------------------------------------------------
# Stop words: function words that carry no topic.
# --------------------------------------------------------------------------

_STOP_WORDS_TEXT = """
और तथा एवं व या अथवा कि की का के को से में पर ने तक भी ही तो न नहीं ना
है हैं था थे थी थीं हो होता होती होते होना होने हुआ हुई हुए हुईं रहा रही रहे
गया गई गए गयी गये जा जाता जाती जाते जाना जाने जाएगा जाएगी जाएंगे
किया किए किये करता करती करते करना करने करें करेंगे करेगा करेगी कराया
कहा कहते कहती कहना कहने
यह ये वह वे इस उस इन उन इसे उसे इन्हें उन्हें इसका इसकी इसके उसका उसकी उसके
इनका इनकी इनके उनका उनकी उनके इनमें उनमें इसमें उसमें इससे उससे इनसे उनसे
मैं हम तुम आप मुझे हमें तुम्हें आपको मेरा मेरी मेरे हमारा हमारी हमारे तुम्हारा
तुम्हारी तुम्हारे आपका आपकी आपके अपना अपनी अपने खुद स्वयं
जो जिस जिन जिसे जिन्हें जिसका जिसकी जिसके जिनका जिनकी जिनके जिसमें जिनमें
कौन क्या क्यों कैसे कहां कब कितना कितनी कितने कोई कुछ किसी किसे किन
सब सभी हर कई अन्य बहुत अधिक कम ज्यादा लिए लिये द्वारा बाद पहले साथ बीच
यहां वहां जहां तब जब अब फिर यदि अगर तो लेकिन परंतु किंतु मगर बल्कि इसलिए
क्योंकि चूंकि ताकि वाला वाली वाले रूप प्रति ओर तरह एक दो
"""

# --------------------------------------------------------------------------
# Stemming
# --------------------------------------------------------------------------


def _snowball_hindi() -> Callable[[str], str]:
    """Snowball's Hindi stemmer (PyStemmer, in C): a light suffix stripper.

    >>> stem = _snowball_hindi(); [stem(w) for w in ["देशों", "साझेदारी", "करेंगे"]]
    ['देश', 'साझेदार', 'कर']

    It runs after :func:`normalise`; its suffix list has both the anusvara
    and the chandrabindu forms (लड़कियां, लड़कियाँ), so nothing is lost.
    """
    return Stemmer.Stemmer("hindi").stemWord


#: The suffixes Snowball's Hindi stemmer removes, as they look after
#: :func:`normalise` (its chandrabindu forms are the anusvara forms here).
#: Those starting with a consonant (-ता, -ने, -कर ...) only follow a consonant.
_HINDI_SUFFIXES = """
ाइयां ाइयों ाऊंगा ाऊंगी ाएंगी ाएंगे इयां इयों ऊंगा ऊंगी एंगी एंगे ताएं ताओं नाएं नाओं
ाएगा ाएगी ाओगी ाओगे ातीं ियां ियों ूंगा ूंगी ेंगी ेंगे आइए आएं आओं आकर आता आती आना
आने आया उएं उओं एगा एगी ओगी ओगे तीं ाइए ाईं ाएं ाओं ाकर ाता ाती ाते ाना ाने ाया ुआं
ुएं ुओं ेगा ेगी ोगी ोगे आं आई इए ईं एं ओं कर ता ती ते ना नी ने ां ाई ाए ाओ िए ीं ें ों
अ आ इ ई उ ऊ ए ओ ा ि ी ु ू े ो ्
"""


def _folded_hindi(min_stem: int = 2) -> Callable[[str], str]:
    """Snowball's Hindi suffix stripping, on vowel-length-folded words.

    >>> stem = _folded_hindi(); [stem(w) for w in ["बीमारी", "बिमारि", "होगी", "होगि", "होगा", "देशों"]]
    ['बिमार', 'बिमार', 'होग', 'होग', 'होग', 'देश']
    >>> [_folded_hindi(1)(w) for w in ["होगी", "होगा", "नई"]]  # Snowball's own minimum
    ['ह', 'होग', 'न']

    The same rule as Snowball (remove the longest suffix that leaves at
    least ``min_stem`` letters; Snowball's own minimum is 1), but word and
    suffixes are both folded by :func:`fold_vowel_length` first, so a
    long/short vowel slip in the ending (होगि for होगी) is stripped like the
    right spelling. Lucene folds the word but not its suffix list, which
    loses every long-vowel suffix.
    """
    consonant = re.compile(f"[{_CONSONANT}]")
    # Suffixes starting with a consonant are matched as spelled: folded, -ती
    # would also strip the -ति of nouns (अनुमति, प्रगति, पति).
    folded_suffixes: dict[int, set[str]] = {}
    exact_suffixes: dict[int, set[str]] = {}
    for suffix in _HINDI_SUFFIXES.split():
        if consonant.match(suffix):
            exact_suffixes.setdefault(len(suffix), set()).add(suffix)
        else:
            folded = fold_vowel_length(suffix)
            folded_suffixes.setdefault(len(folded), set()).add(folded)
    lengths = sorted(set(folded_suffixes) | set(exact_suffixes), reverse=True)

    def stem(word: str) -> str:
        folded = fold_vowel_length(word)
        for n in lengths:
            if len(word) < n + min_stem:
                continue
            if word[-n:] in exact_suffixes.get(n, ()):
                # like Snowball: a consonant, not the word's first letter, before it
                if len(word) > n + 1 and consonant.match(word[-n - 1]):
                    return folded[:-n]
            elif folded[-n:] in folded_suffixes.get(n, ()):
                return folded[:-n]
        return folded

    return stem


# --------------------------------------------------------------------------
# Vowel length
# --------------------------------------------------------------------------

#: Long vowel signs and vowels -> their short counterparts (ी -> ि, ू -> ु,
#: ई -> इ, ऊ -> उ).
_VOWEL_LENGTH_TABLE = str.maketrans({"\u0940": "\u093f", "\u0942": "\u0941", "\u0908": "\u0907", "\u090a": "\u0909"})


def fold_vowel_length(stem: str) -> str:
    """Fold long i/u onto short ones, *after* stemming: बीमारी, बिमारी -> बिमार.

    >>> [fold_vowel_length(s) for s in ["बीमार", "बिमार", "पूर", "ईद"]]
    ['बिमार', 'बिमार', 'पुर', 'इद']

    Writers confuse ि/ी and ु/ू more than any other letters. Folding before
    the stemmer (as Lucene's Hindi normaliser does) hides half of the
    stemmer's suffixes from it; folding its output keeps every suffix rule.
    """
    return stem.translate(_VOWEL_LENGTH_TABLE)


# --------------------------------------------------------------------------
# The analyzer
# --------------------------------------------------------------------------


#: Bumped whenever a change to this module changes the terms of some text:
#: an index built by another version must be rebuilt (``engine`` checks).
ANALYSIS_VERSION = 3


@dataclass(frozen=True)
class AnalysisOptions:
    """Which steps of the chain run. One place to switch each of them."""

    normalise: bool = True
    stop: bool = True
    stem: bool = True
    #: Fold long/short ि ी and ु ू (see :func:`fold_vowel_length`).
    fold_vowels: bool = True
    #: "folded": with ``fold_vowels``, Snowball's Hindi suffixes stripped
    #: from the folded word (without it, Snowball as is). "snowball":
    #: Snowball's Hindi stemmer as is, its output folded with ``fold_vowels``.
    stemmer: str = "folded"
    #: How many opening words of a body also form its *lead* (a field of its
    #: own, ranked beside the body): a news story says in its first sentence
    #: or two what its headline says. 0: no lead field.
    lead_words: int = 50
    #: The shortest stem the "folded" stemmer leaves, in letters. Snowball's 1
    #: turns नई, नए into न (the word "not"), माता, मां into म and भाई into भ;
    #: with 2 the longest suffix that leaves two letters goes: भाई, भाइयों ->
    #: भा; माता, माताएं -> मात; नई -> नइ. An index built before this option
    #: existed keeps 1 (see ``engine.HindiTokenizer``).
    min_stem: int = 2

    def as_dict(self) -> dict[str, bool | str]:
        return asdict(self)


@dataclass(slots=True)
class Token:
    """One word of a text: its surface form, its index term and where it is."""

    text: str
    term: str
    start: int
    end: int
    pos: int
    stop: bool = False


@dataclass
class Analyzer:
    """Turns text into :class:`Token` s, remembering each word it analysed.

    >>> [t.term for t in Analyzer().tokens("भारत और रूस ने अपनी दीर्घकालिक रणनीतिक साझेदारी")]
    ['भारत', 'और', 'रुस', 'ने', 'अपनी', 'दिर्घकालिक', 'रणनितिक', 'साझेदार']
    """

    options: AnalysisOptions = field(default_factory=AnalysisOptions)
    cache_size: int = 500_000

    def __post_init__(self) -> None:
        steps: list[Callable[[str], str]] = []
        if self.options.normalise:
            steps.append(normalise)
        else:
            steps.append(str.lower)
        self._normalisers = tuple(steps)
        if self.options.stemmer not in ("snowball", "folded"):
            raise ValueError(f"unknown stemmer {self.options.stemmer!r}: use 'snowball' or 'folded'")
        folded = self.options.stemmer == "folded" and self.options.fold_vowels
        stemmer = partial(_folded_hindi, max(self.options.min_stem, 1)) if folded else _snowball_hindi
        self._stem = stemmer() if self.options.stem else None
        self._stops = (
            frozenset(self.normalise_word(w) for w in _STOP_WORDS_TEXT.split())
            if self.options.stop
            else frozenset()
        )
        #: With vowel length folded, a misspelled stop word (नहिं, लीए) is still one.
        self._folded_stops = (
            frozenset(fold_vowel_length(w) for w in self._stops) if self.options.fold_vowels else None
        )
        self._cache: dict[str, tuple[str, bool]] = {}
        self._norms: dict[str, str] = {}  # surface word -> normalise_word(word), filled by word()

    def normalise_word(self, word: str) -> str:
        """The normalised (unstemmed) form of one word, as prefix queries need it."""
        for step in self._normalisers:
            word = step(word)
        return word

    def normalised(self, word: str) -> str:
        """:meth:`normalise_word`, remembered: :meth:`word` normalises each new word
        anyway, and the vocabulary asks again for every word an ingest counts.

        >>> Analyzer().normalised("हिन्दी")
        'हिंदी'
        """
        norm = self._norms.get(word)
        if norm is None:
            norm = self.normalise_word(word)
            if len(self._norms) >= self.cache_size:
                self._norms.clear()
            self._norms[word] = norm
        return norm

    def prefix_term(self, word: str) -> str:
        """The form a prefix typed by a user is matched against index terms in.

        >>> Analyzer(AnalysisOptions(fold_vowels=True)).prefix_term("बीमा")
        'बिमा'
        """
        word = self.normalise_word(word)
        return fold_vowel_length(word) if self.options.fold_vowels else word

    def word(self, word: str) -> tuple[str, bool]:
        """``(term, is_stop_word)`` for one surface word; empty term = nothing left."""
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        norm = self.normalise_word(word)
        is_stop = norm in self._stops or (self._folded_stops is not None and fold_vowel_length(norm) in self._folded_stops)
        term = norm
        if self._stem is not None and not is_stop and not norm.isascii():
            term = self._stem(norm) or norm
        if self.options.fold_vowels and not is_stop:
            term = fold_vowel_length(term)
        if len(self._cache) >= self.cache_size:
            self._cache.clear()
        if len(self._norms) >= self.cache_size:
            self._norms.clear()
        self._cache[word] = result = (term, is_stop)
        self._norms[word] = word if norm == word else norm  # mostly the same text: keep one string
        return result

    def tokens(self, text: str) -> Iterator[Token]:
        """Every word of ``text`` with its term; stop words are marked, not dropped."""
        # tokenize() and word() inlined: snippets analyse every hit's text per search.
        cache = self._cache
        pos = 0
        for match in _WORD_RE.finditer(text):
            surface = match.group()
            term, is_stop = cache.get(surface) or self.word(surface)
            if not term:  # e.g. a lone ZWNJ or nukta
                continue
            yield Token(surface, term, match.start(), match.end(), pos, is_stop)
            pos += 1

    def term_spans(self, text: str) -> tuple[list[str], list[int], list[int]]:
        """The terms of ``text`` and where each of its words starts and ends:
        :meth:`tokens` as three parallel lists, built in one regex pass and
        C-level loops (snippets analyse the text of every hit of every search).

        >>> Analyzer().term_spans("भारत और रूस")
        (['भारत', 'और', 'रुस'], [0, 5, 8], [4, 7, 11])
        """
        parts = _WORD_SPLIT_RE.split(text)  # gap, word, gap, word, ..., gap
        surfaces = parts[1::2]
        offsets = list(accumulate(map(len, parts)))
        starts, ends = offsets[0:-1:2], offsets[1::2]
        cache = self._cache
        entries = list(map(cache.get, surfaces))
        if None in entries:
            entries = [entry or self.word(w) for entry, w in zip(entries, surfaces)]
        terms = [entry[0] for entry in entries]
        if "" in terms:  # e.g. a lone ZWNJ or nukta: no token, as in tokens()
            kept = [i for i, t in enumerate(terms) if t]
            terms, starts, ends = [terms[i] for i in kept], [starts[i] for i in kept], [ends[i] for i in kept]
        return terms, starts, ends

    def _terms(self, text: str) -> Iterator[str]:
        """The terms of ``text`` in position order: one cache lookup per word."""
        cache = self._cache
        for match in _WORD_RE.finditer(text):
            surface = match.group()
            term = (cache.get(surface) or self.word(surface))[0]
            if term:
                yield term

    def index_terms(self, text: str) -> list[str]:
        """The terms of ``text`` in position order, as :meth:`tokens` gives them, without offsets.

        >>> Analyzer().index_terms("भारत और रूस ने हिन्दी में")
        ['भारत', 'और', 'रुस', 'ने', 'हिंद', 'में']
        """
        return list(self._terms(text))

    def opening_terms(self, text: str, count: int) -> list[str]:
        """The first ``count`` terms of ``text`` (its lead), reading no further than needed.

        >>> Analyzer().opening_terms("भारत और रूस ने हिन्दी में", 3)
        ['भारत', 'और', 'रुस']
        """
        return list(islice(self._terms(text), max(count, 0)))

    def term_positions(self, text: str, found: list[str] | None = None) -> dict[str, list[int]]:
        """Each term of ``text`` with its positions, in order of first occurrence: what
        :meth:`index_terms` gives, grouped in the same single pass (the ingest's postings).
        ``found``: the :func:`words` of ``text``, when the caller has them already.

        >>> Analyzer().term_positions("भारत और रूस ने भारत में")
        {'भारत': [0, 4], 'और': [1], 'रुस': [2], 'ने': [3], 'में': [5]}
        """
        cached = self._cache.get
        positions: dict[str, list[int]] = {}
        seen = positions.get
        pos = 0
        for surface in words(text) if found is None else found:
            term = (cached(surface) or self.word(surface))[0]
            if term:
                where = seen(term)
                if where is None:
                    positions[term] = [pos]
                else:
                    where.append(pos)
                pos += 1
        return positions

    def terms(self, text: str, *, drop_stop: bool = False) -> list[str]:
        """The index terms of ``text``; with ``drop_stop`` as a keyword query sees them."""
        return [t.term for t in self.tokens(text) if not (drop_stop and t.stop)]


#: The stop list as the default analyzer normalises it (for display and tests).
STOP_WORDS: frozenset[str] = Analyzer()._stops
