"""Orthographic-variant generator for Hindi queries.

The relevance benchmark rewrites its queries with these functions to check
that search is robust to the spelling variation found in real Hindi text:
optional nuktas, chandrabindu vs anusvara, half-nasal vs anusvara, ए/ये,
invisible joiners, digit scripts and long/short vowel-sign confusion.

Each kind is a small function ``(text, rng, rate) -> text`` that finds every
*opportunity* for its variation and takes each one with probability ``rate``
(one ``rng.random()`` draw per opportunity, so the output is deterministic for
a seeded ``rng``).  Kinds that have two directions (e.g. ँ <-> ं) toggle each
opportunity in a single pass, so they never undo their own work.

Every rewrite only swaps one well-formed cluster for another, so the output
never contains a virama followed by a vowel sign, two viramas in a row, or a
nukta after a vowel.

CLI::

    python bench/variants.py [--kinds nukta,nasal,...] [--seed N] [--rate R] \
        < queries.jsonl > rewritten.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable

# --- Character classes (strings usable inside a regex [...] class) ---------

VIRAMA = "\u094D"
NUKTA = "\u093C"
ANUSVARA = "\u0902"
CHANDRABINDU = "\u0901"
ZWNJ = "\u200C"
ZWJ = "\u200D"

#: Consonants, including the precomposed nukta letters U+0958-U+095F.
_CONS = "\u0915-\u0939\u0958-\u095F"
#: Dependent vowel signs (matras) ा … ौ, plus vocalic-l signs.
_SIGNS = "\u093E-\u094C\u0962\u0963"
#: Independent vowels अ … औ, ॠ ॡ, ॲ.
_VOWELS = "\u0904-\u0914\u0960\u0961\u0972"
#: Something that ends in a (possibly inherent) vowel: a bare consonant, a
#: consonant+nukta, a vowel sign or an independent vowel.  Used as lookbehind.
_AFTER_VOWEL = f"(?<=[{_CONS}{NUKTA}{_SIGNS}{_VOWELS}])"

#: Nasal of each varga, keyed by the varga's four stops (not by the nasal
#: itself: standard spelling keeps the half nasal before a nasal — सम्मान,
#: अन्न, जन्म — so anusvara there is not a common variant).
_HOMORGANIC: dict[str, str] = {
    **dict.fromkeys("कखगघ", "ङ"),
    **dict.fromkeys("चछजझ", "ञ"),
    **dict.fromkeys("टठडढ", "ण"),
    **dict.fromkeys("तथदध", "न"),
    **dict.fromkeys("पफबभ", "म"),
}
_STOPS = "".join(_HOMORGANIC)

RateFn = Callable[[str, random.Random, float], str]


def _take(rng: random.Random, rate: float) -> bool:
    """Decide one opportunity; always draws, so rng state depends only on text."""
    return rng.random() < rate


def _sub(pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str],
         text: str, rng: random.Random, rate: float) -> str:
    """``pattern.sub`` that applies ``repl`` to each match with probability ``rate``."""
    return pattern.sub(lambda m: repl(m) if _take(rng, rate) else m.group(0), text)


# --- nukta ----------------------------------------------------------------

#: Nukta letters whose nukta is optional in practice (Perso-Arabic sounds),
#: mapped to their precomposed code points.  ड़ and ढ़ are deliberately absent:
#: they are distinct Hindi letters (पेड़ ≠ पेड), not an optional dot.
_PRECOMPOSED: dict[str, str] = {
    "क": "\u0958", "ख": "\u0959", "ग": "\u095A", "ज": "\u095B", "फ": "\u095E",
}
_NUKTA_RE = re.compile(f"([{''.join(_PRECOMPOSED)}]){NUKTA}")


def nukta(text: str, rng: random.Random, rate: float) -> str:
    """Drop an optional nukta, or write the letter as one precomposed code point.

    Writers often omit the nukta of Perso-Arabic sounds (ज़ोर -> जोर,
    फ़ैसला -> फैसला), and legacy input produces the precomposed letters
    U+0958-U+095F (ज़ -> U+095B) that NFC never emits.  Each opportunity picks
    one of the two with equal odds.  ड़ / ढ़ are left alone.
    """
    def repl(m: re.Match[str]) -> str:
        base = m.group(1)
        return base if rng.random() < 0.5 else _PRECOMPOSED[base]
    return _sub(_NUKTA_RE, repl, text, rng, rate)


# --- chandrabindu ---------------------------------------------------------

#: ं may become ँ only after these: a bare consonant (or consonant+nukta), an
#: independent vowel with nothing above the headline, or a vowel sign below or
#: beside the headline (ा ु ू ृ ॄ).  After ि ी े ै ो ौ ॅ ॉ writers use ं,
#: because the sign above leaves no room for the moon.  Not before a conjunct
#: either: there ं is a nasal consonant (संक्रमण, मंत्री), not a nasal vowel.
_CB_BEFORE = f"[{_CONS}{NUKTA}अआइउऊऋए\u093E\u0941-\u0944]"
_CANDRA_RE = re.compile(
    f"{CHANDRABINDU}|(?<={_CB_BEFORE}){ANUSVARA}(?![{_CONS}]{NUKTA}?{VIRAMA})"
)


def chandrabindu(text: str, rng: random.Random, rate: float) -> str:
    """Swap chandrabindu and anusvara: गाँव <-> गांव, हँसी <-> हंसी.

    ँ -> ं is always possible (it is how most news text is written);
    ं -> ँ only where a chandrabindu has room and could mark a nasal vowel
    (see ``_CB_BEFORE``), so मैं, हिंदी and संक्रमण are left alone.  Unicode
    cannot tell a consonantal anusvara from a nasal vowel in general, so
    e.g. संपर्क -> सँपर्क still happens; that is a misspelling seen in the wild.
    """
    def repl(m: re.Match[str]) -> str:
        return ANUSVARA if m.group(0) == CHANDRABINDU else CHANDRABINDU
    return _sub(_CANDRA_RE, repl, text, rng, rate)


# --- nasal ----------------------------------------------------------------

_NASAL_RE = re.compile(
    # forward: half nasal before a stop (not after a virama: ं needs a vowel)
    f"{_AFTER_VOWEL}(?P<nasal>[ङञणनम]){VIRAMA}(?=(?P<stop1>[{_STOPS}])(?!{NUKTA}))"
    # reverse: anusvara before a stop; remember whether it closes a bare consonant/अ
    f"|(?P<short>(?<=[{_CONS}{NUKTA}अ]))?{ANUSVARA}(?=(?P<stop2>[{_STOPS}])(?!{NUKTA}))"
)


def nasal(text: str, rng: random.Random, rate: float) -> str:
    """Swap a half nasal before a stop with anusvara: हिन्दी <-> हिंदी, सम्बन्ध <-> संबंध.

    Reverse direction writes the homorganic nasal of the following stop's
    varga (क-वर्ग ङ्, च-वर्ग ञ्, ट-वर्ग ण्, त-वर्ग न्, प-वर्ग म्): गंगा -> गङ्गा,
    पंच -> पञ्च, खंड -> खण्ड, केंद्र -> केन्द्र.  It is skipped where the
    anusvara only nasalises the vowel, which Unicode cannot see directly; the
    rule used: after a vowel sign or a vowel other than अ, only त-वर्ग and
    प-वर्ग get a half nasal (शांति -> शान्ति, मुंबई -> मुम्बई), because before
    क/च/ट-वर्ग the anusvara there is a nasal vowel (देंगे, पांच, पहुंच, बांटना)
    and देङ्गे or पाञ्च would be wrong.  Anusvara before य र ल व श ष स ह,
    before a nasal, or before a nukta letter is left alone: no half-nasal
    spelling is standard there.

    Forward direction accepts the homorganic nasal, or न before any stop
    (loanword spellings इन्डिया, इन्कार alternate with इंडिया, इंकार); other
    mismatches such as उम्दा or जन्म are real clusters, not variants.
    """
    def repl(m: re.Match[str]) -> str:
        if m.group("nasal"):
            home = _HOMORGANIC[m.group("stop1")]
            if m.group("nasal") in (home, "न"):
                return ANUSVARA
            return m.group(0)
        home = _HOMORGANIC[m.group("stop2")]
        if m.group("short") is None and home not in "नम":
            return m.group(0)
        return home + VIRAMA
    return _sub(_NASAL_RE, repl, text, rng, rate)


# --- ye -------------------------------------------------------------------

_YE_RE = re.compile(
    f"{_AFTER_VOWEL}(?:(?P<e>ए)|(?<!\u093E)(?P<i>ई)|य(?P<sign>[\u0947\u0940]))"
)


def ye(text: str, rng: random.Random, rate: float) -> str:
    """Swap ए <-> ये and ई <-> यी after a vowel: गए <-> गये, नई <-> नयी, लिए <-> लिये.

    Both spellings of these verb and adjective endings are standard.  ई is not
    turned into यी after ा, because there it is mostly the noun suffix -आई
    (भाई, लड़ाई, कार्रवाई) that is never spelled with य; यी -> ई after ा is
    kept (स्थायी -> स्थाई, आयी -> आई).  A word-initial ये ("these") is never
    touched, since it is not preceded by a vowel.
    """
    def repl(m: re.Match[str]) -> str:
        if m.group("e"):
            return "ये"
        if m.group("i"):
            return "यी"
        return "ए" if m.group("sign") == "\u0947" else "ई"
    return _sub(_YE_RE, repl, text, rng, rate)


# --- zw -------------------------------------------------------------------

_ZW_RE = re.compile(f"{VIRAMA}(?=[{_CONS}])")


def zw(text: str, rng: random.Random, rate: float) -> str:
    """Insert ZWNJ or ZWJ after a virama that starts a conjunct: क्ष -> क्\u200cष.

    Keyboards, copy-paste and font workarounds leave these invisible joiners
    inside conjuncts; the text looks (nearly) the same but no longer matches
    byte-wise.  Each opportunity picks ZWNJ or ZWJ with equal odds.
    """
    def repl(m: re.Match[str]) -> str:
        return VIRAMA + (ZWNJ if rng.random() < 0.5 else ZWJ)
    return _sub(_ZW_RE, repl, text, rng, rate)


# --- digits ---------------------------------------------------------------

_DEVA_DIGITS = "०१२३४५६७८९"
_TO_ASCII = str.maketrans(_DEVA_DIGITS, "0123456789")
_TO_DEVA = str.maketrans("0123456789", _DEVA_DIGITS)
_DIGITS_RE = re.compile(f"[{_DEVA_DIGITS}]+|[0-9]+")


def digits(text: str, rng: random.Random, rate: float) -> str:
    """Swap Devanagari and ASCII digits, one whole number at a time: २०२६ <-> 2026.

    Hindi news uses both scripts for numbers; a number is never written in a
    mix of the two, so each run of digits is one opportunity.
    """
    def repl(m: re.Match[str]) -> str:
        run = m.group(0)
        return run.translate(_TO_DEVA if run[0].isascii() else _TO_ASCII)
    return _sub(_DIGITS_RE, repl, text, rng, rate)


# --- matra ----------------------------------------------------------------

_MATRA_SWAP = {"\u093F": "\u0940", "\u0940": "\u093F",   # ि <-> ी
               "\u0941": "\u0942", "\u0942": "\u0941"}   # ु <-> ू
_WORD_RE = re.compile(r"\S+")


def matra(text: str, rng: random.Random, rate: float) -> str:
    """Confuse one short/long vowel sign per word: ि <-> ी or ु <-> ू (दिन -> दीन, पूरा -> पुरा).

    The most common real misspelling, and the aggressive kind: it can turn a
    word into another word.  Each word containing one of these signs is one
    opportunity; a chosen word gets exactly one of its signs swapped.
    """
    def repl(m: re.Match[str]) -> str:
        word = m.group(0)
        spots = [i for i, ch in enumerate(word) if ch in _MATRA_SWAP]
        if not spots or not _take(rng, rate):
            return word
        i = rng.choice(spots)
        return word[:i] + _MATRA_SWAP[word[i]] + word[i + 1:]
    return _WORD_RE.sub(repl, text)


# --- public API -------------------------------------------------------------

#: Application order.  chandrabindu runs before nasal so that an anusvara
#: made by nasal is not then turned into ँ; zw runs after nasal so it also
#: sees the viramas that nasal writes.
_KIND_FUNCS: dict[str, RateFn] = {
    "nukta": nukta,
    "chandrabindu": chandrabindu,
    "nasal": nasal,
    "ye": ye,
    "zw": zw,
    "digits": digits,
    "matra": matra,
}

KINDS: tuple[str, ...] = tuple(_KIND_FUNCS)


def rewrite_traced(text: str, kinds: Iterable[str] = KINDS,
                   rng: random.Random | None = None,
                   rate: float = 1.0) -> tuple[str, list[str]]:
    """Like :func:`rewrite`, also returning the kinds that changed the text."""
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; choose from {KINDS}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    rng = rng if rng is not None else random.Random(0)
    text = unicodedata.normalize("NFC", text)
    changed: list[str] = []
    for kind in KINDS:  # canonical order, whatever order the caller gave
        if kind in wanted:
            new = _KIND_FUNCS[kind](text, rng, rate)
            if new != text:
                changed.append(kind)
            text = new
    return text, changed


def rewrite(text: str, kinds: Iterable[str] = KINDS,
            rng: random.Random | None = None, rate: float = 1.0) -> str:
    """Rewrite a Hindi string into a variant spelling.

    Kinds are applied in ``KINDS`` order; each opportunity is taken with
    probability ``rate``.  ``rng=None`` means ``random.Random(0)``, so the
    result is reproducible by default.  The input is NFC-normalised first;
    the output may deliberately not be NFC (nukta, zw).
    """
    return rewrite_traced(text, kinds, rng, rate)[0]


# --- CLI --------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Rewrite the "query" field of JSON Lines records from stdin to stdout."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help=f"comma-separated subset of {','.join(KINDS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, default=1.0)
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bad = set(kinds) - set(KINDS)
    if bad:
        parser.error(f"unknown kinds: {','.join(sorted(bad))}")
    if not 0.0 <= args.rate <= 1.0:
        parser.error("--rate must be in [0, 1]")

    stdin = open(sys.stdin.fileno(), encoding="utf-8", closefd=False)
    stdout = open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)
    per_kind = {k: 0 for k in KINDS if k in kinds}
    total = any_changed = 0
    for line in stdin:
        if not line.strip():
            continue
        record = json.loads(line)
        # Seed per query so a query's variant does not depend on file order.
        rng = random.Random(f"{args.seed}\0{record.get('qid', total)}")
        record["query"], changed = rewrite_traced(record["query"], kinds, rng, args.rate)
        for kind in changed:
            per_kind[kind] += 1
        any_changed += bool(changed)
        total += 1
        stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    stdout.flush()
    for kind, n in per_kind.items():
        print(f"{kind:>12}: {n}/{total} queries changed", file=sys.stderr)
    print(f"{'any':>12}: {any_changed}/{total} queries changed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
