"""bench/eval.py: the metrics, the variant syntax, and a whole run on the sample corpus."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLE, write_jsonl

_spec = importlib.util.spec_from_file_location("bench_eval", ROOT / "bench" / "eval.py")
bench_eval = importlib.util.module_from_spec(_spec)
sys.modules["bench_eval"] = bench_eval  # dataclasses look their module up
_spec.loader.exec_module(bench_eval)


class TestMetrics:
    def test_reciprocal_rank(self):
        assert bench_eval.reciprocal_rank(["a", "b", "c"], {"c"}) == pytest.approx(1 / 3)
        assert bench_eval.reciprocal_rank(["a", "b", "c"], {"b", "c"}) == 0.5  # first relevant counts
        assert bench_eval.reciprocal_rank(["x"] * 10 + ["a"], {"a"}) == 0.0  # beyond 10
        assert bench_eval.reciprocal_rank([], {"a"}) == 0.0

    def test_recall(self):
        assert bench_eval.recall(["a", "b"], {"a"}, 1) == 1.0
        assert bench_eval.recall(["b", "a"], {"a"}, 1) == 0.0
        assert bench_eval.recall(["a", "b", "c"], {"a", "c", "z", "y"}, 3) == 0.5

    def test_ndcg(self):
        assert bench_eval.ndcg(["a", "b"], {"a", "b"}) == 1.0
        assert bench_eval.ndcg(["b", "a"], {"a"}) == pytest.approx(1 / 1.5849625)
        assert bench_eval.ndcg(["x", "y"], {"a"}) == 0.0

    def test_score_summarises_a_run(self):
        results = [
            bench_eval.QueryResult("q1", ["a", "b"], frozenset({"a"}), 2.0),
            bench_eval.QueryResult("q2", ["x", "b"], frozenset({"b"}), 4.0),
            bench_eval.QueryResult("q3", [], frozenset({"c"}), 1.0),
        ]
        figures = bench_eval.score(results)
        assert figures["MRR@10"] == pytest.approx((1 + 0.5 + 0) / 3, abs=1e-4)
        assert figures["R@1"] == pytest.approx(1 / 3, abs=1e-4)
        assert figures["R@10"] == pytest.approx(2 / 3, abs=1e-4)
        assert figures["zero"] == 1 and figures["queries"] == 3
        assert figures["p50 ms"] == 2.0


class TestVariants:
    def test_presets(self):
        assert bench_eval.parse_variant("no-stem").options.stem is False
        assert bench_eval.parse_variant("no-normalise").options.normalise is False
        assert bench_eval.parse_variant("default").settings == ()

    def test_key_values_reach_analysis_and_settings(self):
        v = bench_eval.parse_variant("stop=no,bm25_k1=1.5,all_words_max=0")
        assert v.options.stop is False
        assert dict(v.settings) == {"bm25_k1": 1.5, "all_words_max": 0}

    @pytest.mark.parametrize("spec", ["nonsense", "colour=blue", "stem=maybe", "index=/tmp/x"])
    def test_bad_variants_are_refused(self, spec):
        with pytest.raises(ValueError):
            bench_eval.parse_variant(spec)


@pytest.fixture
def headline_queries(tmp_path) -> tuple[list[dict], str]:
    """The sample stories, and their headlines as known-item queries."""
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    queries = write_jsonl(
        tmp_path / "queries.jsonl",
        [{"qid": f"q{r['id']}", "query": r["title"], "relevant": [r["id"]]} for r in records],
    )
    return records, str(queries)


def test_a_whole_run_on_the_sample_corpus(headline_queries):
    """Headlines as queries against the sample stories with titles blanked."""
    records, queries = headline_queries
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "eval.py"), "--docs", str(SAMPLE), "--queries", queries,
         "--blank-title", "--variant", "no-stem", "--variant", "bm25_b=0.3", "--spelling-variants", "--json"],
        capture_output=True, text=True, encoding="utf-8", timeout=300,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert list(result["variants"]) == ["default", "no-stem", "bm25_b=0.3"]
    default = result["variants"]["default"]
    assert default["queries"] == len(records)
    assert default["MRR@10"] > 0.8  # each headline finds its own story
    assert default["MRR drop"] <= 0.05


def test_titles_are_blanked_only_in_the_files_named(tmp_path):
    """``--blank-title-of``: the stories whose headlines are the queries lose their titles;
    another collection keeps its own (a work's name over its passages)."""
    stories = write_jsonl(tmp_path / "stories.jsonl", [{"id": "s1", "title": "बाढ़ से फसलें बर्बाद", "body": "कोसी में बाढ़।"}])
    works = write_jsonl(tmp_path / "works.jsonl", [{"id": "w1", "title": "गोदान (3/40)", "body": "होरी ने कहा।"}])
    paths = [str(stories), str(works)]
    titles = {r.id: r.title for r in bench_eval.read_docs(paths, blank_title=[str(stories)], max_docs=None)}
    assert titles == {"s1": "", "w1": "गोदान (3/40)"}
    every = {r.id: r.title for r in bench_eval.read_docs(paths, blank_title=True, max_docs=None)}
    assert every == {"s1": "", "w1": ""}
    options = bench_eval.parse_variant("default").options
    keys = {bench_eval._index_key(paths, options, blanked, None) for blanked in ([], [str(stories)], paths)}
    assert len(keys) == 3  # each its own cached index


def test_blank_title_of_a_file_not_indexed_is_a_usage_error(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "eval.py"), "--docs", str(SAMPLE), "--queries", str(SAMPLE),
         "--blank-title-of", str(tmp_path / "other.jsonl")],
        capture_output=True, text=True, encoding="utf-8", timeout=60,
    )
    assert run.returncode == 2 and "not one of the --docs files" in run.stderr


def test_bad_arguments_are_usage_errors(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "eval.py"), "--docs", str(tmp_path / "missing.jsonl"),
         "--queries", str(SAMPLE)],
        capture_output=True, text=True, encoding="utf-8", timeout=60,
    )
    assert run.returncode == 2 and "no such file" in run.stderr


def test_the_ranking_screen_on_the_sample_corpus(headline_queries):
    """bench/screen.py: every screen scored, and headlines find their stories."""
    _, queries = headline_queries
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "screen.py"), "--docs", str(SAMPLE), "--queries", queries,
         "--blank-title"],
        capture_output=True, text=True, encoding="utf-8", timeout=300,
    )
    assert run.returncode == 0, run.stderr
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:] for line in run.stdout.splitlines()[3:]}
    assert len(rows) == 10
    assert float(rows["+ lead50-decay 0.35 (product)"][0]) > 0.8  # MRR@10
