"""The rate limiter under load, through the real binary: a user flooding REST searches far
over its read limit gets HTTP 429 with Milvus code 8, while another user searching at a
steady rate from the same address is never refused. Latency figures are printed, not
asserted (ratelimit_load.py run standalone reports them for the issue).
"""

from __future__ import annotations

import json

import pytest

from conftest import requires_quiver
from ratelimit_load import READ_PER_SECOND, run, start

pytestmark = requires_quiver


def test_a_flooding_user_gets_429_while_a_steady_user_is_served(tmp_path):
    server = start(tmp_path / "data")
    try:
        report = run(server, seconds=4.0, steady_rate=20.0, flooders=2)
    finally:
        server.stop_checked()
    print(json.dumps(report, indent=2))
    flooded = report["flooder_outcomes"]
    assert flooded.get("429/8", 0) > 0, flooded
    assert flooded.get("200/0", 0) > 0, flooded
    # The flooder got at most its burst plus its rate over the time it flooded.
    allowed = READ_PER_SECOND * report["flood_seconds"] + READ_PER_SECOND
    assert flooded.get("200/0", 0) <= allowed * 1.05, (flooded, report["flood_seconds"])
    assert set(flooded) <= {"200/0", "429/8"}, flooded
    for phase in ("steady_unloaded", "steady_loaded"):
        outcomes = report[phase]["outcomes"]
        assert set(outcomes) == {"200/0"}, (phase, outcomes)
