"""``hindi-search``: the command line. ``ingest``, ``serve`` and ``settings``.

Exit status of ``ingest``: 0 every record landed, 1 some were rejected
(reported on stderr with line numbers), 2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from .config import SETTINGS_HELP, Settings
from .documents import Reject
from .engine import IndexLocked, IndexUnavailable
from .indexing import ingest, read_inputs

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def _print_reject(reject: Reject) -> None:
    print(f"{reject.source}:{reject.line}: rejected: {reject.reason}", file=sys.stderr)


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = Settings.load({"index": args.index})
    try:
        report = ingest(read_inputs(args.inputs), settings.index, on_reject=_print_reject)
    except (OSError, IndexLocked, IndexUnavailable) as exc:
        print(f"ingest: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    elif not args.quiet:
        print(f"ingest into {settings.index}: {report.summary()}")
    return EXIT_REJECTED if report.rejected else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .web import create_app

    app = create_app({"index": args.index})
    settings: Settings = app.config["SETTINGS"]
    url = f"http://{args.host}:{args.port}"
    print(f"Serving {settings.index} at {url}/  (try {url}/search?q=भारत)", flush=True)
    app.run(host=args.host, port=args.port, threaded=True)
    return EXIT_OK


def cmd_settings(args: argparse.Namespace) -> int:
    current = Settings.load()
    for name, (default, help_text) in SETTINGS_HELP.items():
        print(f"SEARCH_{name.upper():<20} = {getattr(current, name)!r:<12} (default {default!r}) {help_text}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hindi-search", description="Hindi full-text search.")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("ingest", help="add, update documents from JSON Lines files")
    p.add_argument("inputs", nargs="+", metavar="FILE", help="JSON Lines file(s), or - for stdin")
    p.add_argument("--index", help="index directory (default: $SEARCH_INDEX or index/)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--quiet", action="store_true", help="print nothing but rejects")
    p.set_defaults(func=cmd_ingest)

    p = commands.add_parser("serve", help="serve the HTTP API (development server)")
    p.add_argument("--index", help="index directory (default: $SEARCH_INDEX or index/)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)

    p = commands.add_parser("settings", help="list every setting, its value and default")
    p.set_defaults(func=cmd_settings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


def ingest_main(argv: Sequence[str] | None = None) -> int:
    """``python ingest.py …`` = ``hindi-search ingest …``."""
    return main(["ingest", *(sys.argv[1:] if argv is None else argv)])
