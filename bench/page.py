"""The weight of the search page, beside the JSON answer it is built from; optional screenshots.

    python bench/page.py [--query Q] [--screenshots DIR] [--docs DOCS.jsonl]

Serves the bundled sample corpus and prints the bytes (as sent, and gzipped)
of the HTML of ``/?q=Q`` and of every stylesheet and script it loads, then the
same for ``/widget-demo`` (the widget's files). The baseline is ``/search?q=Q``,
the JSON a script-only client would fetch for the same results. With
``--screenshots`` it also saves the page as Chromium shows it at desktop
(1280 px) and phone (390 px) widths, and the widget demo after a search.
With ``--docs`` it ingests that corpus and times ``/export.csv`` and
``/export.json`` (every hit of Q, up to the cap) beside ``/search`` (the first page)
and ``/`` (the page) for the same query.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import logging  # noqa: E402

from search import create_app, ingest, read_inputs  # noqa: E402

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def assets(markup: str) -> list[str]:
    """The stylesheets and scripts a page loads (same-origin paths)."""
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', markup) + re.findall(r'<script src="([^"]+)"', markup)


def weigh(client, path: str, extra: tuple[str, ...] = ()) -> list[tuple[str, int, int]]:
    response = client.get(path)
    markup = response.get_data()
    rows = [(path, len(markup), len(gzip.compress(markup, 9)))]
    for asset in [*assets(markup.decode()), *extra]:
        body = client.get(asset).get_data()
        rows.append((asset, len(body), len(gzip.compress(body, 9))))
    return rows


def show(title: str, rows: list[tuple[str, int, int]]) -> None:
    print(title)
    for name, raw, packed in rows:
        print(f"  {name:<40} {raw:>8,} B  {packed:>7,} B gzip")
    print(f"  {'total':<40} {sum(r[1] for r in rows):>8,} B  {sum(r[2] for r in rows):>7,} B gzip")


def screenshots(app, query: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for name, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
            page = browser.new_page(viewport=viewport, device_scale_factor=1 if name == "desktop" else 2)
            page.goto(f"{base}/?q={quote(query)}")
            page.screenshot(path=str(out / f"page-{name}.png"))
            page.close()
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/")
        page.click("#q")
        page.keyboard.type(query[:3], delay=50)
        page.locator("#q-suggestions [role=option]").first.wait_for()
        page.keyboard.press("ArrowDown")
        page.screenshot(path=str(out / "page-autocomplete.png"))
        page.goto(f"{base}/widget-demo")
        page.fill("[data-hindi-search] input", query)
        page.press("[data-hindi-search] input", "Enter")
        page.locator(".hs-hit").first.wait_for()
        page.screenshot(path=str(out / "widget-demo.png"), full_page=True)
        browser.close()
    server.shutdown()
    print(f"screenshots in {out}: page-desktop.png page-phone.png page-autocomplete.png widget-demo.png")


def time_exports(docs: Path, query: str) -> None:
    with tempfile.TemporaryDirectory() as index:
        started = time.perf_counter()
        report = ingest(read_inputs([str(docs)]), index)
        print(f"ingested {report.added} documents of {docs} in {time.perf_counter() - started:.1f} s")
        client = create_app({"index": index}).test_client()
        q = quote(query)
        paths = (f"/search?q={q}", f"/search?q={q}&facets=source,category,published", f"/?q={q}",
                 f"/export.csv?q={q}", f"/export.json?q={q}")
        for path in paths:
            client.get(path)  # warm: searcher, vocabulary
            times, size, rows = [], 0, ""
            for _ in range(3):
                started = time.perf_counter()
                response = client.get(path)
                body = response.get_data()  # drains the stream
                times.append((time.perf_counter() - started) * 1000)
                size, rows = len(body), response.headers.get("X-Export-Rows", "")
            label = path.split("?")[0] + (" +facets" if "facets" in path else "")
            print(f"  {label:<16} {min(times):>8.1f} ms (best of 3)  {size:>10,} B" + (f"  {rows} rows" if rows else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--query", default="भारत")
    parser.add_argument("--screenshots", type=Path, help="directory for PNG screenshots (needs /usr/bin/chromium)")
    parser.add_argument("--docs", type=Path, help="a JSON Lines corpus to time the exports on")
    args = parser.parse_args()
    logging.getLogger("search.access").disabled = True
    logging.getLogger("werkzeug").disabled = True
    with tempfile.TemporaryDirectory() as index:
        ingest(read_inputs([str(ROOT / "sample" / "news.jsonl")]), index)
        app = create_app({"index": index})
        client = app.test_client()
        q = quote(args.query)
        show(f"search page /?q={args.query}", weigh(client, f"/?q={q}"))
        show("widget demo (the widget's own files are widget.js and widget.css)", weigh(client, "/widget-demo", ("/static/widget.css",)))
        show(f"baseline: the JSON answer /search?q={args.query}", weigh(client, f"/search?q={q}"))
        if args.screenshots:
            screenshots(app, args.query, args.screenshots)
    if args.docs:
        time_exports(args.docs, args.query)


if __name__ == "__main__":
    main()
