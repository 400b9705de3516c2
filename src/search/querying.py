"""User query -> a small query tree of analysed terms.

The syntax (one documented language, parsed here, never a 500)::

    भारत रूस               every word required (stop words like और, में dropped)
    (more than 2 words, no operators: any word, ranked; see :func:`parse`)
    "सैन्य सहयोग"           phrase: these words, adjacent, in this order
    भारत OR रूस             either word;  AND is implied between words
    -क्रिकेट  NOT क्रिकेट     exclude documents with the word
    (भारत OR चीन) सीमा       parentheses group
    title:मानसून  title:"…"  restrict a word or phrase to the title (or body:)
    भार*                    prefix: words starting with भार (2+ letters)

Every word goes through the same :class:`~search.analysis.Analyzer` as the
documents, so ``हिन्दी`` finds ``हिंदी``. A word typed with inner punctuation
(``को-विकास``, ``ISIS/दाएश``) becomes the phrase of its parts. Sloppy input is
read leniently where the intent is clear (an unclosed quote or parenthesis is
closed at the end, a stray ``)`` or dangling operator is ignored) and refused
with a :class:`QueryError` saying what to fix where it is not.

The tree is plain data; :mod:`search.engine` turns it into a Whoosh query and
:mod:`search.searching` uses it again to highlight what matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, Union

from .analysis import Analyzer, Token
from .config import Settings
from .romanized import is_roman

#: Looks up a romanized word: ``[(devanagari_term, weight)]``, best first.
RomanReader = Callable[[str], Sequence[tuple[str, float]]]

__all__ = [
    "QueryError",
    "Word",
    "Phrase",
    "Prefix",
    "And",
    "Or",
    "Not",
    "AnyWords",
    "Node",
    "parse",
    "describe",
    "positive_leaves",
    "FIELDS",
    "RomanReader",
]

#: Fields a user may name in ``field:word``.
FIELDS = ("title", "body")


#: Deepest nesting of parentheses a query may have (each level is a few frames of recursion).
MAX_NESTING = 50


class QueryError(ValueError):
    """The query cannot be searched; the message says what to fix."""


@dataclass(frozen=True)
class Word:
    """One word; a document matches if it has any of ``terms`` (alternative spellings).

    ``weights`` (one per term, 1.0 when absent) ranks the alternatives: a
    romanized word ``bharat`` is ``terms=("bharat", "भारत", "भरत")`` with the
    Devanagari readings weighted by how close their spelling is.
    """

    text: str
    terms: tuple[str, ...]
    field: str | None = None
    stop: bool = False
    quoted: bool = False  # typed in quotes: stays required in a long query
    weights: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Phrase:
    """Words that must stand next to each other, in order.

    ``quoted``: typed in quotes (rather than a word with inner punctuation
    such as ``को-विकास``), so it stays required in a long query.

    ``alternatives`` (when a phrase has romanized words) gives, per position,
    the terms that may stand there, best first, with their ``weights``;
    ``terms`` is then the best reading.
    """

    text: str
    terms: tuple[str, ...]
    field: str | None = None
    quoted: bool = False
    alternatives: tuple[tuple[str, ...], ...] | None = None
    weights: tuple[tuple[float, ...], ...] | None = None


@dataclass(frozen=True)
class Prefix:
    """Every word starting with ``prefix`` (normalised, not stemmed)."""

    text: str
    prefix: str
    field: str | None = None


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    child: "Node"


@dataclass(frozen=True)
class AnyWords:
    """A long plain query: documents with any of the words, best matches first.

    Ranked by how many of the words (and of the query's adjacent word pairs)
    a document has and how rare they are; see :func:`parse`.
    """

    children: tuple["Node", ...]


Node = Union[Word, Phrase, Prefix, And, Or, Not, AnyWords]

# --------------------------------------------------------------------------
# Lexing
# --------------------------------------------------------------------------

_LEX_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<phrase>"[^"]*"?)
  | (?P<neg>-(?=[("]))
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<chunk>[^\s"()]+)
    """,
    re.VERBOSE,
)
_OPERATORS = {"OR": "or", "AND": "and", "NOT": "not", "||": "or", "&&": "and"}
_FIELD_RE = re.compile(rf"^({'|'.join(FIELDS)}):(.*)$", re.DOTALL)


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # word | phrase | lparen | rparen | or | and | not | neg | field
    text: str = ""


def _lex(query: str) -> Iterator[_Lexeme]:
    for match in _LEX_RE.finditer(query):
        kind, text = match.lastgroup, match.group()
        if kind == "space":
            continue
        if kind == "phrase":
            yield _Lexeme("phrase", text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:])
        elif kind in ("lparen", "rparen", "neg"):
            yield _Lexeme(kind)
        elif text in _OPERATORS:
            yield _Lexeme(_OPERATORS[text])
        else:
            yield from _lex_chunk(text)


def _lex_chunk(text: str) -> Iterator[_Lexeme]:
    """Split ``-title:word*`` style prefixes off a chunk of non-space text."""
    while text[:1] in ("-", "+") and len(text) > 1:
        if text[0] == "-":
            yield _Lexeme("neg")
        text = text[1:]
    field_match = _FIELD_RE.match(text)
    if field_match:
        yield _Lexeme("field", field_match.group(1))
        text = field_match.group(2)
    if text:
        yield _Lexeme("word", text)


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the lexemes: or_expr := and_expr (OR and_expr)*."""

    def __init__(
        self,
        lexemes: list[_Lexeme],
        analyzer: Analyzer,
        max_terms: int,
        roman: RomanReader | None,
        roman_limit: int,
    ) -> None:
        self.lexemes = lexemes
        self.roman = roman
        self.roman_limit = roman_limit
        self.i = 0
        self.analyzer = analyzer
        self.max_terms = max_terms
        self.term_count = 0
        self.depth = 0  # open parentheses
        self.group_field: str | None = None  # the field of a title:( … ) group
        #: Whether the query uses operators (OR, AND, NOT, -, field:, *).
        #: Quotes and parentheses alone do not count: questions and headlines
        #: quote titles and bracket abbreviations.
        self.operators = any(
            lx.kind in ("or", "and", "not", "neg", "field") or (lx.kind == "word" and lx.text.endswith("*"))
            for lx in lexemes
        )

    def peek(self) -> str | None:
        return self.lexemes[self.i].kind if self.i < len(self.lexemes) else None

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.i]
        self.i += 1
        return lexeme

    def parse(self) -> Node | None:
        node = self.or_expr()
        while self.peek() is not None:  # a stray ')' ends or_expr early: skip it, go on
            self.take()
            more = self.or_expr()
            node = _join(And, [n for n in (node, more) if n is not None])
        return node

    def or_expr(self) -> Node | None:
        parts = [self.and_expr()]
        while self.peek() == "or":
            self.take()
            parts.append(self.and_expr())
        return _join(Or, [p for p in parts if p is not None])

    def and_expr(self) -> Node | None:
        parts: list[Node] = []
        while self.peek() not in (None, "or", "rparen"):
            if self.peek() == "and":
                self.take()
                continue
            node = self.unary()
            if node is not None:
                parts.append(node)
        return _join(And, _drop_stop_words(parts))

    def unary(self) -> Node | None:
        negate = False
        while self.peek() in ("not", "neg"):
            self.take()
            negate = not negate
        node = self.primary()
        if node is None or not negate:
            return node
        return node.child if isinstance(node, Not) else Not(node)

    def primary(self) -> Node | None:
        kind = self.peek()
        if kind is None or kind in ("or", "rparen"):
            return None  # dangling operator: nothing to apply it to
        lexeme = self.take()
        if lexeme.kind == "lparen":
            return self.group(self.group_field)
        field = self.group_field
        if lexeme.kind == "field":
            field = lexeme.text
            if self.peek() == "lparen":  # title:(भारत OR रूस): the field applies to every word inside
                self.take()
                return self.group(field)
            if self.peek() not in ("word", "phrase"):
                return None
            lexeme = self.take()
        if lexeme.kind == "phrase":
            return self.words(lexeme.text, field, quoted=True)
        if lexeme.kind == "word":
            return self.words(lexeme.text, field, quoted=False)
        return None  # 'and' handled by the caller; anything else is noise

    def group(self, field: str | None) -> Node | None:
        """What follows an opening parenthesis, up to its closing one."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise QueryError(f"the query nests parentheses deeper than {MAX_NESTING} levels")
        outer, self.group_field = self.group_field, field
        node = self.or_expr()
        self.group_field = outer
        self.depth -= 1
        if self.peek() == "rparen":
            self.take()
        return node

    def words(self, text: str, field: str | None, quoted: bool) -> Node | None:
        if not quoted and text.endswith("*"):
            return self.prefix(text, field)
        tokens = list(self.analyzer.tokens(text))
        self.count(len(tokens))
        if not tokens:
            return None
        readings = [self.readings(t) for t in tokens]
        if len(tokens) == 1:
            (terms, weights, stop) = readings[0]
            return Word(text, terms, field, stop=stop and not quoted, quoted=quoted, weights=weights)
        if all(weights is None for _, weights, _ in readings):
            return Phrase(text, tuple(t.term for t in tokens), field, quoted=quoted)
        return Phrase(
            text,
            tuple(terms[0] for terms, _, _ in readings),
            field,
            quoted=quoted,
            alternatives=tuple(terms for terms, _, _ in readings),
            weights=tuple(weights or (1.0,) * len(terms) for terms, weights, _ in readings),
        )

    def readings(self, token: Token) -> tuple[tuple[str, ...], tuple[float, ...] | None, bool]:
        """``(terms, weights, stop)`` of one token: itself, plus for a romanized
        word the Devanagari terms it may stand for (best first)."""
        if self.roman is None or not is_roman(token.text):
            return (token.term,), None, token.stop
        matches = self.roman(token.text)
        if not matches:
            return (token.term,), None, token.stop
        # ``ki``, ``ke``, ``mein``: read as की, के, में they are stop words, and
        # then their Devanagari reading comes first (a stop reading close to the
        # best one is enough: रुप/रूप). A word that is not read
        # as a stop word does not match stop words either (``sainya`` is not से).
        best, best_weight = matches[0]
        stops = [(t, w) for t, w in matches if self.analyzer.word(t)[1]]
        stop = token.stop or bool(stops and stops[0][1] >= max(0.75, best_weight - 0.1))
        if stop and stops:
            best = stops[0][0]
        if not stop:  # (unless it is close: ekta is एकता, stemmed एक)
            matches = [(t, w) for t, w in matches if w >= 0.85 or not self.analyzer.word(t)[1]]
        matches = matches[: self.roman_limit]
        pairs = [(token.term, 1.0)] + [(t, w) for t, w in matches if t != token.term]
        if stop:
            pairs.sort(key=lambda tw: tw[0] != best)
        return tuple(t for t, _ in pairs), tuple(w for _, w in pairs), stop

    def prefix(self, text: str, field: str | None) -> Node | None:
        stem = text.rstrip("*")
        tokens = list(self.analyzer.tokens(stem))
        if not tokens:
            return None
        if len(tokens) > 1 or tokens[-1].end != len(stem):
            raise QueryError(f"a prefix query takes one word before the '*': {text!r}")
        self.count(1)
        prefix = self.analyzer.prefix_term(tokens[0].text)
        if len(prefix) < 2:
            raise QueryError(f"a prefix needs at least 2 letters before the '*': {text!r}")
        return Prefix(text, prefix, field)

    def count(self, n: int) -> None:
        self.term_count += n
        if self.term_count > self.max_terms:
            raise QueryError(f"the query has more than {self.max_terms} words; shorten it")


def _join(kind: type, parts: list[Node]) -> Node | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.children if isinstance(part, kind) else (part,))
    # A OR A is A, and a prefix twice expands twice (200 × भा* ran into the time
    # limit); a repeated plain word stays, counting for a long query's ranking.
    seen: set[Node] = set()
    kept = []
    for part in flat:
        if kind is Or or isinstance(part, Prefix):
            if part in seen:
                continue
            seen.add(part)
        kept.append(part)
    return kept[0] if len(kept) == 1 else kind(tuple(kept))


def _drop_stop_words(parts: list[Node]) -> list[Node]:
    """Stop words add nothing to a keyword query but cost time: drop them,
    unless the query is nothing but stop words (then they are what was asked)."""
    kept = [p for p in parts if not (isinstance(p, Word) and p.stop)]
    return kept if any(not isinstance(p, Not) for p in kept) else parts


#: Plain queries with at most this many words (after dropping stop words)
#: require every word; longer ones, typically a sentence or a headline pasted
#: into the box, find documents with any of their words, best matches first.
ALL_WORDS_MAX = 2


def parse(
    query: str,
    analyzer: Analyzer,
    *,
    max_terms: int = Settings.max_query_terms,
    all_words_max: int = ALL_WORDS_MAX,
    quotes_required: bool = True,
    roman: RomanReader | None = None,
    roman_limit: int = 8,
) -> Node:
    """Parse ``query`` into a tree; raise :class:`QueryError` if nothing searchable is left.

    With ``roman``, each Latin-script word also stands for (at most
    ``roman_limit`` of) the Devanagari terms ``roman`` reads it as
    (``bharat`` -> भारत); Devanagari words never call it.

    >>> describe(parse('भारत और रूस "सैन्य सहयोग" -क्रिकेट', Analyzer()))
    'भारत AND रुस AND "सैन्य सहयोग" AND NOT क्रिकेट'

    A query without operators (no ``OR``, ``AND``, ``NOT``, ``-``,
    ``field:`` or ``*``) of more than ``all_words_max`` words (quoted phrases
    aside) is a natural sentence rather than a keyword list; requiring all its
    words would find almost nothing, so its words become :class:`AnyWords`,
    ranked. Quoted phrases in it stay required (with ``quotes_required``
    false they only add to the score where their words stand together):

    >>> describe(parse("दिल्ली में कोरोना के 50 नए मामले, मरीजों की संख्या बढ़ी", Analyzer()))
    'ANY(दिल्ल कोरोन 50 नए मामल मरिज संख्य बढ)'
    >>> describe(parse('रवीन्द्रनाथ टैगोर की "गीतांजलि" का केंद्रीय विषय (थीम) क्या है?', Analyzer()))
    'गितांजल AND ANY(रविंद्रनाथ टैगोर केंद्रिय विषय थिम)'
    """
    parser = _Parser(list(_lex(query)), analyzer, max_terms, roman, roman_limit)
    node = parser.parse()
    if node is None:
        raise QueryError("the query has no words to search for")
    if not positive_leaves(node):
        raise QueryError("the query only excludes words: add at least one word to find")
    if not parser.operators:
        node = _loosen(node, all_words_max, quotes_required, analyzer)
    return node


def _loosen(node: Node, all_words_max: int, quotes_required: bool, analyzer: Analyzer) -> Node:
    """A query of words (and quoted phrases) with more than ``all_words_max``
    words: quoted phrases required, the words any-of, ranked. Unless quotes
    are required, a quoted phrase is one more any-of clause, and so is each
    of its words (stop words aside)."""
    leaves = positive_leaves(node)
    if all(getattr(leaf, "quoted", False) for leaf in leaves):
        return node  # nothing but quotes: exactly what was asked
    quoted = [leaf for leaf in leaves if quotes_required and getattr(leaf, "quoted", False)]
    words: list[Node] = []  # the any-of clauses
    for leaf in leaves:
        if leaf in quoted:
            continue
        words.append(leaf)
        if isinstance(leaf, Phrase) and leaf.quoted:
            words.extend(
                Word(term, (term,), leaf.field) for term in leaf.terms if not analyzer.word(term)[1]
            )
    if len(words) <= max(all_words_max, 1):
        return node
    return _join(And, [*quoted, AnyWords(tuple(words))])


def positive_leaves(node: Node) -> list[Union[Word, Phrase, Prefix]]:
    """The words, phrases and prefixes a matching document may contain (for highlighting)."""
    if isinstance(node, (Word, Phrase, Prefix)):
        return [node]
    if isinstance(node, Not):
        return []
    return [leaf for child in node.children for leaf in positive_leaves(child)]


def describe(node: Node) -> str:
    """How the query was understood, in terms of index terms (for ``parsed``)."""
    if isinstance(node, Word):
        text = "|".join(node.terms) if len(node.terms) > 1 else node.terms[0]
        return f"{node.field}:{text}" if node.field else text
    if isinstance(node, Phrase):
        words = ["|".join(a) for a in node.alternatives] if node.alternatives else node.terms
        text = '"' + " ".join(words) + '"'
        return f"{node.field}:{text}" if node.field else text
    if isinstance(node, Prefix):
        return f"{node.field}:{node.prefix}*" if node.field else f"{node.prefix}*"
    if isinstance(node, Not):
        child = describe(node.child)
        return f"NOT ({child})" if isinstance(node.child, (And, Or)) else f"NOT {child}"
    if isinstance(node, AnyWords):
        return "ANY(" + " ".join(describe(c) for c in node.children) + ")"
    joiner = " AND " if isinstance(node, And) else " OR "
    inner = [describe(c) if not isinstance(c, (And, Or)) else f"({describe(c)})" for c in node.children]
    return joiner.join(inner)
