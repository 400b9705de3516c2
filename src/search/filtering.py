"""The ``filter`` parameter: a Meilisearch-style expression -> a small filter tree.

The syntax (keywords in any case)::

    source = "Amar Ujala"                      equal (quotes needed around spaces)
    category != khel                           not equal
    category IN [khel, rajneeti]               one of; NOT IN for none of
    published >= 2020-03-01                    >= > < <= on ISO dates (published only)
    published >= 2020-03 AND published <= 2020-04      a month or year means all of it: its first
                                               day after >= and <, its last after <= and >
    published 2020-03-01 TO 2020-03            both ends included (Meilisearch's TO): all of March
    NOT (source = "Jan Awaz" OR category = khel)       AND, OR, NOT, parentheses

``AND`` binds tighter than ``OR``, as in Meilisearch and SQL. Values match the
stored value exactly (``source = "amar ujala"`` does not find ``Amar Ujala``).
A malformed filter raises :class:`FilterError` saying at which character it
failed and what was expected there. The tree is plain data;
:mod:`search.engine` compiles it to a Whoosh filter.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Union

__all__ = [
    "FilterError", "Condition", "AllOf", "AnyOf", "Negate", "FilterNode", "parse_filter", "describe_filter", "FILTER_FIELDS",
    "date_bound",
]

#: Fields a filter may test, and which comparisons each allows.
FILTER_FIELDS = {"source": ("=", "!="), "category": ("=", "!="), "published": ("=", "!=", ">=", ">", "<", "<=")}


class FilterError(ValueError):
    """The filter cannot be read; the message says where and what was expected."""


@dataclass(frozen=True)
class Condition:
    """``field op value``; ``op`` is one of = != >= > < <= or ``in`` (``values`` holds the list)."""

    field: str
    op: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class AllOf:
    children: tuple["FilterNode", ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple["FilterNode", ...]


@dataclass(frozen=True)
class Negate:
    child: "FilterNode"


FilterNode = Union[Condition, AllOf, AnyOf, Negate]

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<op>!=|>=|<=|=|>|<)
  | (?P<punct>[()\[\],])
  | (?P<quoted>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<open_quote>["'])
  | (?P<bare>[^\s()\[\],=!<>"']+)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "TO"}
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


@dataclass(frozen=True)
class _Tok:
    kind: str  # op | punct | value | keyword | end
    text: str
    at: int  # 1-based character position, for messages
    quoted: bool = False


def _lex(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    for m in _TOKEN_RE.finditer(text):
        kind, value, at = m.lastgroup, m.group(), m.start() + 1
        if kind == "space":
            continue
        if kind == "open_quote":
            raise FilterError(f"at character {at}: the quote {value} is never closed")
        if kind == "quoted":
            inner = re.sub(r"\\(.)", r"\1", value[1:-1])
            tokens.append(_Tok("value", inner, at, quoted=True))
        elif kind == "bare" and value.upper() in _KEYWORDS:
            tokens.append(_Tok("keyword", value.upper(), at))
        elif kind == "bare":
            tokens.append(_Tok("value", value, at))
        else:
            tokens.append(_Tok(kind, value, at))
    tokens.append(_Tok("end", "", len(text) + 1))
    return tokens


class _Parser:
    """or := and (OR and)*;  and := unary (AND unary)*;  unary := NOT unary | ( or ) | condition."""

    def __init__(self, tokens: list[_Tok], max_depth: int = 50) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.max_depth = max_depth

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def fail(self, expected: str) -> FilterError:
        tok = self.tok
        found = "the end of the filter" if tok.kind == "end" else repr(tok.text)
        return FilterError(f"at character {tok.at}: expected {expected}, found {found}")

    def keyword(self, word: str) -> bool:
        if self.tok.kind == "keyword" and self.tok.text == word:
            self.i += 1
            return True
        return False

    def punct(self, char: str) -> bool:
        if self.tok.kind == "punct" and self.tok.text == char:
            self.i += 1
            return True
        return False

    def parse(self) -> FilterNode:
        node = self.or_expr()
        if self.tok.kind != "end":
            raise self.fail("AND, OR or the end of the filter")
        return node

    def or_expr(self) -> FilterNode:
        parts = [self.and_expr()]
        while self.keyword("OR"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def and_expr(self) -> FilterNode:
        parts = [self.unary()]
        while self.keyword("AND"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def unary(self) -> FilterNode:
        self.depth += 1
        if self.depth > self.max_depth:
            raise FilterError(f"at character {self.tok.at}: the filter nests deeper than {self.max_depth} levels")
        try:
            if self.keyword("NOT"):
                return Negate(self.unary())
            if self.punct("("):
                node = self.or_expr()
                if not self.punct(")"):
                    raise self.fail("')' or AND/OR")
                return node
            return self.condition()
        finally:
            self.depth -= 1

    def condition(self) -> Condition:
        tok = self.tok
        if tok.kind != "value" or tok.quoted:
            raise self.fail("a field name (" + ", ".join(FILTER_FIELDS) + ")")
        field = tok.text.lower()
        if field not in FILTER_FIELDS:
            raise FilterError(
                f"at character {tok.at}: unknown field {tok.text!r}; filter on " + ", ".join(FILTER_FIELDS)
            )
        self.i += 1
        if self.keyword("NOT"):
            if not self.keyword("IN"):
                raise self.fail("IN after NOT")
            return Negate(self.in_list(field))  # type: ignore[return-value]
        if self.keyword("IN"):
            return self.in_list(field)
        op_tok = self.tok
        if field == "published" and op_tok.kind == "value":  # published FROM TO UNTIL
            low = self.value(field, partial=True)
            if not self.keyword("TO"):
                raise self.fail("TO between the two dates")
            high = self.value(field, partial=True, end=True)
            return AllOf((Condition(field, ">=", (low,)), Condition(field, "<=", (high,))))  # type: ignore[return-value]
        if op_tok.kind != "op":
            raise self.fail("an operator (= != >= > < <= IN" + (" TO" if field == "published" else "") + ")")
        if op_tok.text not in FILTER_FIELDS[field]:
            raise FilterError(
                f"at character {op_tok.at}: {op_tok.text!r} compares dates only; "
                f"{field} takes =, != or IN"
            )
        self.i += 1
        partial = op_tok.text not in ("=", "!=")
        return Condition(field, op_tok.text, (self.value(field, partial, end=op_tok.text in ("<=", ">")),))

    def in_list(self, field: str) -> Condition:
        if not self.punct("["):
            raise self.fail("'[' to start the list of values")
        values = [self.value(field)]
        while self.punct(","):
            if self.tok.kind == "punct" and self.tok.text == "]":
                break  # a trailing comma is harmless
            values.append(self.value(field))
        if not self.punct("]"):
            raise self.fail("',' or ']'")
        return Condition(field, "in", tuple(values))

    def value(self, field: str, partial: bool = False, end: bool = False) -> str:
        tok = self.tok
        if tok.kind != "value":
            raise self.fail("a value")
        self.i += 1
        if field == "published":
            return _date(tok, partial=partial, end=end)
        return tok.text


def date_bound(text: str, end: bool = False, partial: bool = True) -> str:
    """An ISO date; with ``partial`` also ``2020-03`` or ``2020``, meaning
    its first day, or with ``end`` its last (as Elasticsearch rounds dates in
    ranges). Raises ``ValueError`` for anything else.

    >>> date_bound("2020-02", end=True), date_bound("2020"), date_bound("2020-3-5")
    ('2020-02-29', '2020-01-01', '2020-03-05')
    """
    m = _DATE_RE.match(text)
    if not m or (not partial and not m.group(3)):
        raise ValueError(f"not a date: {text!r}")
    year = int(m.group(1))
    month = int(m.group(2) or (12 if end else 1))
    last_day = calendar.monthrange(year, month)[1] if end and 1 <= month <= 12 else 1
    day = int(m.group(3) or last_day)
    return dt.date(year, month, day).isoformat()


def _date(tok: _Tok, partial: bool, end: bool = False) -> str:
    """:func:`date_bound` of a token, or a :class:`FilterError` saying where."""
    try:
        return date_bound(tok.text, end=end, partial=partial)
    except ValueError:
        raise FilterError(
            f"at character {tok.at}: expected a date like 2020-03-01"
            + (" (or 2020-03, 2020)" if partial else "")
            + f", found {tok.text!r}"
        ) from None


def parse_filter(text: str, *, max_chars: int = 2000) -> FilterNode:
    """Parse a filter expression; raise :class:`FilterError` saying where it failed.

    >>> parse_filter('category IN [khel, rajneeti] AND published >= 2025-03')
    AllOf(children=(Condition(field='category', op='in', values=('khel', 'rajneeti')), \
Condition(field='published', op='>=', values=('2025-03-01',))))
    >>> parse_filter('source = ')
    Traceback (most recent call last):
    ...
    search.filtering.FilterError: at character 10: expected a value, found the end of the filter
    """
    if len(text) > max_chars:
        raise FilterError(f"the filter is longer than {max_chars} characters")
    if not text.strip():
        raise FilterError("at character 1: expected a field name, found the end of the filter")
    return _Parser(_lex(text)).parse()


def describe_filter(node: FilterNode) -> str:
    """The filter as understood, in canonical form (for the response)."""
    if isinstance(node, Condition):
        if node.op == "in":
            return f"{node.field} IN [" + ", ".join(_quote(v) for v in node.values) + "]"
        return f"{node.field} {node.op} {_quote(node.values[0])}"
    if isinstance(node, Negate):
        return f"NOT ({describe_filter(node.child)})"
    joiner = " AND " if isinstance(node, AllOf) else " OR "
    return joiner.join(
        f"({describe_filter(c)})" if isinstance(c, (AllOf, AnyOf)) else describe_filter(c) for c in node.children
    )


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
