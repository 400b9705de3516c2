"""``hindi-search query``, run as a subprocess the way an analyst runs it."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

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
