"""One bad record never stops a run, and no input, however large, costs unbounded memory."""

from __future__ import annotations

import os
import random
import subprocess
import sys

from conftest import ROOT


# -- HTML: picking the innermost blocks is linear ----------------------------


_HTML_BLOCKS = "p, h2, h3, h4, h5, h6, li, blockquote, pre, td, dd"


def test_leaf_blocks_are_the_innermost_blocks_in_page_order():
    """The one-pass walk picks what ``len(n.css(blocks)) == 1`` picked (the
    definition, quadratic in the nesting), on random pages."""
    from selectolax.lexbor import LexborHTMLParser

    from search.documents import _leaf_blocks

    rng = random.Random(16)
    tags = ["p", "div", "li", "ul", "blockquote", "span", "td", "b", "h2", "pre", "section"]

    def tree(depth: int = 0) -> str:
        if depth > 6 or rng.random() < 0.3:
            return f"शब्द{rng.randint(0, 99)} "
        tag = rng.choice(tags)
        return f"<{tag}>" + "".join(tree(depth + 1) for _ in range(rng.randint(0, 4))) + f"</{tag}>"

    for _ in range(200):
        page = LexborHTMLParser("<article>" + tree() + tree() + "</article>")
        root = page.css_first("article")
        expected = [n.text(separator=" ") for n in root.css(_HTML_BLOCKS) if len(n.css(_HTML_BLOCKS)) == 1]
        assert [n.text(separator=" ") for n in _leaf_blocks(root)] == expected


def test_deeply_nested_html_is_read_in_one_pass():
    """10,000 nested <blockquote> (350 KB): 0.7 s now, most of it the parse;
    asking every block for the blocks inside it took 90 s (5,000: 0.3 s, was 14 s)."""
    script = (
        "from search.documents import read_html\n"
        "page = '<article>' + '<blockquote><p>कथन</p>' * 10000 + '</blockquote>' * 10000 + '</article>'\n"
        "(doc,) = read_html(page, 'deep.html', 'deep')\n"
        "print(len(doc.body.split()))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10000"
