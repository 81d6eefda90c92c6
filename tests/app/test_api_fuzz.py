"""The API under a fuzzer: schemathesis generates requests for every operation of ``/api/v1/openapi.json`` — data
that fits the document (positive) and data that does not (negative) — and sends them with an organizer's and an HR
user's token. No answer may be a server error (5xx), and every answer must match the document's response schema.

Bounded to a few minutes on a 2-core machine: ``FUZZ_EXAMPLES`` examples per operation and mode (default below;
``JIANGXIN_FUZZ_EXAMPLES`` overrides), no shrinking, ``FUZZ_DEADLINE`` per request. The examples are derandomized, so
every run sends the same requests and a failure reproduces; ``JIANGXIN_FUZZ_SEED=<n>`` explores other ones.
Each run prints its figures (``FUZZ <role>: <n> requests, <n> 5xx, <n> schema violations; slowest answer <n> ms``;
``pytest -s`` shows them).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.competitions.marks_fixtures import build_world

FUZZ_EXAMPLES = int(os.environ.get("JIANGXIN_FUZZ_EXAMPLES") or 6)
FUZZ_DEADLINE = timedelta(seconds=5)
SEED = os.environ.get("JIANGXIN_FUZZ_SEED")


def _settings() -> hypothesis.settings:
    return hypothesis.settings(max_examples=FUZZ_EXAMPLES, deadline=FUZZ_DEADLINE, derandomize=SEED is None,
                               database=None, phases=[Phase.explicit, Phase.generate], print_blob=False,
                               suppress_health_check=list(HealthCheck))


def _sender(operation, mode: GenerationMode, token: str, counts: Counter, failures: list[str]):
    """A hypothesis test that sends the operation's generated requests and records what the checks found."""
    label = f"{operation.label} ({mode.value})"

    @_settings()
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def send(case):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        response = case.call()
        counts["slowest ms"] = max(counts["slowest ms"], round((time.perf_counter() - started) * 1000))
        counts["requests"] += 1
        counts["5xx"] += response.status_code >= 500
        try:
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        except FailureGroup as exc:
            for failure in exc.exceptions:
                counts["schema violations"] += failure.title != "Server error"
                failures.append(f"{label} → {response.status_code}: {failure.title}: {failure.message[:300]}\n"
                                f"  {case.as_curl_command()[:500]}")

    return hypothesis.seed(int(SEED))(send) if SEED is not None else send


def fuzz(app, token: str) -> tuple[Counter, list[str]]:
    """Every operation, positive and negative data: the counts and a line per failed check."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    counts: Counter = Counter()
    failures: list[str] = []
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _sender(result.ok(), mode, token, counts, failures)()
    return counts, failures


@pytest.mark.parametrize("role", ["organizer", "hr"])
def test_the_fuzzer_finds_no_server_error_and_no_schema_violation(app, client, create_enterprise, create_worker,
                                                                   create_user, role):
    world = build_world(client, create_enterprise, create_worker, create_user)
    counts, failures = fuzz(app, world.tokens[role])
    print(f"\nFUZZ {role}: {counts['requests']} requests, {counts['5xx']} 5xx, "
          f"{counts['schema violations']} schema violations; slowest answer {counts['slowest ms']} ms")
    assert counts["requests"] > 500
    assert failures == []
