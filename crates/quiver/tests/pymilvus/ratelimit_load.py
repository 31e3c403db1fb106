"""Load test of the rate limiter on loopback: one user floods REST searches far over its
read limit while another searches at a steady rate; the flooder must get HTTP 429 (Milvus
code 8) and the steady user nothing but answers, with its p99 latency compared to the same
measurement without the flood.

Run standalone for the figures (they go to stdout as JSON):

    QUIVER_BIN=target/release/quiver target/tmp/pymilvus-venv/bin/python \\
        crates/quiver/tests/pymilvus/ratelimit_load.py --seconds 20

`test_ratelimit_load.py` runs a short version under pytest and asserts the behaviour (who
gets 429), never the timing: this machine is shared and noisy.

The clients are separate processes so that the flood does not share an interpreter (and its
lock) with the measured user; they do share the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).parent))
from conftest import QuiverServer, strong_password, uniq  # noqa: E402

DIM = 32
ROWS = 2000
READ_PER_SECOND = 100


def _search(session: requests.Session, url: str, auth: str, ca: str, body: dict) -> tuple[int, int]:
    # `verify` per request: a session's own `verify` loses to REQUESTS_CA_BUNDLE.
    response = session.post(url, json=body, headers={"Authorization": auth}, verify=ca, timeout=30)
    return response.status_code, response.json().get("code", -1)


def steady(url: str, auth: str, ca: str, body: dict, rate: float, seconds: float, out) -> None:
    """Searches at `rate` per second for `seconds`; reports latencies and outcomes."""
    session = requests.Session()
    _search(session, url, auth, ca, body)  # connect (TLS handshake) outside the measurement
    latencies, outcomes = [], Counter()
    start = time.monotonic()
    due = start
    while time.monotonic() - start < seconds:
        t0 = time.perf_counter()
        status, code = _search(session, url, auth, ca, body)
        latencies.append(time.perf_counter() - t0)
        outcomes[f"{status}/{code}"] += 1
        due += 1.0 / rate
        time.sleep(max(0.0, due - time.monotonic()))
    out.put({"latencies": latencies, "outcomes": dict(outcomes)})


def flood(url: str, auth: str, ca: str, body: dict, ready, stop, out) -> None:
    """Searches back to back until `stop` is set; reports outcomes."""
    session = requests.Session()
    outcomes = Counter()
    status, code = _search(session, url, auth, ca, body)
    outcomes[f"{status}/{code}"] += 1
    ready.put(True)
    while not stop.is_set():
        status, code = _search(session, url, auth, ca, body)
        outcomes[f"{status}/{code}"] += 1
    out.put({"outcomes": dict(outcomes)})


def _result(queue, process, timeout: float = 120.0):
    """The next result on `queue`; fails instead of waiting forever if `process` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return queue.get(timeout=0.5)
        except Exception:  # noqa: BLE001 - queue.Empty
            if not process.is_alive() and queue.empty():
                raise RuntimeError(f"load process {process.name} exited with {process.exitcode}")
    raise TimeoutError(f"no result from {process.name} in {timeout} s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(latencies: list[float]) -> dict:
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
    }


def prepare(server: QuiverServer) -> tuple[str, dict, dict]:
    """A collection and two users allowed to search it; returns (url, auths, body)."""
    root = server.client()
    name = uniq("load")
    root.create_collection(name, dimension=DIM, metric_type="L2")
    data = np.random.default_rng(1).random((ROWS, DIM), dtype=np.float32)
    root.insert(name, [{"id": i, "vector": data[i].tolist()} for i in range(ROWS)])
    role = uniq("searcher")
    root.create_role(role)
    root.grant_privilege(role, "Collection", "Search", name)
    auths = {}
    for who in ("flooder", "steady"):
        user, password = uniq(who), strong_password()
        root.create_user(user, password)
        root.grant_role(user, role)
        auths[who] = f"Bearer {user}:{password}"
    url = f"https://localhost:{server.port}/v2/vectordb/entities/search"
    body = {"collectionName": name, "data": [data[0].tolist()], "limit": 10}
    return url, auths, body


def run(server: QuiverServer, seconds: float, steady_rate: float, flooders: int) -> dict:
    url, auths, body = prepare(server)
    ca = str(server.ca_pem)
    # Spawned, not forked: the parent holds gRPC channels, which do not survive a fork.
    ctx = mp.get_context("spawn")

    out = ctx.Queue()
    unloaded_proc = ctx.Process(target=steady, args=(url, auths["steady"], ca, body, steady_rate, seconds, out))
    unloaded_proc.start()
    unloaded = _result(out, unloaded_proc)
    unloaded_proc.join()

    stop = ctx.Event()
    ready = ctx.Queue()
    flood_out = ctx.Queue()
    floods = [
        ctx.Process(target=flood, args=(url, auths["flooder"], ca, body, ready, stop, flood_out))
        for _ in range(flooders)
    ]
    flood_started = time.monotonic()
    for p in floods:
        p.start()
    for p in floods:
        _result(ready, p)
    time.sleep(1.0)  # the flooder has spent its burst: from here on it is over its limit
    loaded_proc = ctx.Process(target=steady, args=(url, auths["steady"], ca, body, steady_rate, seconds, out))
    loaded_proc.start()
    loaded = _result(out, loaded_proc)
    loaded_proc.join()
    stop.set()
    flood_seconds = time.monotonic() - flood_started
    flooded = Counter()
    for p in floods:
        flooded.update(_result(flood_out, p)["outcomes"])
    for p in floods:
        p.join()

    report = {
        "read_per_second_per_user": READ_PER_SECOND,
        "steady_rate_per_second": steady_rate,
        "flood_processes": flooders,
        "seconds": seconds,
        "steady_unloaded": {**summary(unloaded["latencies"]), "outcomes": unloaded["outcomes"]},
        "steady_loaded": {**summary(loaded["latencies"]), "outcomes": loaded["outcomes"]},
        "flooder_outcomes": dict(flooded),
        "flood_seconds": round(flood_seconds, 3),
    }
    report["p99_ratio_loaded_over_unloaded"] = round(
        report["steady_loaded"]["p99_ms"] / report["steady_unloaded"]["p99_ms"], 3
    )
    return report


def start(data_dir: Path) -> QuiverServer:
    config = data_dir.parent / "load.toml"
    config.write_text(f"[limits]\nread_per_second = {READ_PER_SECOND}\nread_burst = {READ_PER_SECOND}\n")
    return QuiverServer(data_dir, name="load", config=config).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--steady-rate", type=float, default=20.0)
    parser.add_argument("--flooders", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start(Path(tmp) / "data")
        try:
            report = run(server, args.seconds, args.steady_rate, args.flooders)
        finally:
            server.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
