"""The vector store (search.vectors): committed rows only, torn writes cut, stale rows dropped.
No model needed: vectors here are made up."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from search.vectors import VectorStore, VectorsLocked


def unit(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def test_rows_are_seen_only_once_committed(tmp_path):
    store = VectorStore(str(tmp_path))
    assert store.view() is None
    with store.writer("m", 8) as writer:
        writer.add([("a", "h1"), ("b", "h2")], np.stack([unit(1), unit(2)]))
        assert store.view() is None  # queued, not committed
        assert writer.commit() == 2
        view = store.view()
        assert len(view) == 2 and view.model == "m"
        writer.add([("c", "h3")], unit(3)[None])
        assert len(store.view()) == 2
    assert len(store.view()) == 2  # closing drops what was not committed


def test_nearest_and_versions(tmp_path):
    store = VectorStore(str(tmp_path))
    with store.writer("m", 8) as writer:
        writer.add([("a", "h1"), ("b", "h2"), ("c", "h3")], np.stack([unit(1), unit(2), unit(3)]))
        writer.commit()
    view = store.view()
    best = view.nearest(unit(2), 2)
    assert view.ids[best[0][0]] == "b" and best[0][1] == pytest.approx(1.0, abs=1e-3)
    assert view.vector("b", "h2") is not None
    assert view.vector("b", "another version") is None
    assert view.vector("z", "h") is None


def test_a_torn_write_past_the_commit_is_ignored_then_cut(tmp_path):
    store = VectorStore(str(tmp_path))
    with store.writer("m", 8) as writer:
        writer.add([("a", "h1")], unit(1)[None])
        writer.commit()
    directory = tmp_path / "vectors"
    # A writer killed while appending: half a row and half an id line past the committed ones.
    with open(directory / "rows-0.f16", "ab") as f:
        f.write(b"\x01" * 7)
    with open(directory / "rows-0.ids", "ab") as f:
        f.write(b'["b", "h')
    view = VectorStore(str(tmp_path)).view()
    assert view.ids == ["a"] and view.data.shape == (1, 8)
    with store.writer("m", 8) as writer:
        writer.add([("c", "h3")], unit(3)[None])
        writer.commit()
    view = VectorStore(str(tmp_path)).view()
    assert view.ids == ["a", "c"]
    assert np.allclose(view.matrix()[1], unit(3), atol=1e-3)
    assert os.path.getsize(directory / "rows-0.f16") == 2 * 8 * 2


def test_keep_only_drops_replaced_and_deleted_rows(tmp_path):
    store = VectorStore(str(tmp_path))
    with store.writer("m", 8) as writer:
        writer.add([("a", "h1"), ("b", "h2"), ("c", "h3")], np.stack([unit(1), unit(2), unit(3)]))
        writer.commit()
        before = store.view()
        # b was replaced (another hash), c deleted.
        assert writer.keep_only({"a": "h1", "b": "h2-new"}) == 2
        assert writer.known() == {"a": "h1"}
    view = store.view()
    assert view.ids == ["a"] and len(view) == 1
    assert before.ids == ["a", "b", "c"]  # a reader of the old files still reads them
    assert sorted(os.listdir(tmp_path / "vectors")) == ["lock", "rows-1.f16", "rows-1.ids", "state.json"]


def test_a_new_embedding_of_a_document_replaces_its_row(tmp_path):
    store = VectorStore(str(tmp_path))
    with store.writer("m", 8) as writer:
        writer.add([("a", "h1")], unit(1)[None])
        writer.commit()
        writer.add([("a", "h2")], unit(2)[None])
        writer.commit()
    view = store.view()
    assert len(view) == 1 and view.vector("a", "h2") is not None and view.vector("a", "h1") is None
    best = view.nearest(unit(1), 2)
    assert [view.hashes[row] for row, _ in best][0] == "h2"  # the old row scores nothing


def test_another_model_starts_the_store_afresh(tmp_path):
    store = VectorStore(str(tmp_path))
    with store.writer("m", 8) as writer:
        writer.add([("a", "h1")], unit(1)[None])
        writer.commit()
    with store.writer("other", 4) as writer:
        assert writer.known() == {}
        writer.add([("a", "h1")], unit(1, 4)[None])
        writer.commit()
    view = store.view()
    assert view.model == "other" and view.dim == 4 and len(view) == 1
    state = json.loads((tmp_path / "vectors" / "state.json").read_text())
    assert state["model"] == "other"


def test_one_writer_at_a_time(tmp_path):
    store = VectorStore(str(tmp_path))
    with store.writer("m", 8):
        with pytest.raises(VectorsLocked):
            store.writer("m", 8, timeout=0.1)
    store.writer("m", 8).close()
