"""The query language: what a user types -> which terms and phrases are searched."""

from __future__ import annotations

import pytest

from search.analysis import AnalysisOptions, Analyzer

#: The query language is tested on terms that are easy to read: vowel length
#: not folded (tests/test_analysis.py covers the default analysis).
READABLE = AnalysisOptions(fold_vowels=False, stemmer="snowball")
from search.querying import And, Not, Or, Phrase, Prefix, QueryError, Word, describe, parse


def parsed(q: str) -> str:
    return describe(parse(q, Analyzer(READABLE)))


@pytest.mark.parametrize(
    "query, expected",
    [
        ("भारत रूस", "भारत AND रूस"),
        ("भारत और रूस", "भारत AND रूस"),  # stop word dropped from keyword queries
        ("और", "और"),  # ...unless it is all there is
        ('"सैन्य सहयोग"', '"सैन्य सहयोग"'),
        ('"भारत और रूस"', '"भारत और रूस"'),  # stop words kept inside phrases
        ("हिन्दी देशों", "हिंद AND देश"),  # same analysis as documents
        ("भारत OR चीन", "भारत OR चीन"),
        ("(भारत OR चीन) सीमा", "(भारत OR चीन) AND सीम"),
        ("मानसून -दिल्ली", "मानसून AND NOT दिल्ल"),
        ("मानसून NOT दिल्ली", "मानसून AND NOT दिल्ल"),
        ('title:मानसून title:"पहली बारिश"', 'title:मानसून AND title:"पहल बारिश"'),
        ("भार*", "भार*"),
        ("को-विकास", '"को विकास"'),  # a word with inner punctuation is a phrase
        ("ISIS/दाएश", '"isis दाएश"'),
        ("title:(भारत OR चीन)", "title:भारत OR title:चीन"),  # a field applies to its whole group
        ('title:(भार* "सैन्य सहयोग") रूस', 'title:भार* AND title:"सैन्य सहयोग" AND रूस'),
        ("title:(भारत body:चीन)", "title:भारत AND body:चीन"),  # ...unless a word names its own
        ("भारत -(रूस OR चीन)", "भारत AND NOT (रूस OR चीन)"),
        ("भारत -(रूस चीन)", "भारत AND NOT (रूस AND चीन)"),
    ],
)
def test_parse(query, expected):
    assert parsed(query) == expected


@pytest.mark.parametrize(
    "query, expected",
    [
        ('"सैन्य सहयोग', '"सैन्य सहयोग"'),  # unclosed quote closed at the end
        ("(भारत OR चीन", "भारत OR चीन"),  # unclosed parenthesis
        ("भारत) रूस", "भारत AND रूस"),  # stray parenthesis ignored
        ("OR भारत", "भारत"),  # dangling operator ignored
        ("भारत AND", "भारत"),
        ("भारत NOT", "भारत"),
        ("भारत , ! ?", "भारत"),  # punctuation ignored
        ("भारत *", "भारत"),
    ],
)
def test_sloppy_input_is_read_leniently(query, expected):
    assert parsed(query) == expected


@pytest.mark.parametrize(
    "query, message",
    [
        ("", "no words"),
        ("   ", "no words"),
        ('"', "no words"),
        ("()", "no words"),
        ("! ? ।", "no words"),
        ("*", "no words"),
        ("-भारत", "only excludes"),
        ("NOT भारत", "only excludes"),
        ("भ*", "at least 2 letters"),
        ("भारत-रू*", "one word before"),
    ],
)
def test_unsearchable_queries_say_what_to_fix(query, message):
    with pytest.raises(QueryError, match=message):
        parse(query, Analyzer(READABLE))


def test_term_limit():
    with pytest.raises(QueryError, match="more than 5 words"):
        parse("क ख ग घ च छ", Analyzer(READABLE), max_terms=5)


def test_tree_shape():
    node = parse('भारत "सैन्य सहयोग" -क्रिकेट भार*', Analyzer(READABLE))
    assert isinstance(node, And)
    word, phrase, negated, prefix = node.children
    assert word == Word("भारत", ("भारत",))
    assert phrase == Phrase("सैन्य सहयोग", ("सैन्य", "सहयोग"), quoted=True)
    assert negated == Not(Word("क्रिकेट", ("क्रिकेट",)))
    assert prefix == Prefix("भार*", "भार")


def test_double_negation_cancels():
    assert parse("भारत --रूस", Analyzer(READABLE)) == And((Word("भारत", ("भारत",)), Word("रूस", ("रूस",))))
    assert isinstance(parse("भारत OR रूस", Analyzer(READABLE)), Or)


def test_parentheses_nest_only_so_deep():
    """Each level is a few frames of recursion: 250 of them was a RecursionError (HTTP 500)."""
    assert parsed("(" * 50 + "भारत" + ")" * 50) == "भारत"
    with pytest.raises(QueryError, match="deeper than 50"):
        parse("(" * 51 + "भारत", Analyzer(READABLE))
    with pytest.raises(QueryError, match="deeper than 50"):
        parse("(" * 300 + "भारत", Analyzer(READABLE))


def test_a_repeated_prefix_or_alternative_counts_once():
    """200 × भा* expanded 200 times and ran into the time limit."""
    assert parsed("भा* " * 200) == "भा*"
    assert parsed("भारत OR भारत OR चीन") == "भारत OR चीन"
    assert parsed("भा* किसान भा*") == "भा* AND किसान"
