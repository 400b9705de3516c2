"""``hindi-search``, run as a subprocess the way an analyst or a scheduler runs it:
``query`` output, and settings that cannot be read."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, free_port, hindi_docs, write_jsonl

ESC = "\x1b["


def run_query(sample_index: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "search", "query", *args, "--index", sample_index],
        capture_output=True, text=True, encoding="utf-8", timeout=120,
        env={**os.environ, **(env or {})},
    )


def run_on_a_terminal(sample_index: str, *args: str, env: dict | None = None) -> str:
    """The output of ``query`` with its stdout on a pseudo-terminal."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "search", "query", *args, "--index", sample_index],
            stdout=slave, stderr=subprocess.PIPE, timeout=120, env={**os.environ, **(env or {})},
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    assert process.returncode == 0, process.stderr
    return b"".join(chunks).decode("utf-8")


def test_table_when_piped_is_plain(sample_index, search):
    done = run_query(sample_index, "भारत", "--limit", "3")
    assert done.returncode == 0, done.stderr
    assert ESC not in done.stdout and "<mark>" not in done.stdout
    answer = search("भारत", per_page=3)
    for hit in answer["hits"]:
        assert hit["title"] in done.stdout and hit["id"] in done.stdout
    assert f"3 of {answer['total']} documents" in done.stdout


def test_table_on_a_terminal_has_coloured_highlights(sample_index):
    out = run_on_a_terminal(sample_index, "भारत", "--limit", "2")
    assert f"{ESC}30;43mभारत{ESC}0m" in out
    assert "<mark>" not in out


def test_no_color_and_color_flags(sample_index):
    assert ESC not in run_on_a_terminal(sample_index, "भारत", "--limit", "2", env={"NO_COLOR": "1"})
    assert ESC not in run_on_a_terminal(sample_index, "भारत", "--limit", "2", "--color", "never")
    assert f"{ESC}30;43m" in run_query(sample_index, "भारत", "--color", "always").stdout


def test_markup_in_documents_is_printed_as_text(sample_index):
    done = run_query(sample_index, "हमलावरों")
    assert '<script>alert("x")</script>' in done.stdout and "&lt;" not in done.stdout


def test_json_is_the_search_answer(sample_index, search):
    done = run_query(sample_index, "किसान", "--format", "json", "--limit", "5", "--sort=-published",
                     "--filter", "published >= 2026-01")
    answer = json.loads(done.stdout)
    expected = search("किसान", per_page=5, sort="-published", filter="published >= 2026-01")
    assert [h["id"] for h in answer["hits"]] == [h["id"] for h in expected["hits"]]
    assert answer["total"] == expected["total"] and answer["filter"] == expected["filter"]


def test_csv_like_the_export(sample_index, client):
    done = run_query(sample_index, "भारत", "--format", "csv", "--limit", "100")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    exported = client.get("/export.csv", query_string={"q": "भारत"}).get_data(as_text=True).lstrip("\ufeff")
    assert rows == list(csv.DictReader(io.StringIO(exported)))


def test_nothing_found_exits_1_with_did_you_mean(sample_index):
    done = run_query(sample_index, "किसन")
    assert done.returncode == 1
    assert "0 documents" in done.stdout and "did you mean: किसान" in done.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (['"'], "no words"),
        (["भारत", "--filter", "source ="], "filter: at character"),
        (["भारत", "--limit", "0"], "--limit must be"),
    ],
)
def test_bad_input_exits_2_with_a_message(sample_index, args, message):
    done = run_query(sample_index, *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_missing_index_exits_2(tmp_path):
    done = run_query(str(tmp_path / "none"), "भारत")
    assert done.returncode == 2 and "Traceback" not in done.stderr


#: ``hindi-search`` as installed (the console script ``search.cli:main``).
HINDI_SEARCH = Path(sys.executable).with_name("hindi-search")


def program(name: str) -> list[str]:
    if name == "ingest.py":
        return [sys.executable, str(ROOT / "ingest.py")]
    if not HINDI_SEARCH.exists():
        pytest.skip(f"no console script at {HINDI_SEARCH} (pip install -e .)")
    return [str(HINDI_SEARCH), name.split()[-1]]


# --------------------------------------------------------------------------
# Settings that cannot be read: one line naming the variable, exit status 78
# (EX_CONFIG, which a systemd unit or a scheduler can tell from every other).
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ingest.py", "hindi-search ingest", "hindi-search query",
                                  "hindi-search serve", "hindi-search settings"])
def test_a_bad_setting_is_one_line_and_status_78(tmp_path, name):
    feed = write_jsonl(tmp_path / "in.jsonl", hindi_docs(2))
    extra = {
        "ingest.py": [str(feed)], "hindi-search ingest": [str(feed)], "hindi-search query": ["भारत"],
        "hindi-search serve": ["--port", str(free_port())], "hindi-search settings": [],
    }[name]
    index = [] if name.endswith("settings") else ["--index", str(tmp_path / "index")]
    done = subprocess.run(
        [*program(name), *extra, *index], capture_output=True, text=True, encoding="utf-8", timeout=120,
        env={**os.environ, "SEARCH_MAX_PER_PAGE": "abc"},
    )
    assert done.returncode == 78, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "SEARCH_MAX_PER_PAGE must be a whole number" in lines[0] and "'abc'" in lines[0], lines
    assert not (tmp_path / "index").exists(), "nothing was done"


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("SEARCH_MAX_PER_PAGE", "abc", "SEARCH_MAX_PER_PAGE must be a whole number (default 100), got 'abc'"),
        ("SEARCH_QUERY_TIME_LIMIT", "soon", "SEARCH_QUERY_TIME_LIMIT must be a number"),
        ("SEARCH_QUERY_TIME_LIMIT", "nan", "SEARCH_QUERY_TIME_LIMIT must be a finite number"),
        ("SEARCH_MAX_PAGE", "-5", "SEARCH_MAX_PAGE must not be negative"),
        ("SEARCH_LOG_QUERIES", "all", "SEARCH_LOG_QUERIES must be text, hash or none"),
    ],
)
def test_settings_errors_name_the_variable_and_what_it_must_be(variable, value, message):
    from search.config import Settings, SettingsError

    with pytest.raises(SettingsError) as error:
        Settings.load(environ={variable: value})
    assert message in str(error.value)
