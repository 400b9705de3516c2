"""The backend boundary (``search.engine.backend``): the Whoosh index implements the
whole interface, and nothing outside ``search.engine`` reaches past it."""

from __future__ import annotations

import ast
import inspect
import pathlib

import pytest

from search.engine import Backend, Ranking, SearchIndex, Writer
from search.engine import writing
from search.ranking import Ranker

SRC = pathlib.Path(__file__).resolve().parent.parent / "src" / "search"


def _members(protocol: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(value)
        for name, value in vars(protocol).items()
        if callable(value) and not name.startswith("_")
    }


@pytest.mark.parametrize(
    "protocol, implementation", [(Backend, SearchIndex), (Writer, writing.Writer)], ids=["backend", "writer"]
)
def test_the_whoosh_backend_implements_every_method_of_the_interface(protocol, implementation):
    for name, wanted in _members(protocol).items():
        assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
        found = inspect.signature(getattr(implementation, name))
        for parameter in wanted.parameters.values():
            assert parameter.name in found.parameters, f"{implementation.__name__}.{name} lacks {parameter.name}"
            assert found.parameters[parameter.name].kind == parameter.kind, (name, parameter.name)
            assert found.parameters[parameter.name].default == parameter.default, (name, parameter.name)


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_whoosh_is_imported_only_inside_the_engine_package():
    outside = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "engine" not in path.relative_to(SRC).parts
        and any(name == "whoosh" or name.startswith("whoosh.") for name in _imports(path))
    ]
    assert outside == []


def test_searching_and_indexing_talk_to_the_interface_only():
    """They import the engine package's public names, never one of its modules."""
    for module in ("searching.py", "indexing.py", "ranking.py", "web.py", "pages.py", "cli.py"):
        names = _imports(SRC / module)
        assert not [n for n in names if n.startswith(".engine.")], module


def test_the_interface_module_imports_no_whoosh():
    assert not any(n.startswith("whoosh") for n in _imports(SRC / "engine" / "backend.py"))


def test_no_module_is_over_800_lines():
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 800
    }
    assert long == {}


def test_the_ranker_needs_only_the_interface(sample_index):
    """Feedback and blended readings call :class:`Backend` methods only: a backend
    that hides everything else gives the same answers."""
    from search.querying import parse

    index = SearchIndex.open(sample_index, ranking=Ranking(feedback_after=1, feedback_docs=2, feedback_weight=1.0))

    class OnlyTheInterface:
        def __init__(self, backend: SearchIndex) -> None:
            self._backend = backend

        def __getattr__(self, name: str):
            if name not in _members(Backend) and name not in ("path", "analyzer", "ranking"):
                raise AttributeError(f"{name} is not part of the backend interface")
            return getattr(self._backend, name)

    query = "भारत सरकार किसान आंदोलन दिल्ली सीमा पर जारी रहा"
    node = parse(query, index.analyzer)
    plain = Ranker(index).find(node, limit=10)
    hidden = Ranker(OnlyTheInterface(index)).find(node, limit=10)  # type: ignore[arg-type]
    assert [h["id"] for _, h in hidden.hits] == [h["id"] for _, h in plain.hits]
    assert hidden.total == plain.total > 0
