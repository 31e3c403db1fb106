"""Encryption at rest through the real binary: on by default, the master key generated beside
(never inside) the data directory on a first start, no plaintext of rows, vectors or the
security store on disk, and a clear refusal with a wrong or missing key.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from conftest import ROOT_PASSWORD, QuiverServer, hit_ids, requires_quiver, strong_password, uniq

pytestmark = requires_quiver

MARKER = "quiver-plaintext-marker-5d1f0c"
DIM = 16


def every_file(directory: Path):
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


def refusal(data_dir: Path, *args: str, env_extra=None) -> str:
    """Runs `serve` expecting it to refuse to start; returns its output."""
    env = dict(os.environ, QUIVER_ROOT_PASSWORD=ROOT_PASSWORD, NO_COLOR="1", **(env_extra or {}))
    cmd = [os.environ["QUIVER_BIN"], "serve", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "listening" not in proc.stdout, out
    return out


def test_data_at_rest_is_encrypted_and_a_wrong_or_missing_key_is_refused(tmp_path):
    data_dir = tmp_path / "data"
    key_file = tmp_path / "data.master-key"
    server = QuiverServer(data_dir, name="encrypted").start()
    assert any(f"master key written to {key_file}" in line for line in server.lines), server.logs()
    assert key_file.stat().st_mode & 0o077 == 0, oct(key_file.stat().st_mode)

    client = server.client()
    name = uniq("secret")
    user, password = uniq("someone"), strong_password()
    client.create_user(user, password)
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("text", DataType.VARCHAR, max_length=128)
    client.create_collection(name, schema=schema)
    vectors = np.random.default_rng(11).random((200, DIM), dtype=np.float32)
    client.insert(name, [{"id": i, "vector": vectors[i].tolist(), "text": f"{MARKER}-{i}"} for i in range(200)])
    client.flush(name)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    client.create_index(name, index)
    client.load_collection(name)
    # Some rows stay in the log only (written after the flush).
    client.insert(name, [{"id": 1000 + i, "vector": vectors[i].tolist(), "text": f"{MARKER}-late-{i}"} for i in range(10)])
    before = client.query(name, filter="id >= 0", output_fields=["text"], limit=300)
    server.stop_checked()

    vector_bytes = vectors[7].tobytes()
    for path, content in every_file(data_dir):
        if path.parent.name == "tls" or path.name == "initial-root-password":
            continue  # the server's certificate and key, not data
        if path.parent == data_dir / "audit":
            continue  # the audit log: signed plaintext by design (it names users, never secrets)
        assert MARKER.encode() not in content, f"{path} holds row text in plaintext"
        assert vector_bytes not in content, f"{path} holds vector bytes in plaintext"
        assert user.encode() not in content, f"{path} holds a user name in plaintext"
        assert b"$argon2id$" not in content, f"{path} holds a password hash in plaintext"
    assert key_file.read_bytes() not in b"".join(c for _, c in every_file(data_dir)), "the key is not inside"

    # A wrong key: refused, naming both key ids, before anything is served.
    other = "qmk1_" + "ab" * 32
    out = refusal(data_dir, env_extra={"QUIVER_MASTER_KEY": other})
    ids = set(re.findall(r"\b[0-9a-f]{16}\b", out))
    assert len(ids) >= 2 and "master key" in out.lower(), out
    # A missing key file: refused, never a new key over existing data.
    moved = tmp_path / "elsewhere.key"
    shutil.move(key_file, moved)
    out = refusal(data_dir)
    assert "does not exist" in out, out
    assert not key_file.exists(), "no key was generated over existing data"
    # A key file inside the data directory: refused.
    inside = data_dir / "master.key"
    shutil.copy(moved, inside)
    os.chmod(inside, 0o600)
    out = refusal(data_dir, "--master-key-file", str(inside))
    assert "inside the data directory" in out, out
    inside.unlink()

    # The right key, from elsewhere: the same rows.
    again = QuiverServer(data_dir, name="reopened", extra_args=["--master-key-file", str(moved)]).start()
    after = again.client().query(name, filter="id >= 0", output_fields=["text"], limit=300)
    assert sorted(r["text"] for r in after) == sorted(r["text"] for r in before)
    assert len(after) == 210
    again.stop_checked()


def test_keys_rotate_rewraps_without_rewriting_data(tmp_path):
    data_dir = tmp_path / "data"
    key_file = tmp_path / "data.master-key"
    server = QuiverServer(data_dir, name="rotate").start()
    client = server.client()
    name = uniq("rot")
    client.create_collection(name, dimension=DIM)
    vectors = np.random.default_rng(3).random((50, DIM), dtype=np.float32)
    client.insert(name, [{"id": i, "vector": vectors[i].tolist()} for i in range(50)])
    client.flush(name)
    hits = client.search(name, [vectors[0].tolist()], limit=5)
    server.stop_checked()

    data_files = {p: c for p, c in every_file(data_dir) if "segments" in p.parts}
    old_key = key_file.read_text()
    proc = subprocess.run(
        [os.environ["QUIVER_BIN"], "keys", "rotate", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rotated the master key" in proc.stdout
    assert key_file.read_text() != old_key
    for path, content in data_files.items():
        assert path.read_bytes() == content, f"{path} was rewritten"

    out = refusal(data_dir, env_extra={"QUIVER_MASTER_KEY": old_key.strip()})
    assert "master key" in out.lower(), out
    again = QuiverServer(data_dir, name="rotated").start()
    assert hit_ids(again.client().search(name, [vectors[0].tolist()], limit=5)[0]) == hit_ids(hits[0])
    again.stop_checked()
