"""The ``search.documents`` package: the names the rest of the code imports from
it, and modules that import without a cycle (each one first, in a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import search.documents

ROOT = Path(__file__).resolve().parent.parent
MODULES = ["records", "validation", "lines", "json_lines", "csv_rows", "web_pages", "inputs", "bodies"]


def test_the_package_gives_every_name_imported_from_it():
    """What src/, tests/ and bench/ import from ``search.documents`` (a private
    helper too: tests/test_ingest_limits.py imports ``_leaf_blocks``)."""
    imported = {"Record", "Reject", "Delete", "Item", "InputProgress", "FORMATS", "parse_record",
                "parse_field_map", "read_inputs", "read_jsonl", "read_csv", "read_html", "clean_text", "_leaf_blocks"}
    assert {name for name in imported if not hasattr(search.documents, name)} == set()
    assert set(search.documents.__all__) >= imported - {"_leaf_blocks"}
    assert all(hasattr(search.documents, name) for name in search.documents.__all__)


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_first_without_a_cycle(module):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", f"import search.documents.{module}"],
                            capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 0, result.stderr
