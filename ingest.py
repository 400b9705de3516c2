#!/usr/bin/env python3
"""Ingest documents into the search index: ``python ingest.py [--index DIR] FILE...``.

A thin wrapper over ``hindi-search ingest``; see ``python ingest.py --help``.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "src"))

from search.cli import ingest_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(ingest_main())
