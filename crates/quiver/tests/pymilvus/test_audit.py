"""The tamper-evident audit log written by the real binary: DDL, DCL, writes and failed
logins are recorded, `quiver audit verify` accepts the log after a clean stop and names the
record a one-byte edit broke, `quiver audit show` filters by kind, no password reaches the
log, reads are recorded only with `[audit] reads = true`, and the audit key is resolved like
the master key (beside the data directory, never inside it, never regenerated over data).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from conftest import (
    ROOT_PASSWORD,
    SECRETS,
    QuiverServer,
    expect_login_refused,
    requires_quiver,
    strong_password,
    uniq,
    user_name,
    wrong_password,
)

pytestmark = requires_quiver

DIM = 8


def quiver(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [os.environ["QUIVER_BIN"], *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def show(data_dir: Path, *kinds: str) -> list:
    args = ["audit", "show", "--data-dir", str(data_dir)]
    for kind in kinds:
        args += ["--kind", kind]
    proc = quiver(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def log_files(data_dir: Path) -> list:
    return sorted((data_dir / "audit").glob("*.jsonl"))


def test_ddl_dcl_writes_and_failed_logins_are_recorded_and_an_edited_record_is_named(tmp_path):
    data_dir = tmp_path / "data"
    key_file = tmp_path / "data.audit-key"
    server = QuiverServer(data_dir, name="audited").start()
    assert any(f"audit key written to {key_file}" in line for line in server.lines), server.logs()
    assert key_file.stat().st_mode & 0o077 == 0, oct(key_file.stat().st_mode)

    client = server.client()
    name = uniq("audited")
    client.create_collection(name, dimension=DIM)
    rows = np.random.default_rng(5).random((25, DIM), dtype=np.float32)
    client.insert(name, [{"id": i, "vector": rows[i].tolist()} for i in range(25)])
    client.delete(name, filter="id < 5")
    client.search(name, [rows[0].tolist()], limit=3)
    user, password = user_name("audited"), strong_password()
    client.create_user(user, password)
    role = uniq("auditor")
    client.create_role(role)
    client.grant_privilege_v2(role, "Search", name, db_name="default")
    wrong = wrong_password()
    expect_login_refused(server, lambda: server.client(user, wrong))
    server.stop_checked()

    proc = quiver("audit", "verify", "--data-dir", str(data_dir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "audit log intact" in proc.stdout, proc.stdout

    writes = [r["event"] for r in show(data_dir, "write")]
    inserts = [e for e in writes if e["action"] == "insert" and e["collection"] == name]
    assert len(inserts) == 1 and inserts[0]["rows"] == 25, writes
    assert inserts[0]["user"] == "root" and inserts[0]["outcome"] == "ok", inserts
    assert inserts[0]["peer"].startswith("127.0.0.1:"), inserts
    deletes = [e for e in writes if e["action"] == "delete"]
    assert len(deletes) == 1 and deletes[0]["filter"]["text"] == "id < 5", writes
    assert deletes[0]["rows"] == 5, deletes

    ddl = [(e["action"], e["collection"]) for e in (r["event"] for r in show(data_dir, "ddl"))]
    assert ("create_collection", name) in ddl, ddl
    dcl = [(e["action"], e["target"], e["detail"]) for e in (r["event"] for r in show(data_dir, "dcl"))]
    assert ("create_user", user, None) in dcl, dcl
    assert ("create_role", role, None) in dcl, dcl
    assert ("grant_privilege", role, f"privilege Search on default.{name}") in dcl, dcl
    auth = [r["event"] for r in show(data_dir, "auth")]
    assert any(e["user"] == user and e["outcome"] == "bad_credentials" for e in auth), auth
    assert any(e["user"] == "root" and e["outcome"] == "ok" and e["method"] == "password" for e in auth), auth
    # Reads are not recorded by default.
    assert show(data_dir, "read") == []
    lifecycle = [r["event"]["action"] for r in show(data_dir, "lifecycle")]
    assert lifecycle[0] == "created" and lifecycle[-1] == "closed", lifecycle

    everything = b"".join(path.read_bytes() for path in (data_dir / "audit").iterdir() if path.is_file())
    for secret in {password, wrong, ROOT_PASSWORD} | SECRETS:
        assert secret.encode() not in everything, "a password reached the audit log"

    # One byte of the insert's record edited (25 rows become 26): verify fails, naming it.
    [log] = log_files(data_dir)
    lines = log.read_bytes().split(b"\n")
    index = next(i for i, line in enumerate(lines) if b'"action":"insert"' in line)
    seq = json.loads(lines[index])["seq"]
    assert b'"rows":25' in lines[index]
    lines[index] = lines[index].replace(b'"rows":25', b'"rows":26')
    log.write_bytes(b"\n".join(lines))
    proc = quiver("audit", "verify", "--data-dir", str(data_dir))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "NOT intact" in out and log.name in out, out
    assert f"line {index + 1}" in out and f"seq {seq}" in out and "MAC mismatch" in out, out


def test_reads_are_recorded_when_the_config_says_so(tmp_path):
    data_dir = tmp_path / "data"
    config = tmp_path / "quiver.toml"
    config.write_text("[audit]\nreads = true\n")
    server = QuiverServer(data_dir, name="reads-audited", config=config).start()
    client = server.client()
    name = uniq("read_audit")
    client.create_collection(name, dimension=DIM)
    client.insert(name, [{"id": i, "vector": [float(i)] * DIM} for i in range(10)])
    client.query(name, filter="id >= 3", limit=4)
    client.search(name, [[0.5] * DIM], limit=2)
    server.stop_checked()

    proc = quiver("audit", "verify", "--data-dir", str(data_dir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reads = [r["event"] for r in show(data_dir, "read") if r["event"]["collection"] == name]
    actions = sorted(e["action"] for e in reads)
    assert actions == ["query", "search"], reads
    query = next(e for e in reads if e["action"] == "query")
    assert query["filter"]["text"] == "id >= 3" and query["outcome"] == "ok", query


def test_the_audit_key_is_never_inside_the_data_directory_nor_regenerated_over_data(tmp_path):
    data_dir = tmp_path / "data"
    key_file = tmp_path / "data.audit-key"
    server = QuiverServer(data_dir, name="audit-key").start()
    server.stop_checked()
    env = dict(os.environ, QUIVER_ROOT_PASSWORD=ROOT_PASSWORD, NO_COLOR="1")

    def refusal(*args: str) -> str:
        cmd = [os.environ["QUIVER_BIN"], "serve", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out
        assert "listening" not in proc.stdout, out
        return out

    moved = tmp_path / "elsewhere.audit-key"
    shutil.move(key_file, moved)
    out = refusal()
    assert "does not exist" in out and str(key_file) in out, out
    assert not key_file.exists(), "no audit key was generated over existing data"
    inside = data_dir / "audit.key"
    shutil.copy(moved, inside)
    os.chmod(inside, 0o600)
    out = refusal("--audit-key-file", str(inside))
    assert "inside the data directory" in out, out
    inside.unlink()

    again = QuiverServer(data_dir, name="audit-key-moved", extra_args=["--audit-key-file", str(moved)]).start()
    again.client().list_collections()
    again.stop_checked()
    proc = quiver("audit", "verify", "--data-dir", str(data_dir), "--audit-key-file", str(moved))
    assert proc.returncode == 0, proc.stdout + proc.stderr
