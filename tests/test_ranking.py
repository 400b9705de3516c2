"""The ranking layer above the backend (``search.ranking``): pseudo-relevance
feedback for long queries, through /search and on the Whoosh backend directly."""

from __future__ import annotations

import pytest

from search import create_app


class TestFeedback:
    """A long query's hits after the first ``feedback_after`` are re-ranked with the
    distinctive words of its best hits (pseudo-relevance feedback), so a story told
    in other words than the headline's climbs; nothing is added and the first page
    keeps its order."""

    QUERY = "सुपौल जिले में बाढ़ से फसलें बर्बाद, किसान परेशान"
    STORIES = [
        "कोसी नदी का तटबंध टूटने से सुपौल जिले में बाढ़ आई। धान की फसलें बर्बाद हो गईं और किसान परेशान हैं। "
        "तटबंध की मरम्मत के लिए जल संसाधन विभाग की टीम पहुंची।",
        "सुपौल में कोसी का पानी गांवों में घुसा। तटबंध के पास बसे किसान परेशान हैं, बाढ़ से फसलें डूब गईं। "
        "प्रशासन ने तटबंध पर निगरानी बढ़ाई।",
        "कोसी तटबंध में कटाव से सुपौल के कई गांव बाढ़ की चपेट में हैं। किसानों की फसलें बर्बाद हुईं।",
    ]
    # The story about the same event told without the headline's words, but one.
    TARGET = "कोसी के तटबंध में दरार आने के बाद सुपौल के ग्रामीण रात भर तटबंध पर डटे रहे और बोरियों से दरार भरी।"
    OTHERS = [
        "जिले में किसान मेले का आयोजन हुआ। किसान मेले में बीज और खाद की प्रदर्शनी लगी।",
        "बारिश न होने से किसान परेशान हैं। किसान आसमान की ओर देख रहे हैं।",
        "जिले में सड़कों की हालत खराब है और लोग परेशान हैं।",
        "मंडी में फसलें बिकने नहीं आईं, व्यापारी परेशान रहे।",
        "जिले के स्कूलों में नई किताबें बांटी गईं, छात्र खुश हैं।",
        "किसान नेता ने कहा कि किसान अपनी फसलें सही दाम पर बेचें।",
        "पड़ोसी जिले में बाढ़ राहत शिविर बंद किए गए।",
        "जिले में टीकाकरण अभियान शुरू हुआ, लोग परेशान न हों।",
    ]

    @pytest.fixture(scope="class")
    def feedback_index(self, tmp_path_factory: pytest.TempPathFactory) -> str:
        import io
        import json

        from search import ingest
        from search.documents import read_jsonl

        rows = [{"id": f"story{i}", "title": "", "body": b} for i, b in enumerate(self.STORIES)]
        rows += [{"id": "target", "title": "", "body": self.TARGET}]
        rows += [{"id": f"other{i}", "title": "", "body": b} for i, b in enumerate(self.OTHERS)]
        path = str(tmp_path_factory.mktemp("feedback"))
        ingest(read_jsonl(io.StringIO("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)), "f.jsonl"), path)
        return path

    def ranked(self, index: str, **params) -> dict:
        # a dozen documents give every word a small idf: a weight of 1 shows the effect
        settings = {"feedback_after": 3, "feedback_docs": 3, "feedback_weight": 1.0, **{k: v for k, v in params.items() if k.startswith("feedback")}}
        client = create_app({"index": index, "refresh_seconds": 0, **settings}).test_client()
        query = {"q": self.QUERY, "per_page": 20, **{k: v for k, v in params.items() if not k.startswith("feedback")}}
        response = client.get("/search", query_string=query)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def test_a_story_in_other_words_climbs_after_the_first_page(self, feedback_index):
        plain = self.ranked(feedback_index, feedback_terms=0)
        fed = self.ranked(feedback_index)
        plain_ids, fed_ids = [h["id"] for h in plain["hits"]], [h["id"] for h in fed["hits"]]
        assert plain_ids.index("target") > 4
        assert fed_ids.index("target") == 3  # first after the kept page
        assert fed_ids[:3] == plain_ids[:3] == ["story0", "story2", "story1"]
        assert sorted(fed_ids) == sorted(plain_ids) and fed["total"] == plain["total"] == len(plain_ids)

    def test_pages_after_the_first_agree_with_one_long_page(self, feedback_index):
        whole = [h["id"] for h in self.ranked(feedback_index)["hits"]]
        pages = [h["id"] for page in (1, 2, 3) for h in self.ranked(feedback_index, page=page, per_page=3)["hits"]]
        assert pages == whole[:9]

    def test_short_queries_and_sorting_by_date_are_not_re_ranked(self, feedback_index):
        from search.engine import Ranking, SearchIndex
        from search.ranking import Ranker
        from search.querying import parse

        index = Ranker(SearchIndex.open(feedback_index, ranking=Ranking(feedback_after=1, feedback_docs=3, feedback_weight=1.0)))
        plain = Ranker(SearchIndex.open(feedback_index, ranking=Ranking(feedback_terms=0)))
        for q in ("किसान परेशान", "कोसी OR किसान OR परेशान"):  # every word required / boolean: as written
            node = parse(q, index.backend.analyzer)
            assert index.find(node, limit=20).hits == plain.find(node, limit=20).hits, q
        node = parse(self.QUERY, index.backend.analyzer)
        assert index.find(node, limit=20, sort="-published").hits == plain.find(node, limit=20, sort="-published").hits
        assert index.find(node, limit=20).hits != plain.find(node, limit=20).hits  # (by relevance it is re-ranked)

    def test_feedback_past_the_time_limit_answers_without_it(self, feedback_index, monkeypatch):
        """The search itself succeeded: a slow feedback step must not turn it into a timeout."""
        import time

        from search.engine import Ranking, SearchIndex
        from search.ranking import Ranker
        from search.querying import parse

        index = Ranker(SearchIndex.open(feedback_index, ranking=Ranking(feedback_after=3, feedback_docs=3, feedback_weight=1.0)))
        plain = Ranker(SearchIndex.open(feedback_index, ranking=Ranking(feedback_terms=0)))
        node = parse(self.QUERY, index.backend.analyzer)
        words = Ranker._feedback

        def slow(*args, **kwargs):
            time.sleep(0.3)
            return words(*args, **kwargs)

        monkeypatch.setattr(Ranker, "_feedback", slow)
        found = index.find(node, limit=20, time_limit=0.2)
        assert found.hits == plain.find(node, limit=20).hits

    def test_feedback_reuses_the_first_runs_work(self, feedback_index, monkeypatch):
        """The second run adds the feedback words to the query's own scores instead of
        scoring them again, and a word's document frequency is looked up once a generation."""
        from search.engine import Ranking, SearchIndex
        from search.engine.matching import _AnyWordsScorer
        from search.ranking import Ranker
        from search.querying import parse

        index = Ranker(SearchIndex.open(feedback_index, ranking=Ranking(feedback_after=3, feedback_docs=3, feedback_weight=1.0)))
        fresh = Ranker(SearchIndex.open(feedback_index, ranking=Ranking(feedback_after=3, feedback_docs=3, feedback_weight=1.0)))
        node = parse(self.QUERY, index.backend.analyzer)
        expected = fresh.find(node, limit=20).hits
        own, looked_up = _AnyWordsScorer._own_scores, []

        def counted(self, *args):
            looked_up.append("own")
            return own(self, *args)

        monkeypatch.setattr(_AnyWordsScorer, "_own_scores", counted)
        frequency = index.backend.searcher().doc_frequency
        monkeypatch.setattr(index.backend.searcher(), "doc_frequency", lambda *a: looked_up.append(a) or frequency(*a))
        assert index.find(node, limit=20).hits == expected
        terms = [call for call in looked_up if call != "own"]
        assert looked_up.count("own") == 1 and terms and len(set(terms)) == len(terms)
        looked_up.clear()
        index.feedback.clear()  # the words again, from the same hits
        assert index.find(node, limit=20).hits == expected
        assert looked_up == []  # the same query on the same commit: its own scores are the last run's
        index.find(parse("सरकार", index.backend.analyzer), limit=5)
        looked_up.clear()
        index.feedback.clear()
        assert index.find(node, limit=20).hits == expected
        assert looked_up == ["own"]  # another query came between: scored again, frequencies remembered

    def test_same_ranking_as_whoosh_scores_it(self, feedback_index):
        """The array scorer and Whoosh's own query (AndMaybe of the feedback words) agree."""
        from search.engine import Ranking, SearchIndex
        from search.ranking import Ranker
        from search.querying import parse

        ranking = Ranking(feedback_after=3, feedback_docs=3, feedback_weight=1.0)
        ours = Ranker(SearchIndex.open(feedback_index, ranking=ranking))
        from whoosh_reference import WhooshReference

        plain = WhooshReference(SearchIndex.open(feedback_index, ranking=ranking))
        node = parse(self.QUERY, ours.backend.analyzer)
        mine, whoosh = ours.find(node, limit=20), plain.find(node, limit=20)
        assert [s["id"] for _, s in mine.hits] == [s["id"] for _, s in whoosh.hits]
        assert [score for score, _ in mine.hits] == pytest.approx([score for score, _ in whoosh.hits])

    def test_a_commit_brings_new_feedback(self, feedback_index, tmp_path):
        """The feedback words a thread remembers for a query's next pages belong to one index generation."""
        import io
        import json
        import shutil

        from search import ingest
        from search.documents import read_jsonl
        from search.engine import Ranking, SearchIndex
        from search.ranking import Ranker
        from search.querying import parse

        path = str(tmp_path / "index")
        shutil.copytree(feedback_index, path)
        index = Ranker(SearchIndex.open(path, refresh_seconds=0, ranking=Ranking(feedback_after=3, feedback_docs=3, feedback_weight=1.0)))
        node = parse(self.QUERY, index.backend.analyzer)
        before = [fields["id"] for _, fields in index.find(node, limit=20).hits]
        assert before.index("target") == 3
        # A better story arrives, about another river: the best hits, and so their
        # distinctive words, change, and a story about that river climbs instead.
        rows = [
            {"id": "story9", "title": "", "body": "सुपौल जिले में बाढ़ से फसलें बर्बाद, किसान परेशान। " * 3
             + "गंडक नदी उफान पर है, गंडक का पानी गांवों में घुसा।"},
            {"id": "gandak", "title": "", "body": "गंडक का जलस्तर बढ़ने पर गंडक किनारे के लोग घर छोड़कर निकले, सुपौल से राहत आई।"},
        ]
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        ingest(read_jsonl(io.StringIO(text), "n.jsonl"), path)
        after = [fields["id"] for _, fields in index.find(node, limit=20).hits]
        fresh = Ranker(SearchIndex.open(path, ranking=Ranking(feedback_after=3, feedback_docs=3, feedback_weight=1.0)))
        assert after == [fields["id"] for _, fields in fresh.find(node, limit=20).hits]
        assert after[0] == "story9"
        assert after.index("gandak") < min(after.index(f"other{i}") for i in range(len(self.OTHERS)))
