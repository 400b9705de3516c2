"""``hindi-search``, run as a subprocess the way an analyst or a scheduler runs it:
``query`` output, signals at any moment, and settings that cannot be read."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
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


# --------------------------------------------------------------------------
# Signals: SIGTERM (systemctl stop) and SIGINT (Ctrl-C) at any moment of the
# program's life, also while it imports and after its report, give exit status 3
# with the report and never a traceback.
# --------------------------------------------------------------------------

#: ``hindi-search`` as installed (the console script ``search.cli:main``).
HINDI_SEARCH = Path(sys.executable).with_name("hindi-search")


def program(name: str) -> list[str]:
    if name == "ingest.py":
        return [sys.executable, str(ROOT / "ingest.py")]
    if not HINDI_SEARCH.exists():
        pytest.skip(f"no console script at {HINDI_SEARCH} (pip install -e .)")
    return [str(HINDI_SEARCH), name.split()[-1]]


def start(argv: list[str], **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    )


def handles(pid: int, signum: int) -> bool:
    """Does process ``pid`` catch ``signum`` yet (Linux: ``SigCgt`` in /proc/PID/status)?"""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except FileNotFoundError:  # it has exited
        pass
    return False


def flood(process: subprocess.Popen, signum: int) -> int:
    """Send ``signum`` every millisecond until the process exits; how many were sent."""
    sent = 0
    while process.poll() is None:
        try:
            process.send_signal(signum)
        except ProcessLookupError:
            break
        sent += 1
        time.sleep(0.001)
    return sent


def wait_for(process: subprocess.Popen, ready) -> None:
    while process.poll() is None and not ready():
        time.sleep(0.0005)


SIGNALS = pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/PID/status (Linux)")


@needs_proc
@SIGNALS
@pytest.mark.parametrize("name", ["ingest.py", "hindi-search ingest"])
def test_signals_from_the_first_moment_stop_with_a_report_and_status_3(tmp_path, name, signum):
    """Signals every millisecond from the moment the program can catch one (its
    first lines; the imports of Whoosh, numpy and Flask come after): no traceback,
    status 3, and the report (here: nothing read)."""
    feed = write_jsonl(tmp_path / "in.jsonl", hindi_docs(50))
    job = start([*program(name), "--index", str(tmp_path / "index"), str(feed)])
    wait_for(job, lambda: handles(job.pid, signal.SIGTERM))
    sent = flood(job, signum)
    out, err = job.communicate(timeout=120)
    assert sent, "the program ended before it could be signalled"
    assert job.returncode == 3, (job.returncode, err)
    assert "Traceback" not in err and f"stopped by signal {signum}" in err, err
    assert f"ingest into {tmp_path / 'index'}: read " in out, out


@needs_proc
@SIGNALS
def test_a_query_stopped_by_a_signal_exits_3_without_a_traceback(sample_index, signum):
    job = start([*program("hindi-search query"), "भारत", "--index", sample_index])
    wait_for(job, lambda: handles(job.pid, signal.SIGTERM))
    flood(job, signum)
    out, err = job.communicate(timeout=120)
    assert job.returncode == 3 and "Traceback" not in err and f"query: stopped by signal {signum}" in err, err


@needs_proc
@SIGNALS
@pytest.mark.parametrize("name", ["ingest.py", "hindi-search ingest"])
def test_more_signals_after_the_report_keep_status_3(tmp_path, name, signum):
    """A first signal while the ingest runs stops it (the report is printed); a flood
    of them from then until the process has exited changes nothing."""
    feed = write_jsonl(tmp_path / "in.jsonl", hindi_docs(3000))
    index = tmp_path / "index"
    job = start([*program(name), "--index", str(index), "--procs", "1", "--batch-size", "200", str(feed)])
    wait_for(job, index.exists)  # the ingest has started: it made the index directory
    job.send_signal(signum)
    report = job.stdout.readline()  # printed (unbuffered) once the run has stopped
    flood(job, signum)
    out, err = job.communicate(timeout=120)
    assert report.startswith(f"ingest into {index}: read "), (report, err)
    assert job.returncode == 3, (job.returncode, err)
    assert "Traceback" not in err and f"stopped by signal {signum}" in err, err


def test_main_called_by_code_gives_the_signal_handlers_back(tmp_path, capsys):
    from search.cli import main

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    assert main(["settings"]) == 0
    assert {s: signal.getsignal(s) for s in before} == before


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


@pytest.mark.parametrize("name", ["hindi-search settings", "hindi-search query"])
def test_output_into_a_closed_pipe_stops_quietly(tmp_path, sample_index, name):
    """``hindi-search settings | head -3``: the reader is gone before the output is
    written; no BrokenPipeError traceback, the status a shell gives SIGPIPE."""
    extra = [] if name.endswith("settings") else ["भारत", "--index", sample_index]
    process = subprocess.Popen(
        [*program(name), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8"
    )
    process.stdout.close()  # as head does once it has its lines
    _, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert process.returncode == 141, (process.returncode, stderr)


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("SEARCH_MAX_PER_PAGE", "abc", "SEARCH_MAX_PER_PAGE must be a whole number (default 100), got 'abc'"),
        ("SEARCH_QUERY_TIME_LIMIT", "soon", "SEARCH_QUERY_TIME_LIMIT must be a number"),
        ("SEARCH_QUERY_TIME_LIMIT", "nan", "SEARCH_QUERY_TIME_LIMIT must be a finite number"),
        ("SEARCH_MAX_PAGE", "-5", "SEARCH_MAX_PAGE must not be negative"),
        ("SEARCH_LOG_QUERIES", "all", "SEARCH_LOG_QUERIES must be text, hash or none"),
        ("SEARCH_PUBLIC_URL", "javascript:alert(1)", "SEARCH_PUBLIC_URL must be an http:// or https:// address"),
    ],
)
def test_settings_errors_name_the_variable_and_what_it_must_be(variable, value, message):
    from search.config import Settings, SettingsError

    with pytest.raises(SettingsError) as error:
        Settings.load(environ={variable: value})
    assert message in str(error.value)


# --------------------------------------------------------------------------
# --version, and serve's choice of server (the real gunicorn runs are in
# tests/test_serving.py)
# --------------------------------------------------------------------------


def hindi_search(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "search", *args], capture_output=True, text=True, encoding="utf-8", timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_version_is_the_packages():
    import tomllib
    from importlib import metadata

    done = hindi_search("--version")
    assert done.returncode == 0, done.stderr
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert done.stdout == f"hindi-search {metadata.version('hindi-search')}\n" == f"hindi-search {declared}\n"


@pytest.fixture
def without_gunicorn(tmp_path) -> dict:
    """An environment in which ``import gunicorn`` fails, as where the serve extra is not installed."""
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "gunicorn.py").write_text("raise ImportError('No module named gunicorn')\n")
    return {"PYTHONPATH": os.pathsep.join([str(blocked), *filter(None, [os.environ.get("PYTHONPATH")])])}


def test_workers_without_gunicorn_is_one_line_and_status_2(sample_index, without_gunicorn):
    done = hindi_search("serve", "--index", sample_index, "--port", str(free_port()), "--workers", "2",
                        env=without_gunicorn)
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--workers needs gunicorn" in lines[0] and "pip install" in lines[0], lines
    assert "Traceback" not in done.stderr and "Serving" not in done.stdout


@pytest.mark.parametrize(
    "args, message",
    [(["--workers", "0"], "--workers must be at least 1"), (["--workers", "2", "--dev"], "exclude each other")],
)
def test_bad_serve_flags_are_one_line_and_status_2(sample_index, args, message):
    done = hindi_search("serve", "--index", sample_index, "--port", str(free_port()), *args)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_serve_help_names_both_servers():
    done = hindi_search("serve", "--help")
    assert done.returncode == 0 and "--workers N" in done.stdout and "--dev" in done.stdout
