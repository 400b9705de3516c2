"""The documentation stays true: README.md and docs/*.md are run and checked.

Conventions (also in docs/development.md, "Writing the docs"):

* A fenced block whose info string is ``sh runnable`` (````` ```sh runnable `````)
  is run by this test. The blocks of one file run in order, each with
  ``bash -e -o pipefail``, in one scratch directory per file that holds links
  to the repository's ``ingest.py``, ``sample/``, ``bench/`` and ``src/`` (so a
  block reads like one run from the repository root, and cannot write into the
  checkout). Every block must exit 0; a command that is meant to fail is shown
  as ``cmd || echo "exit status $?"``.
* The blocks see ``$SEARCH_URL``: a real server (``create_app`` served over
  loopback by ``serve_in_thread`` from ``tests/conftest.py``) of ``$SEARCH_INDEX``,
  an index built from ``sample/news.jsonl`` by ``ingest.py`` as ``make run``
  builds it. The docs default ``SEARCH_URL`` to ``http://127.0.0.1:8000`` (where
  ``make run`` serves) with ``export SEARCH_URL=${SEARCH_URL:-http://127.0.0.1:8000}``.
  ``SEARCH_INDEX`` is the service's own setting (``hindi-search query`` reads
  it), so blocks use it as they are. No block may write into ``$SEARCH_INDEX``
  (checked: its document count and generation stay). ``PATH`` starts with the
  test's Python environment, so ``python``, ``hindi-search`` and ``gunicorn``
  are the project's, and ``curl`` is the system's (``/usr/bin/curl``). The write
  examples send to ``$SEARCH_WRITE_URL`` with ``$SEARCH_API_KEY``: a second
  server with writes on, of an index of its own (:func:`docs_write_server`).
* A fenced block right after a runnable block (only blank lines between) whose
  info string ends in ``output`` (````` ```json output `````, ````` ```text output `````)
  is what the block prints, checked:

  - ``json output``: stdout is JSON (or its last line is) and holds what is
    shown: every key shown with an equal value, recursively; a key ``"…"`` is
    "more fields"; a string with ``…`` in it matches any text there; a list
    ending in ``"…"`` may go on. Values that change from run to run
    (:data:`VOLATILE`) need only be present.
  - any other ``output``: every line shown matches a line of stdout or stderr,
    with runs of spaces as one, ``…`` matching any text, and a number before
    ``ms`` or ``s`` matching any number.

* Blocks that cannot run here (``make run``, which serves forever, gunicorn in
  the foreground, systemd units, crontab lines, runs over the real corpora) are
  not marked. Every ``make``, ``hindi-search``, ``ingest.py``, ``bench/*.py``,
  ``gunicorn`` and ``pytest`` command shown anywhere, in blocks or in inline
  code, is checked to parse: each flag shown is one that ``<command> --help``
  lists (``make -n`` for make targets, with the markers, test files and
  ``SEARCH_*`` variables of their ``PYTEST_ARGS`` checked to exist).

Also checked: README.md is at most 400 lines and keeps the two quick-start
commands; every relative link (and anchor) points at something that exists;
every setting of ``search.config.Settings`` is in the configuration table of
docs/operations.md with its real default; every endpoint and parameter the
OpenAPI description declares, and every parameter of the search page, is in
docs/api.md.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, SAMPLE, serve_in_thread

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 400
#: JSON fields whose values differ from run to run: only their presence is checked.
VOLATILE = {"took_ms", "index_bytes", "last_ingest", "seconds", "docs_per_second"}
#: The two commands of the quick start, exactly as they have always been.
QUICK_START = [
    "make run     # set up .venv, ingest and embed the bundled sample corpus, serve on http://127.0.0.1:8000",
    "make test    # set up .venv, run the tests",
]
BIN = Path(sys.executable).parent
ELLIPSIS = "…"


# ---------------------------------------------------------------------------
# Reading the Markdown
# ---------------------------------------------------------------------------


@dataclass
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    flags: tuple[str, ...]
    text: str
    output: "Block | None" = None

    @property
    def runnable(self) -> bool:
        return "runnable" in self.flags

    @property
    def is_output(self) -> bool:
        return "output" in self.flags

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


@dataclass
class Doc:
    path: Path
    lines: list[str]
    blocks: list[Block] = field(default_factory=list)
    #: The text outside fenced blocks, as (first line number, paragraph text joined on one line).
    paragraphs: list[tuple[int, str]] = field(default_factory=list)


_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@functools.cache
def parse_doc(path: Path) -> Doc:
    lines = path.read_text(encoding="utf-8").splitlines()
    doc = Doc(path, lines)
    i, paragraph, start, previous_block_end = 0, [], 0, -10
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            if lines[i].strip():
                if not paragraph:
                    start = i + 1
                paragraph.append(lines[i].strip())
            elif paragraph:
                doc.paragraphs.append((start, " ".join(paragraph)))
                paragraph = []
            i += 1
            continue
        if paragraph:
            doc.paragraphs.append((start, " ".join(paragraph)))
            paragraph = []
        indent, fence = len(match["indent"]), match["fence"]
        info = match["info"].split()
        body, j = [], i + 1
        while j < len(lines):
            close = _FENCE.match(lines[j])
            if close and close["fence"][0] == fence[0] and len(close["fence"]) >= len(fence) and not close["info"].strip():
                break
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j].lstrip())
            j += 1
        else:
            raise AssertionError(f"{path.relative_to(ROOT)}:{i + 1}: a fenced block is never closed")
        block = Block(path, i + 1, info[0] if info else "", tuple(info[1:]), "\n".join(body) + "\n")
        adjacent = all(not line.strip() for line in lines[previous_block_end + 1 : i])
        if block.is_output:
            assert doc.blocks and doc.blocks[-1].runnable and adjacent, (
                f"{block.where()}: an output block must follow a runnable block (only blank lines between)"
            )
            doc.blocks[-1].output = block
        doc.blocks.append(block)
        previous_block_end = j
        i = j + 1
    if paragraph:
        doc.paragraphs.append((start, " ".join(paragraph)))
    return doc


def inline_code(doc: Doc) -> list[tuple[int, str]]:
    """Every inline code span outside fenced blocks, with the line its paragraph starts on."""
    spans = []
    for line, text in doc.paragraphs:
        for match in re.finditer(r"(`+)(.+?)\1", text):
            spans.append((line, match[2].strip()))
    return spans


def all_docs() -> list[Doc]:
    return [parse_doc(path) for path in DOCS]


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


# ---------------------------------------------------------------------------
# The environment the runnable blocks run in: a real index and a real server
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docs_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sample/news.jsonl`` ingested by ``ingest.py``, as ``make run`` does it."""
    index = tmp_path_factory.mktemp("docs") / "index"
    done = subprocess.run(
        [sys.executable, str(ROOT / "ingest.py"), "--index", str(index), str(SAMPLE)],
        capture_output=True, text=True, encoding="utf-8", timeout=120, env=_environment(),
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(  # make run embeds it too, and serves it with SEARCH_SEMANTIC=1
        [sys.executable, "-m", "search", "embed", "--index", str(index), "--quiet"],
        capture_output=True, text=True, encoding="utf-8", timeout=300, env=_environment(),
    )
    assert done.returncode == 0, done.stderr
    return index


@pytest.fixture(scope="module")
def docs_server(docs_index: Path):
    """The app of ``hindi-search serve`` over loopback; the CORS and widget
    examples of docs/api.md run against the origins configured here."""
    from search import create_app

    app = create_app({
        "index": str(docs_index),
        "refresh_seconds": 0,
        "cors_origins": "https://news.example.com",
        "public_url": "https://search.example.com",
        "semantic": 1,
    })
    base, server = serve_in_thread(app)
    yield base
    server.shutdown()


#: The key of the writable server the write examples of docs/api.md use (``$SEARCH_API_KEY``).
DOCS_WRITE_KEY = "change-me"


@pytest.fixture(scope="module")
def docs_write_server(tmp_path_factory: pytest.TempPathFactory):
    """A second server, with writes on (``SEARCH_API_KEY``), of an index of its own (the
    sample corpus): the write examples of docs/api.md send to it as ``$SEARCH_WRITE_URL``,
    so ``$SEARCH_INDEX`` stays as it is."""
    from search import create_app

    index = tmp_path_factory.mktemp("docs-writes") / "index"
    done = subprocess.run(
        [sys.executable, str(ROOT / "ingest.py"), "--index", str(index), str(SAMPLE)],
        capture_output=True, text=True, encoding="utf-8", timeout=120, env=_environment(),
    )
    assert done.returncode == 0, done.stderr
    app = create_app({"index": str(index), "refresh_seconds": 0, "api_key": DOCS_WRITE_KEY})
    base, server = serve_in_thread(app)
    yield base
    server.shutdown()


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCH_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        PYTHONPATH=str(ROOT / "src"),
        LC_ALL="C.UTF-8",
        PYTHONIOENCODING="utf-8",
    )
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def _scratch(tmp_path: Path) -> Path:
    """A directory that looks like the repository root to a block, writable and throw-away."""
    for name in ("ingest.py", "sample", "bench", "src"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


# ---------------------------------------------------------------------------
# Checking a block's output against the output shown
# ---------------------------------------------------------------------------


def _json_matches(shown: Any, actual: Any, where: str = "$") -> list[str]:
    """Where ``actual`` differs from what the doc shows (see the module docstring)."""
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return [f"{where}: an object is shown, got {type(actual).__name__}"]
        problems = []
        for key, value in shown.items():
            if key == ELLIPSIS:
                continue
            if key not in actual:
                problems.append(f"{where}: {key!r} is shown but missing (has {sorted(actual)})")
            elif key in VOLATILE:
                if value is not None and actual[key] is not None and type(value) is not type(actual[key]):
                    problems.append(f"{where}.{key}: a {type(value).__name__} is shown, got {actual[key]!r}")
            else:
                problems += _json_matches(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return [f"{where}: a list is shown, got {type(actual).__name__}"]
        more = bool(shown) and shown[-1] == ELLIPSIS
        items = shown[:-1] if more else shown
        if (len(actual) < len(items)) if more else (len(actual) != len(items)):
            return [f"{where}: {len(items)} items shown{' and more' if more else ''}, got {len(actual)}: {actual!r:.300}"]
        problems = []
        for n, item in enumerate(items):
            problems += _json_matches(item, actual[n], f"{where}[{n}]")
        return problems
    if isinstance(shown, str) and ELLIPSIS in shown:
        pattern = ".*?".join(re.escape(part) for part in shown.split(ELLIPSIS))
        if not isinstance(actual, str) or not re.fullmatch(pattern, actual, re.S):
            return [f"{where}: {shown!r} is shown, got {actual!r}"]
        return []
    if shown != actual or type(shown) is not type(actual) and not (isinstance(shown, (int, float)) and isinstance(actual, (int, float))):
        return [f"{where}: {shown!r} is shown, got {actual!r}"]
    return []


def _parse_json_output(stdout: str) -> Any:
    try:
        return json.loads(stdout)
    except ValueError:
        lines = [line for line in stdout.splitlines() if line.strip()]
        return json.loads(lines[-1]) if lines else None


_VOLATILE_NUMBER = re.compile(r"\d[\d.,]*(?= m?s\b)")


def _line_pattern(shown: str) -> re.Pattern[str]:
    """A shown output line as a pattern: ``…`` is any text, a number before ms/s any number."""
    pieces, last = [], 0
    for match in re.finditer(rf"{ELLIPSIS}|{_VOLATILE_NUMBER.pattern}", shown):
        pieces.append(re.escape(shown[last : match.start()]))
        pieces.append(".*?" if match[0] == ELLIPSIS else r"\d[\d.,]*")
        last = match.end()
    pieces.append(re.escape(shown[last:]))
    return re.compile("".join(pieces))


def _normal(line: str) -> str:
    return " ".join(line.replace("\ufeff", "").split())


def _text_problems(shown: str, stdout: str, stderr: str) -> list[str]:
    actual = [_normal(line) for line in (stdout + "\n" + stderr).splitlines()]
    problems = []
    for line in shown.splitlines():
        if not line.strip():
            continue
        pattern = _line_pattern(_normal(line))
        if not any(pattern.fullmatch(got) for got in actual):
            problems.append(f"shown but not printed: {line!r}")
    return problems


def _check_output(block: Block, done: subprocess.CompletedProcess) -> list[str]:
    shown = block.output
    if shown is None:
        return []
    if shown.lang == "json":
        try:
            expected = json.loads(shown.text)
        except ValueError as exc:
            return [f"{shown.where()}: the output shown is not JSON: {exc}"]
        try:
            actual = _parse_json_output(done.stdout)
        except ValueError:
            return [f"the block printed no JSON: {done.stdout[:500]!r}"]
        return _json_matches(expected, actual)
    return _text_problems(shown.text, done.stdout, done.stderr)


# ---------------------------------------------------------------------------
# Runnable blocks
# ---------------------------------------------------------------------------


def _runnable_docs() -> list[Path]:
    return [doc.path for doc in all_docs() if any(b.runnable for b in doc.blocks)]


def test_there_are_runnable_blocks():
    docs = {_id(path) for path in _runnable_docs()}
    assert {"README.md", "docs/api.md", "docs/ingest.md", "docs/operations.md"} <= docs, docs


@pytest.mark.parametrize("path", _runnable_docs(), ids=_id)
def test_runnable_blocks(path: Path, docs_server: str, docs_index: Path, docs_write_server: str, tmp_path: Path):
    """Every runnable block of the file, in order: exits 0 and prints what the doc shows."""
    assert shutil.which("curl"), "the documented examples need curl (apt-get install curl)"
    before = _index_state(docs_server)
    scratch = _scratch(tmp_path)
    env = _environment(SEARCH_URL=docs_server, SEARCH_INDEX=str(docs_index),
                       SEARCH_WRITE_URL=docs_write_server, SEARCH_API_KEY=DOCS_WRITE_KEY)
    for block in parse_doc(path).blocks:
        if not block.runnable:
            continue
        assert block.lang in ("sh", "bash"), f"{block.where()}: runnable blocks are sh"
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.text], cwd=scratch, env=env,
            capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=120,
        )
        report = f"{block.where()}:\n{block.text}\n--- exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        assert done.returncode == 0, report
        problems = _check_output(block, done)
        assert not problems, "\n".join(problems) + "\n" + report
    assert _index_state(docs_server) == before, "a runnable block changed $SEARCH_INDEX"


def _index_state(base: str) -> tuple[int, int]:
    from conftest import http_get

    status, health = http_get(base + "/health")
    assert status == 200, health
    return health["documents"], health["generation"]


def test_docs_default_search_url():
    """A file whose runnable blocks use $SEARCH_URL says, runnably, where it defaults to."""
    default = "export SEARCH_URL=${SEARCH_URL:-http://127.0.0.1:8000}"
    for doc in all_docs():
        runnable = [b for b in doc.blocks if b.runnable]
        uses = [b for b in runnable if "$SEARCH_URL" in b.text]
        if uses:
            first = next(b for b in runnable if "SEARCH_URL" in b.text)
            assert default in first.text, f"{first.where()}: set the default first: {default}"


# ---------------------------------------------------------------------------
# Commands shown but not run: every flag must be one the command takes
# ---------------------------------------------------------------------------

_SEPARATORS = {"&&", "||", ";", "|", "&"}
_HS_COMMANDS = ("ingest", "query", "serve", "settings")


@dataclass(frozen=True)
class Command:
    where: str
    program: str  # hindi-search SUB, ingest.py, bench/X.py, gunicorn, make, pytest
    args: tuple[str, ...]


def _logical_lines(text: str) -> list[str]:
    return re.sub(r"\\\n\s*", " ", text).splitlines()


def _tokens(line: str) -> list[str]:
    try:
        lexer = shlex.shlex(line, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return list(lexer)
    except ValueError:  # an unbalanced quote in a synopsis: words are enough
        return line.split()


def _program(token: str, previous: str) -> str | None:
    token = token.removeprefix("ExecStart=")
    name = token.rsplit("/", 1)[-1]
    if name in ("hindi-search", "gunicorn", "make"):
        return name
    if name == "pytest":
        return "pytest"
    match = re.search(r"(?:^|/)bench/(\w+\.py)$", token)
    if match:
        return f"bench/{match[1]}"
    if name == "ingest.py":
        return "ingest.py"
    return None


def commands_in(text: str, where: str) -> list[Command]:
    found = []
    for line in _logical_lines(text):
        tokens = _tokens(line)
        segment: list[str] = []
        for token in [*tokens, ";"]:
            if token not in _SEPARATORS:
                segment.append(token)
                continue
            for n, token_ in enumerate(segment):
                program = _program(token_, segment[n - 1] if n else "")
                if program:
                    args = segment[n + 1 :]
                    if program == "hindi-search":
                        if not args or args[0] not in _HS_COMMANDS:
                            break
                        program, args = f"hindi-search {args[0]}", args[1:]
                    env = tuple(t for t in segment[:n] if re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", t))
                    found.append(Command(where, program, (*env, "--", *args)))
                    break
            segment = []
    return found


def shown_commands() -> list[Command]:
    """Every command of a block that is not run, and of inline code."""
    commands = []
    for doc in all_docs():
        for block in doc.blocks:
            if not block.runnable and not block.is_output:
                commands += commands_in(block.text, block.where())
        for line, code in inline_code(doc):
            commands += commands_in(code, f"{_id(doc.path)}:{line}")
    return commands


@functools.cache
def help_text(program: str) -> str:
    env: dict[str, str] = {}
    if program.startswith("hindi-search "):
        argv = [str(BIN / "hindi-search"), program.split()[1], "--help"]
    elif program == "ingest.py":
        argv = [sys.executable, str(ROOT / "ingest.py"), "--help"]
    elif program.startswith("bench/"):
        assert (ROOT / program).is_file(), f"{program} does not exist"
        argv = [sys.executable, str(ROOT / program), "--help"]
    elif program == "gunicorn":
        argv = [str(BIN / "gunicorn"), "--help"]
    elif program == "pytest":  # pytest's own options (-m, -k, -s, ...), without loading every plugin
        argv = [sys.executable, "-m", "pytest", "--help"]
        env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    elif program == "curl":
        argv = ["curl", "--help", "all"]
    else:
        raise AssertionError(program)
    done = subprocess.run(argv, capture_output=True, text=True, encoding="utf-8", env=_environment(**env), cwd=ROOT, timeout=60)
    assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr}"
    return done.stdout


def _has_flag(help_: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_) is not None


def _flag_problems(program: str, args: list[str]) -> list[str]:
    problems = []
    help_ = help_text(program)
    for n, raw in enumerate(args):
        token = raw.strip("[],")
        if not token.startswith("-") or token == "-" or re.match(r"-\d", token) or re.search(r"\s", token) or token == "--":
            continue
        flag = token.split("=", 1)[0]
        if not _has_flag(help_, flag):
            problems.append(f"{program}: {flag} is not an option of `{program} --help`")
            continue
        value = args[n + 1].strip("[]") if n + 1 < len(args) else ""
        if re.fullmatch(r"[\w-]+(\|[\w-]+)+", value):
            problems += [f"{program} {flag}: {v!r} is not a choice" for v in value.split("|") if not re.search(rf"\b{re.escape(v)}\b", help_)]
        if flag == "--ingest-args" and value:
            problems += _flag_problems("ingest.py", _tokens(value))
    return problems


@functools.cache
def _markers() -> set[str]:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {m.split(":")[0].strip() for m in config["tool"]["pytest"]["ini_options"]["markers"]}


def _variable_problems(env: list[str]) -> list[str]:
    """``SEARCH_*`` variables set before a command must be settings or read by the tests."""
    from search.config import SETTINGS_HELP

    problems = []
    for assignment in env:
        name = assignment.split("=", 1)[0]
        if not name.startswith("SEARCH_") or name.removeprefix("SEARCH_").lower() in SETTINGS_HELP:
            continue
        read = any(name in path.read_text(encoding="utf-8") for path in (ROOT / "tests").glob("*.py") if path.name != "test_docs.py")
        if not read:
            problems.append(f"{name} is neither a setting nor read by any test")
    return problems


def _pytest_problems(args: list[str]) -> list[str]:
    problems = _flag_problems("pytest", args)
    for n, arg in enumerate(args):
        previous = args[n - 1] if n else ""
        if previous == "-m":
            for word in re.findall(r"[\w-]+", arg):
                if word not in ("not", "and", "or") and word not in _markers():
                    problems.append(f"pytest -m: no marker {word!r} in pyproject.toml")
        elif previous == "-k":
            continue
        elif not arg.startswith("-") and (arg.startswith("tests/") or arg.endswith(".py")):
            if not (ROOT / arg.split("::")[0]).exists():
                problems.append(f"pytest: {arg} does not exist")
    return problems


def _make_problems(args: list[str], env: list[str]) -> list[str]:
    variables = [a for a in args if re.fullmatch(r"[A-Z_]+=.*", a)]
    targets = [a for a in args if a not in variables and not a.startswith("-")]
    done = subprocess.run(["make", "-n", "-C", str(ROOT), *targets, *variables], capture_output=True, text=True, timeout=60)
    problems = [f"make -n {' '.join(targets)}: {done.stderr.strip()}"] if done.returncode else []
    for variable in variables:
        name, value = variable.split("=", 1)
        if name == "PYTEST_ARGS":
            problems += _pytest_problems(_tokens(value))
        elif name not in re.findall(r"\$\((\w+)\)", (ROOT / "Makefile").read_text(encoding="utf-8")):
            problems.append(f"make: the Makefile has no variable {name}")
    return problems + _variable_problems(env)


def _prefetch_help(programs: set[str]) -> None:
    """Ask every program for its help at once (each takes a second to import)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(help_text, sorted(p for p in programs if p != "make")))


@pytest.mark.slow  # a dozen interpreters asked for their --help: 10-15 s
def test_commands_shown_take_the_flags_shown():
    commands = shown_commands()
    programs = {c.program for c in commands}
    _prefetch_help(programs | {"ingest.py"})
    assert {"make", "hindi-search ingest", "hindi-search query", "ingest.py", "gunicorn", "bench/eval.py", "bench/query.py"} <= programs, programs
    problems = []
    for command in commands:
        split = command.args.index("--")
        env, args = list(command.args[:split]), [a for a in command.args[split + 1 :] if a not in (ELLIPSIS, "...")]
        if command.program == "make":
            found = _make_problems(args, env)
        elif command.program == "pytest":
            found = _pytest_problems(args) + _variable_problems(env)
        else:
            found = _flag_problems(command.program, args) + _variable_problems(env)
        problems += [f"{command.where}: {p}" for p in found]
    assert not problems, "\n".join(problems)


def test_bare_flags_in_prose_exist():
    """An inline ``--flag`` on its own (``--procs 1``) is an option of one of the commands."""
    programs = ["hindi-search ingest", "hindi-search embed", "hindi-search query", "hindi-search serve", "ingest.py", "gunicorn", "pytest", "curl"]
    programs += [f"bench/{p.name}" for p in sorted((ROOT / "bench").glob("*.py"))]
    _prefetch_help(set(programs))
    problems = []
    for doc in all_docs():
        for line, code in inline_code(doc):
            if not code.startswith("--"):
                continue
            flag = _tokens(code)[0].split("=", 1)[0]
            if not any(_has_flag(help_text(p), flag) for p in programs):
                problems.append(f"{_id(doc.path)}:{line}: {flag} is an option of no command")
    assert not problems, "\n".join(problems)


def test_commands_are_found_where_shown():
    """The extractor itself: synopses, chains, prefixes and unit files."""
    found = commands_in(
        "cd /srv/search && nice -n 10 .venv/bin/hindi-search ingest --index /srv/index --quiet /srv/feeds\n"
        "ExecStart=/srv/search/.venv/bin/gunicorn -c python:search.serving -b 127.0.0.1:8000\n"
        "hindi-search query \"किसान\" [--index DIR] [--format table|json|csv]\n"
        "SEARCH_CRASH_KILLS=20 make test PYTEST_ARGS='-s tests/test_crash.py'\n"
        "python bench/ingest.py --during \\\n    --ingest-args \"--procs 1\"\n",
        "here",
    )
    assert [(c.program, c.args) for c in found] == [
        ("hindi-search ingest", ("--", "--index", "/srv/index", "--quiet", "/srv/feeds")),
        ("gunicorn", ("--", "-c", "python:search.serving", "-b", "127.0.0.1:8000")),
        ("hindi-search query", ("--", "किसान", "[--index", "DIR]", "[--format", "table|json|csv]")),
        ("make", ("SEARCH_CRASH_KILLS=20", "--", "test", "PYTEST_ARGS=-s tests/test_crash.py")),
        ("bench/ingest.py", ("--", "--during", "--ingest-args", "--procs 1")),
    ]
    assert _flag_problems("hindi-search query", ["[--colour", "auto]"]) != []
    assert _flag_problems("bench/ingest.py", ["--ingest-args", "--procs 2 --no-such-flag"]) != []


# ---------------------------------------------------------------------------
# README size and quick start, links, settings, API coverage
# ---------------------------------------------------------------------------


def test_readme_is_short():
    lines = len(parse_doc(ROOT / "README.md").lines)
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; at most {README_MAX_LINES}: move details into docs/"


def test_readme_keeps_the_quick_start():
    blocks = [b.text.splitlines() for b in parse_doc(ROOT / "README.md").blocks]
    assert QUICK_START in blocks, "README.md: the quick start block must stay exactly: " + " / ".join(QUICK_START)


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to dashes."""
    text = re.sub(r"`|\*\*|\*|_(?=\w)|(?<=\w)_", "", heading.strip()).lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_" or unicodedata.category(c).startswith("M"))
    return text.replace(" ", "-")


@functools.cache
def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    doc = parse_doc(path)
    fenced = {n for b in doc.blocks for n in range(b.line, b.line + b.text.count("\n") + 2)}
    for n, line in enumerate(doc.lines, 1):
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match and n not in fenced:
            anchor = _anchor(match[1])
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def test_relative_links_resolve():
    problems = []
    for doc in all_docs():
        for line, text in doc.paragraphs:
            for target in re.findall(r"\]\(([^)\s]+)\)", re.sub(r"(`+).+?\1", "", text)):
                if re.match(r"[a-z]+:", target):
                    continue
                file_part, _, anchor = target.partition("#")
                resolved = (doc.path.parent / file_part).resolve() if file_part else doc.path
                if not resolved.exists():
                    problems.append(f"{_id(doc.path)}:{line}: {target}: no such file")
                elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                    problems.append(f"{_id(doc.path)}:{line}: {target}: no heading with that anchor")
                elif resolved != ROOT and ROOT not in resolved.parents:
                    problems.append(f"{_id(doc.path)}:{line}: {target} points outside the repository")
    assert not problems, "\n".join(problems)


def _configuration_table() -> dict[str, str]:
    """``SEARCH_X`` -> its default cell, from the table under "## Configuration" of docs/operations.md."""
    doc = parse_doc(ROOT / "docs" / "operations.md")
    rows, inside = {}, False
    for line in doc.lines:
        if line.startswith("## "):
            inside = line.strip() == "## Configuration"
        elif inside:
            match = re.match(r"\|\s*`(SEARCH_\w+)`\s*\|([^|]*)\|", line)
            if match:
                rows[match[1]] = match[2].strip()
    return rows


def _default_shown(cell: str, default: Any) -> bool:
    first = cell.split()[0].strip("`") if cell.split() else ""
    if default == "":
        return cell.startswith("(none)")
    if isinstance(default, str):
        return first == default
    try:
        return float(first.replace(",", "")) == float(default)
    except ValueError:
        return False


def test_every_setting_is_documented_with_its_default():
    from search.config import SETTINGS_HELP

    table = _configuration_table()
    problems = []
    for name, (default, _help) in SETTINGS_HELP.items():
        variable = f"SEARCH_{name.upper()}"
        if variable not in table:
            problems.append(f"docs/operations.md, Configuration: no row for {variable}")
        elif not _default_shown(table[variable], default):
            problems.append(f"docs/operations.md, Configuration: {variable} shows default {table[variable]!r}, the code has {default!r}")
    unknown = set(table) - {f"SEARCH_{n.upper()}" for n in SETTINGS_HELP}
    problems += [f"docs/operations.md, Configuration: {v} is not a setting" for v in sorted(unknown)]
    assert not problems, "\n".join(problems)


def test_every_search_variable_named_exists():
    """A ``SEARCH_*`` name anywhere in the docs is a setting, or a variable the tests read."""
    from search.config import SETTINGS_HELP

    known = {f"SEARCH_{n.upper()}" for n in SETTINGS_HELP} | {"SEARCH_URL", "SEARCH_WRITE_URL"}
    tests_text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("*.py") if p.name != "test_docs.py")
    problems = []
    for doc in all_docs():
        for name in sorted(set(re.findall(r"\bSEARCH_[A-Z0-9_]*[A-Z0-9]\b", "\n".join(doc.lines)))):
            if name not in known and name not in tests_text:
                problems.append(f"{_id(doc.path)}: {name} is neither a setting nor read by the tests")
    assert not problems, "\n".join(problems)


def test_api_doc_covers_every_endpoint_and_parameter():
    from search.config import Settings
    from search.openapi import openapi_spec
    from search.pages import PageState

    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    headings = {line for line in text.splitlines() if line.startswith("#")}
    problems = []
    for path, item in openapi_spec(Settings())["paths"].items():
        shown = path.replace("{id}", "<id>")
        for method, operation in item.items():
            if not any(f"`{method.upper()} {shown}`" in h for h in headings):
                problems.append(f"docs/api.md: no heading for `{method.upper()} {shown}`")
            for param in operation.get("parameters", []):
                if param["in"] == "query" and f"| `{param['name']}` |" not in text:
                    problems.append(f"docs/api.md: {path} parameter `{param['name']}` is in no parameter table")
    page_params = {"q", "source", "category", "from", "to", "filter", "sort", "page"}
    assert {name for name, _ in PageState(q="x", sources=("a",), categories=("b",), date_from="2026-01-01",
                                          date_to="2026-02-01", filter="f", sort="-published", page=2).pairs()} == page_params
    problems += [f"docs/api.md: search page parameter `{p}` is in no table" for p in sorted(page_params) if f"| `{p}` |" not in text]
    for extra in ("`GET /`", "`GET /widget.js`", "`GET /widget-demo`"):
        if not any(extra in h for h in headings):
            problems.append(f"docs/api.md: no heading for {extra}")
    assert not problems, "\n".join(problems)


def test_output_checks_catch_differences():
    """The output comparison itself: it must fail when the docs are wrong."""
    assert _json_matches({"total": 3, "hits": [{"id": "s1"}, ELLIPSIS], ELLIPSIS: ELLIPSIS},
                         {"total": 3, "hits": [{"id": "s1"}, {"id": "s2"}], "page": 1}) == []
    assert _json_matches({"total": 3}, {"total": 4}) != []
    assert _json_matches({"hits": [{"id": "s1"}]}, {"hits": [{"id": "s1"}, {"id": "s2"}]}) != []
    assert _json_matches({"snippet": "a…c"}, {"snippet": "abbbc"}) == []
    assert _json_matches({"took_ms": 1.0}, {"took_ms": 7.3}) == []
    assert _json_matches({"took_ms": 1.0}, {}) != []
    assert _text_problems("1 of 2 documents · 17 ms · parsed: भारत", "1 of 2 documents · 9 ms · parsed: भारत\n", "") == []
    assert _text_problems("read 60, added 60 in 0.2 s", "read 60, added 59 in 0.2 s", "") != []
    assert _text_problems("a … z", "", "a b c z") == []
