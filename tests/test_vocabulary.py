"""The surface vocabulary beside the index: kept in step by ingest, rebuilt when
missing, and good enough on real news text for autocomplete and did-you-mean."""

from __future__ import annotations

import json
import os

import pytest

from conftest import write_jsonl
from search import create_app, ingest, read_inputs
from search.analysis import Analyzer
from search.vocabulary import VOCABULARY_FILE, Vocabulary, edit_distance


def completions(client, q: str) -> dict[str, int]:
    body = client.get("/suggest", query_string={"q": q}).get_json()
    return {c["text"]: c["documents"] for c in body["completions"]}


def test_ingest_counts_replaced_and_new_documents(tmp_path):
    index = str(tmp_path / "index")
    first = write_jsonl(tmp_path / "a.jsonl", [
        {"id": "1", "title": "हिमालय यात्रा", "body": "हिमालय की हिमनदियां पिघल रहीं।"},
        {"id": "2", "title": "हिमाचल", "body": "हिमाचल में हिमपात।"},
    ])
    ingest(read_inputs([str(first)]), index)
    client = create_app({"index": index, "refresh_seconds": 0}).test_client()
    assert completions(client, "हिम") == {"हिमालय": 1, "हिमनदियां": 1, "हिमाचल": 1, "हिमपात": 1}
    changed = write_jsonl(tmp_path / "b.jsonl", [
        {"id": "1", "title": "हिमाचल यात्रा", "body": "हिमाचल की वादियां।"},  # replaces: हिमालय gone
        {"id": "3", "title": "हिमाचल", "body": "हिमाचल।"},
    ])
    ingest(read_inputs([str(changed)]), index)
    assert completions(client, "हिम") == {"हिमाचल": 3, "हिमपात": 1}
    again = ingest(read_inputs([str(changed)]), index)  # unchanged: nothing counted twice
    assert again.unchanged == 2 and completions(client, "हिम") == {"हिमाचल": 3, "हिमपात": 1}


def test_most_common_spelling_is_offered(tmp_path):
    rows = [{"id": str(i), "title": "ज़िला", "body": "ज़िला"} for i in range(3)] + [{"id": "9", "title": "जिला", "body": ""}]
    index = str(tmp_path / "index")
    ingest(read_inputs([str(write_jsonl(tmp_path / "a.jsonl", rows))]), index)
    client = create_app({"index": index}).test_client()
    assert completions(client, "जि") == {"ज़िला": 4} == completions(client, "ज़ि")


def test_missing_side_file_is_rebuilt_from_the_documents(tmp_path, sample_index):
    import shutil

    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    saved = Vocabulary.load(str(index), Analyzer())._words
    os.remove(index / VOCABULARY_FILE)
    client = create_app({"index": str(index)}).test_client()
    assert "भारत" in completions(client, "भार")
    ingest(read_inputs([os.devnull]), str(index))  # any ingest writes it again
    assert Vocabulary.load(str(index), Analyzer())._words == saved


def test_damaged_side_file_is_rebuilt(tmp_path, sample_index):
    import shutil

    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    (index / VOCABULARY_FILE).write_text("{not json", encoding="utf-8")
    client = create_app({"index": str(index)}).test_client()
    assert "भारत" in completions(client, "भार")


def test_vocabulary_counts_documents_not_occurrences():
    v = Vocabulary(Analyzer())
    v.add_document(["किसान किसान किसान"])
    v.add_document(["किसान"])
    assert v.complete("कि") == [("किसान", 2)]
    v.add_document(["किसान"], sign=-1)
    assert v.complete("कि") == [("किसान", 1)]


@pytest.mark.parametrize(
    "a, b, distance",
    [("किसान", "किसान", 0), ("किसन", "किसान", 1), ("दिन", "दीन", 1), ("बारिश", "बारीश", 1),
     ("अस्पताल", "असपताल", 1), ("कमल", "कलम", 1), ("भारत", "चीन", 3)],
)
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b, 2) == min(distance, 3)


@pytest.fixture(scope="module")
def covid_client(shared_data, tmp_path_factory):
    index = tmp_path_factory.mktemp("covid")
    ingest(read_inputs([str(shared_data / "covid-news" / "docs.jsonl")]), str(index))
    return create_app({"index": str(index), "refresh_seconds": 0}).test_client()


@pytest.mark.data
@pytest.mark.parametrize(
    "wrong, right",
    [
        ("असपताल", "अस्पताल"),  # half-letter (virama) missing
        ("परीक्षन", "परीक्षण"),  # न for ण
    ],
)
def test_did_you_mean_on_real_news(covid_client, wrong, right):
    answer = covid_client.get("/search", query_string={"q": wrong}).get_json()
    assert answer["total"] < 3 and answer["suggestion"] == right
    assert covid_client.get("/search", query_string={"q": right}).get_json()["total"] > answer["total"]


@pytest.mark.data
@pytest.mark.parametrize("wrong, right", [("मजदुर", "मजदूर"), ("संक्रमीत", "संक्रमित")])
def test_vowel_length_slips_need_no_suggestion(covid_client, wrong, right):
    """Long/short vowel signs are folded by the analysis: the slip finds what the word finds."""
    answer = covid_client.get("/search", query_string={"q": wrong}).get_json()
    assert answer["total"] == covid_client.get("/search", query_string={"q": right}).get_json()["total"] > 3
    assert answer["suggestion"] is None


@pytest.mark.data
@pytest.mark.parametrize("partial, expected", [("कोरो", "कोरोना"), ("अस्प", "अस्पताल"), ("लॉकडा", "लॉकडाउन")])
def test_autocomplete_on_real_news(covid_client, partial, expected):
    body = covid_client.get("/suggest", query_string={"q": partial}).get_json()
    assert body["completions"][0]["text"] == expected
    assert body["titles"] and all(partial in t["title"] or expected in t["title"] for t in body["titles"][:3])


def test_a_new_vocabulary_is_loaded_in_the_background(tmp_path, monkeypatch):
    """After the first load, a changed vocabulary file is read off the request path:
    the search that notices it still answers with the previous one."""
    import threading
    import time as clock

    from search import SearchService, Settings
    from search import searching

    rows = [{"id": "a", "title": "", "body": "किसान आंदोलन जारी"}]
    index = str(tmp_path / "index")
    ingest(read_inputs([str(write_jsonl(tmp_path / "a.jsonl", rows))]), index)
    service = SearchService(Settings.load({"index": index, "refresh_seconds": 0.01}, environ={}))
    first = service.vocabulary()

    rows.append({"id": "b", "title": "", "body": "टीकाकरण अभियान"})
    ingest(read_inputs([str(write_jsonl(tmp_path / "b.jsonl", rows))]), index)
    release = threading.Event()
    real_load = searching._load_vocabulary

    def slow_load(*args, **kwargs):
        release.wait(10)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(searching, "_load_vocabulary", slow_load)
    clock.sleep(0.02)
    assert service.vocabulary() is first  # the reload runs in the background
    release.set()
    for _ in range(200):
        clock.sleep(0.02)
        if service.vocabulary() is not first:
            break
    assert service.vocabulary() is not first


def test_side_file_is_read_in_short_lines_and_a_cut_one_is_refused(tmp_path):
    """The file is a header and lines of a few thousand words (a server reloads it after
    every commit, in a background thread whose short parses let searches run between
    them); a file cut short counts as missing, a one-object file of format 1 still reads."""
    import search.vocabulary as module

    vocabulary = Vocabulary(Analyzer())
    for i in range(2 * module._CHUNK + 5):
        vocabulary.add_document([f"w{i}x भारत"])
    vocabulary.save(str(tmp_path))
    lines = (tmp_path / VOCABULARY_FILE).read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"format": 2, "words": 2 * module._CHUNK + 6} and len(lines) == 1 + 3
    loaded = Vocabulary.load(str(tmp_path), Analyzer())
    assert loaded is not None and loaded._words == vocabulary._words
    assert loaded._sorted == sorted(vocabulary._words)  # saved in order: no sort on the reload
    assert loaded.complete("भार") == [("भारत", 2 * module._CHUNK + 5)]
    (tmp_path / VOCABULARY_FILE).write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    assert Vocabulary.load(str(tmp_path), Analyzer()) is None
    old = {"format": 1, "words": {"भारत": [3, {"भारत": 5}]}}
    (tmp_path / VOCABULARY_FILE).write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    assert Vocabulary.load(str(tmp_path), Analyzer()).complete("भा") == [("भारत", 3)]


# -- readers in several threads at once -----------------------------------------

_CONSONANTS = "कखगघचछजझटठडढतथदधनपफबभमयरलवशसह"
_SIGNS = ["", "ा", "ि", "ी", "ु", "ू", "े", "ै", "ो", "ौ"]


def _made_up_documents(count: int, words_each: int = 40) -> list[dict]:
    """Documents of made-up Devanagari words, about 10,000 distinct ones at 400 (a large
    vocabulary folds for long enough for the threads to meet inside it)."""
    syllables = [c + s for c in _CONSONANTS for s in _SIGNS]
    docs = []
    for n in range(count):
        words = [syllables[(n * 7 + i) % len(syllables)] + syllables[(n * 13 + i * 5) % len(syllables)]
                 + syllables[(n + i * 11) % len(syllables)] for i in range(words_each)]
        docs.append({"id": f"m-{n}", "title": words[0], "body": " ".join(words)})
    return docs


def _read_in_threads(vocabulary: Vocabulary, threads: int = 12) -> tuple[list[BaseException], list[dict]]:
    """Every thread waits at a barrier, then completes, corrects and counts; their errors and counts."""
    import threading

    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    counts: list[dict] = []

    def read() -> None:
        barrier.wait()
        try:
            vocabulary.complete("क")
            vocabulary.corrections("कखग")
            counts.append(vocabulary.documents())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    workers = [threading.Thread(target=read) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors, counts


@pytest.fixture
def switch_often():
    """Let threads switch every microsecond, so a race shows within a few tries."""
    import sys

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_threads_reading_a_rebuilt_vocabulary_at_once(switch_often):
    """A server without a readable vocabulary.json counts one from the stored documents;
    its warm-up thread and the first /suggest requests then read it at once (a 500,
    "dictionary changed size during iteration", when each folded the counts)."""
    docs = _made_up_documents(400)
    expected = Vocabulary.from_documents(Analyzer(), docs).documents()
    assert len(expected) > 5_000
    for _ in range(3):
        errors, counts = _read_in_threads(Vocabulary.from_documents(Analyzer(), docs))
        assert not errors, errors[0]
        assert all(c == expected for c in counts)  # nothing counted twice


def test_threads_reading_a_vocabulary_with_counts_not_yet_folded(switch_often):
    """New documents' counts are folded in at the first read: one thread folds, the others wait."""
    docs = _made_up_documents(400)
    expected = Vocabulary.from_documents(Analyzer(), docs).documents()
    for _ in range(3):
        vocabulary = Vocabulary(Analyzer())
        for fields in docs:
            vocabulary.add_document([fields["title"], fields["body"]])
        errors, counts = _read_in_threads(vocabulary)
        assert not errors, errors[0]
        assert all(c == expected for c in counts)


def test_suggest_right_after_start_without_a_vocabulary_file(tmp_path, switch_often):
    """The app's warm-up thread and the first requests share the vocabulary it counts."""
    import threading

    data = write_jsonl(tmp_path / "docs.jsonl", _made_up_documents(400))
    index = tmp_path / "index"
    ingest(read_inputs([str(data)]), str(index))
    os.remove(index / VOCABULARY_FILE)
    statuses: list[int] = []
    for _ in range(3):
        app = create_app({"index": str(index)})  # starts the warm-up thread
        barrier = threading.Barrier(8)

        def ask() -> None:
            client = app.test_client()
            barrier.wait()
            statuses.append(client.get("/suggest", query_string={"q": "कि"}).status_code)

        workers = [threading.Thread(target=ask) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert statuses == [200] * 24
