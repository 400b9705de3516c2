#!/usr/bin/env python3
"""Fuzz the HTTP API for a while: schemathesis requests generated from /openapi.json.

    python bench/fuzz.py --minutes 3            # the run docs/operations.md reports
    python bench/fuzz.py --examples 200         # a quick one (per operation and mode)

Builds an index of the sample corpus plus documents full of markup (``<script>``,
``onerror=``, ``javascript:`` URLs, entities) in a temporary directory, then
round after round, for every endpoint of ``/openapi.json``, generates requests
with valid values (positive) and with invalid ones (negative) and checks every
answer: never a 5xx, status code, content type and body as the spec declares,
invalid values refused. Each round uses a new random seed. Prints the inputs
tried per endpoint and every failure (as a ``curl``-able request); exit status
1 when anything failed. A failure found here becomes a regression test in the
tests of the module at fault (none so far: see docs/operations.md, Reliability).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import hypothesis  # noqa: E402
import schemathesis  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from search import create_app, ingest, read_inputs  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]



def build_index(directory: str) -> None:
    """The sample corpus and ``sample/hostile.jsonl`` (markup, ``javascript:`` URLs, entities, formulas)."""
    inputs = [str(ROOT / "sample" / "news.jsonl"), str(ROOT / "sample" / "hostile.jsonl")]
    report = ingest(read_inputs(inputs), str(Path(directory, "index")))
    assert report.rejected == 0, report.rejects


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="keep generating rounds this long (default 3)")
    parser.add_argument("--examples", type=int, default=100, help="requests per endpoint and mode in each round (default 100)")
    parser.add_argument("--seed", type=int, default=None, help="first round's seed (default: random)")
    args = parser.parse_args()

    tried: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        build_index(tmp)
        app = create_app({"index": str(Path(tmp, "index")), "refresh_seconds": 0})
        app.logger.disabled = True
        import logging

        logging.getLogger("search.access").disabled = True
        schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        seed = args.seed if args.seed is not None else random.randrange(2**32)
        started = time.monotonic()
        deadline = started + args.minutes * 60
        rounds = 0
        while True:
            for operation in operations:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    run_settings = settings(
                        max_examples=args.examples, deadline=None, database=None, derandomize=False,
                        phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                    )

                    @run_settings
                    @hypothesis.seed(seed)
                    @given(case=operation.as_strategy(generation_mode=mode))
                    def fuzz(case) -> None:
                        tried[operation.label] += 1
                        try:
                            # the WSGI transport does not decode compressed bodies
                            response = case.call_and_validate(headers={"Accept-Encoding": "identity"}, checks=CHECKS)
                            statuses[response.status_code] += 1
                        except Exception as exc:  # collect every failure, keep fuzzing
                            failures.append(f"{case.as_curl_command()}\n    {type(exc).__name__}: {str(exc)[:500]}")

                    try:
                        fuzz()
                    except hypothesis.errors.Unsatisfiable:
                        pass  # nothing invalid to send (an endpoint without parameters)
                    seed = (seed * 1103515245 + 12345) % 2**32
            rounds += 1
            if time.monotonic() >= deadline:
                break
        seconds = time.monotonic() - started
    total = sum(tried.values())
    print(f"fuzzed {total:,} requests in {seconds:.0f} s ({rounds} rounds, {total / seconds:.0f}/s)")
    for label, count in sorted(tried.items()):
        print(f"  {label:<24} {count:>7,}")
    print("statuses: " + ", ".join(f"{code}: {count:,}" for code, count in sorted(statuses.items())))
    print(f"failures: {len(failures)}")
    for failure in failures[:20]:
        print("  " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
