"""Search results as CSV and JSON for analysts: ``/export.csv``, ``/export.json``, ``hindi-search query``.

Both formats are produced a row at a time (generators of text chunks), so an
export of thousands of hits streams instead of being built in memory. Snippets
arrive as HTML (escaped text, highlight tags around matches); CSV gets them as
plain text, JSON keeps the HTML as the API gives it.
"""

from __future__ import annotations

import csv
import html
import io
import json
import unicodedata
from typing import Any, Iterable, Iterator

from .searching import Hit

__all__ = ["CSV_COLUMNS", "plain_text", "spreadsheet_safe", "csv_chunks", "json_chunks"]

#: The columns of a CSV export, in order.
CSV_COLUMNS = ("id", "title", "url", "source", "published", "category", "score", "snippet")

def plain_text(fragment: str, pre: str = "<mark>", post: str = "</mark>") -> str:
    """A snippet's HTML as plain text: highlight tags dropped, entities decoded.

    >>> plain_text('<mark>किसान</mark> &lt;b&gt; आंदोलन')
    'किसान <b> आंदोलन'
    """
    for tag in (pre, post):
        if tag:
            fragment = fragment.replace(tag, "")
    return html.unescape(fragment)


def _csv_line(values: Iterable[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


#: A cell whose first visible character is one of these is a formula (or a DDE
#: command, ``|``) to some spreadsheet program. Compared after NFKC, so the
#: fullwidth, small, superscript and subscript forms (``＝ ﹦ ⁼ ₌ ＋ ﹢ － ﹣ ＠ ﹫ ｜ ；
#: ％``) count as the characters they stand for; U+2212 MINUS SIGN is one too.
_FORMULA_START = frozenset("=+-@|;%\t\r\u2212")


def _first_visible(value: str) -> str:
    """The first character a spreadsheet would not drop: leading white space and
    invisible format characters (U+FEFF, U+200B, U+200E, U+2060 ...) are skipped,
    as spreadsheet programs trim them before reading a formula."""
    for char in value:
        if char in "\t\r":  # formula starters themselves
            return char
        if char.isspace() or unicodedata.category(char) == "Cf":
            continue
        return char
    return ""


def spreadsheet_safe(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would run it as a formula (CSV injection).

    >>> spreadsheet_safe("=1+1"), spreadsheet_safe("किसान"), spreadsheet_safe("＝1+1")
    ("'=1+1", 'किसान', "'＝1+1")
    """
    first = _first_visible(value)
    if first and (first in _FORMULA_START or unicodedata.normalize("NFKC", first)[:1] in _FORMULA_START):
        return "'" + value
    return value


def csv_chunks(
    hits: Iterable[Hit], *, pre: str = "<mark>", post: str = "</mark>", for_spreadsheets: bool = True
) -> Iterator[str]:
    """A header line, then one CSV line per hit (RFC 4180, CRLF).

    ``for_spreadsheets`` (the download): start with a UTF-8 byte order mark so
    spreadsheet programs read the Devanagari, and quote cells that would run
    as formulas (a document's title is not trusted). The command line, whose
    CSV goes to other programs, gives the values as they are.
    """
    guard = spreadsheet_safe if for_spreadsheets else str
    yield ("\ufeff" if for_spreadsheets else "") + _csv_line(CSV_COLUMNS)
    for hit in hits:
        texts = (hit.id, hit.title, hit.url, hit.source, hit.published, hit.category)
        yield _csv_line([*(guard(v) for v in texts), hit.score, guard(plain_text(hit.snippet, pre, post))])


def json_chunks(head: dict[str, Any], hits: Iterable[Hit]) -> Iterator[str]:
    """One JSON object: the fields of ``head``, then ``hits`` as an array, streamed hit by hit."""
    opening = json.dumps(head, ensure_ascii=False)[:-1]
    yield opening + (", " if head else "") + '"hits": ['
    first = True
    for hit in hits:
        row = {name: getattr(hit, name) for name in (*CSV_COLUMNS, "title_html")}
        yield ("" if first else ",\n") + json.dumps(row, ensure_ascii=False)
        first = False
    yield "]}\n"
