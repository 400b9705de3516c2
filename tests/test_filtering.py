"""The filter language: what a user types in ``filter=`` -> which conditions are tested."""

from __future__ import annotations

import pytest

from search.filtering import AllOf, AnyOf, Condition, FilterError, Negate, describe_filter, parse_filter


@pytest.mark.parametrize(
    "text, expected",
    [
        ('source = "Amar Ujala"', Condition("source", "=", ("Amar Ujala",))),
        ("source = 'Jan Awaz'", Condition("source", "=", ("Jan Awaz",))),
        ("category=khel", Condition("category", "=", ("khel",))),
        ("category != khel", Condition("category", "!=", ("khel",))),
        ('category IN ["khel", rajneeti]', Condition("category", "in", ("khel", "rajneeti"))),
        ("category in [khel,]", Condition("category", "in", ("khel",))),
        ("category NOT IN [khel]", Negate(Condition("category", "in", ("khel",)))),
        ("published >= 2020-03-01", Condition("published", ">=", ("2020-03-01",))),
        ("published < 2020-04", Condition("published", "<", ("2020-04-01",))),
        ("published > 2020", Condition("published", ">", ("2020-12-31",))),  # after all of 2020
        ("published <= 2020-02", Condition("published", "<=", ("2020-02-29",))),  # up to the end of February
        ("published >= 2020", Condition("published", ">=", ("2020-01-01",))),
        ("published = 2020-3-5", Condition("published", "=", ("2020-03-05",))),
        ('source = "say \\"hi\\""', Condition("source", "=", ('say "hi"',))),
        ('source = "दैनिक जागरण"', Condition("source", "=", ("दैनिक जागरण",))),
    ],
)
def test_conditions(text, expected):
    assert parse_filter(text) == expected


def test_to_range_includes_both_ends():
    assert parse_filter("published 2020-03-01 TO 2020-03") == AllOf(  # all of March, as on the search page
        (Condition("published", ">=", ("2020-03-01",)), Condition("published", "<=", ("2020-03-31",)))
    )
    assert parse_filter("published 2025 TO 2025") == AllOf(
        (Condition("published", ">=", ("2025-01-01",)), Condition("published", "<=", ("2025-12-31",)))
    )
    with pytest.raises(FilterError, match="at character 22: expected TO between the two dates"):
        parse_filter("published 2020-03-01 2020-04-01")


def test_and_binds_tighter_than_or():
    node = parse_filter("source = a OR source = b AND category = c")
    assert node == AnyOf(
        (Condition("source", "=", ("a",)), AllOf((Condition("source", "=", ("b",)), Condition("category", "=", ("c",)))))
    )


def test_not_and_parentheses():
    node = parse_filter("NOT (source = a OR category = b) and published >= 2025")
    assert isinstance(node, AllOf) and isinstance(node.children[0], Negate)
    assert describe_filter(node) == 'NOT (source = "a" OR category = "b") AND published >= "2025-01-01"'


def test_described_filter_parses_to_the_same_tree():
    for text in ('category IN [a, "b c"] OR NOT source = x', "(source = a OR source = b) AND published < 2026-10"):
        node = parse_filter(text)
        assert parse_filter(describe_filter(node)) == node


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "at character 1: expected a field name"),
        ("source", "at character 7: expected an operator"),
        ("source =", "at character 9: expected a value, found the end of the filter"),
        ("published >= 2020-03-01 AND published <", "at character 40: expected a value"),
        ("published >= 2020-03-01 AND", "at character 28: expected a field name"),
        ('source = "Amar', "at character 10: the quote \" is never closed"),
        ("author = x", "at character 1: unknown field 'author'"),
        ("source >= x", "at character 8: '>=' compares dates only"),
        ("published = 2020-13-01", "at character 13: expected a date like 2020-03-01"),
        ("published = 2020-03", "expected a date like 2020-03-01, found '2020-03'"),
        ("published >= kal", "expected a date"),
        ("category IN [a, b", "at character 18: expected ',' or ']'"),
        ("category IN a", "at character 13: expected '[' to start the list"),
        ("category NOT a", "expected IN after NOT"),
        ("(source = a", "at character 12: expected ')' or AND/OR"),
        ("source = a b", "at character 12: expected AND, OR or the end of the filter, found 'b'"),
        ("source = a)", "at character 11: expected AND, OR"),
        ("AND source = a", "at character 1: expected a field name"),
        ('"source" = a', "expected a field name"),
        ("source = AND", "expected a value, found 'AND'"),
        ("(" * 100 + "source = a" + ")" * 100, "nests deeper than"),
        ("source = " + "x" * 3000, "longer than 2000 characters"),
    ],
)
def test_malformed_filters_say_where(text, message):
    with pytest.raises(FilterError) as error:
        parse_filter(text)
    assert message in str(error.value)
