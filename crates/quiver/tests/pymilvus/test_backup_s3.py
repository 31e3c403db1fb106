"""Backups in S3 (`s3://bucket/prefix`) through the real binary, against moto's S3 server on
loopback (`python -m moto.server`). Moto's pins conflict with the suite's (botocore wants
python-dateutil < 3), so it gets a small venv of its own beside the suite's, made here from
`moto-requirements.txt` (rebuilt when that file changes); the tests read and tamper with the
bucket through boto3 in that venv (`S3TOOL`), so the suite's venv needs no AWS client.

`quiver backup create|verify|restore` read the standard AWS environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP for moto's plain http
endpoint). Proved here: a round trip gives identical query and search results; a changed,
deleted or added object, a changed manifest and a forged signature are each detected and
named, and restore then writes nothing; a validly signed manifest with an unsafe path is
refused; a prefix that holds objects is refused and left as it was; a plain http endpoint is
refused unless AWS_ALLOW_HTTP allows it; no output ever holds the secret key.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest
import requests
from pymilvus import MilvusClient

from conftest import QuiverServer, hit_ids, requires_quiver, uniq, vectors

pytestmark = requires_quiver

BUCKET = "quiver-backups"
DIM = 8
ROWS = 400
ACCESS_KEY = "quiver-test-access"
SECRET_KEY = "quiver-test-secret-6b1d2e"
REGION = "us-east-1"
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MOTO_REQUIREMENTS = Path(__file__).with_name("moto-requirements.txt")


def moto_python() -> Path:
    """The python of moto's venv (beside the suite's, or at QUIVER_MOTO_VENV), made or remade
    from its requirements."""
    venv = Path(os.environ.get("QUIVER_MOTO_VENV") or Path(sys.prefix).parent / "moto-venv")
    python = venv / "bin" / "python"
    stamp = venv / "requirements.stamp"
    want = hashlib.sha256(MOTO_REQUIREMENTS.read_bytes()).hexdigest()
    with open(venv.parent / "moto-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and stamp.exists() and stamp.read_text() == want:
            return python
        shutil.rmtree(venv, ignore_errors=True)
        base = getattr(sys, "_base_executable", None) or "python3"
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q"]
        subprocess.run([*pip, "-r", str(MOTO_REQUIREMENTS)], check=True)
        stamp.write_text(want)
    return python


# Runs in moto's venv: `S3TOOL op endpoint bucket key` with op get (to stdout), put (stdin),
# delete, list (prefix `key`: "size key" lines) or mb (make the bucket).
S3TOOL = r"""
import sys, boto3
op, endpoint, bucket, key = sys.argv[1:5]
c = boto3.client("s3", endpoint_url=endpoint, region_name=sys.argv[5],
                 aws_access_key_id=sys.argv[6], aws_secret_access_key=sys.argv[7])
if op == "get":
    sys.stdout.buffer.write(c.get_object(Bucket=bucket, Key=key)["Body"].read())
elif op == "put":
    c.put_object(Bucket=bucket, Key=key, Body=sys.stdin.buffer.read())
elif op == "delete":
    c.delete_object(Bucket=bucket, Key=key)
elif op == "list":
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        for o in page.get("Contents", []):
            print(o["Size"], o["Key"])
elif op == "mb":
    c.create_bucket(Bucket=bucket)
"""


class S3:
    """moto's S3 server on loopback, with a bucket, and the environment that points at it."""

    def __init__(self, endpoint: str, python: Path):
        self.endpoint = endpoint
        self.python = python
        self.env: Dict[str, str] = {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ALLOW_HTTP": "true",
        }

    def tool(self, op: str, key: str = "", body: bytes = b"") -> bytes:
        args = [str(self.python), "-c", S3TOOL, op, self.endpoint, BUCKET, key, REGION, ACCESS_KEY, SECRET_KEY]
        out = subprocess.run(args, input=body, capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr.decode(errors="replace")
        return out.stdout

    def listing(self, prefix: str) -> List[Tuple[str, int]]:
        """(key relative to `prefix`, size) of every object under `prefix/`."""
        lines = self.tool("list", prefix + "/").decode().splitlines()
        return sorted((key[len(prefix) + 1 :], int(size)) for size, key in (l.split(" ", 1) for l in lines))

    def keys(self, prefix: str) -> List[str]:
        return [key for key, _ in self.listing(prefix)]

    def get(self, key: str) -> bytes:
        return self.tool("get", key)

    def put(self, key: str, body: bytes):
        self.tool("put", key, body)

    def delete(self, key: str):
        self.tool("delete", key)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    python = moto_python()
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    proc = subprocess.Popen(
        [str(python), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        assert proc.poll() is None, f"moto's server exited with code {proc.returncode}"
        try:
            requests.get(endpoint, timeout=1, verify=False)
            break
        except requests.RequestException:
            assert time.monotonic() < deadline, f"moto's server not up after {START_TIMEOUT_S} s"
            time.sleep(0.2)
    store = S3(endpoint, python)
    store.tool("mb")
    yield store
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


class Source:
    """A stopped server's data directory with one collection, and what it answers."""

    def __init__(self, data_dir: Path, name: str, data: np.ndarray, before):
        self.data_dir = data_dir
        self.key_file = data_dir.with_name(data_dir.name + ".master-key")
        self.name = name
        self.data = data
        self.before = before


def snapshot(client: MilvusClient, name: str, data: np.ndarray):
    rows = client.query(name, filter="id >= 0", output_fields=["n"], limit=16384)
    found = client.search(name, data=[data[3].tolist(), data[17].tolist(), data[301].tolist()], limit=5)
    return sorted((r["id"], r["n"]) for r in rows), [hit_ids(hits) for hits in found]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("s3source")
    srv = QuiverServer(data_dir, name="s3source").start()
    client = srv.client()
    name = uniq("s3bk")
    client.create_collection(name, dimension=DIM, metric_type="L2")
    data = vectors(ROWS, DIM, seed=11)
    client.insert(name, [{"id": i, "vector": data[i].tolist(), "n": i} for i in range(300)])
    client.flush(name)
    # Some rows only in the log (not yet sealed into a segment).
    client.insert(name, [{"id": i, "vector": data[i].tolist(), "n": i} for i in range(300, ROWS)])
    before = snapshot(client, name, data)
    srv.stop_checked()
    return Source(data_dir, name, data, before)


def quiver(s3: S3, *args: str, env: Dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.update(s3.env if env is None else env)
    out = subprocess.run(
        [os.environ["QUIVER_BIN"], *args],
        env=full,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert SECRET_KEY not in out.stdout + out.stderr, "the secret key was printed"
    return out


def create(s3: S3, source: Source, prefix: str) -> str:
    url = f"s3://{BUCKET}/{prefix}"
    out = quiver(s3, "backup", "create", "--data-dir", str(source.data_dir), "--to", url)
    assert out.returncode == 0, out.stderr
    return url


def verify(s3: S3, source: Source, url: str) -> subprocess.CompletedProcess:
    return quiver(s3, "backup", "verify", url, "--master-key-file", str(source.key_file))


def restore(s3: S3, source: Source, url: str, new_dir: Path) -> subprocess.CompletedProcess:
    return quiver(
        s3, "backup", "restore", url, "--data-dir", str(new_dir), "--master-key-file", str(source.key_file)
    )


def signing_key(key_file: Path) -> bytes:
    """The manifest signing key, derived as `MasterKey::derive_key` does (HKDF-SHA256, salt
    `quiver/master-key/v1`, info `derived/` + the label, 32 bytes: one HMAC block)."""
    master = bytes.fromhex(key_file.read_text().strip().removeprefix("qmk1_"))
    prk = hmac.new(b"quiver/master-key/v1", master, hashlib.sha256).digest()
    info = b"derived/quiver/backup-manifest/v1"
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def sign(key: bytes, body: bytes) -> bytes:
    return (hmac.new(key, body, hashlib.sha256).hexdigest() + "\n").encode()


def assert_refused(s3: S3, source: Source, url: str, tmp_path: Path, *named: str):
    """verify exits non-zero naming each of `named`; restore refuses and leaves no directory."""
    out = verify(s3, source, url)
    assert out.returncode != 0, out.stdout
    assert "NOT intact" in out.stderr, out.stderr
    for text in named:
        assert text in out.stderr, f"{text!r} not named in: {out.stderr}"
    target = tmp_path / "restored"
    again = restore(s3, source, url, target)
    assert again.returncode != 0, again.stdout
    assert not target.exists(), "a refused restore left its target"


def test_an_s3_backup_round_trips_with_identical_query_and_search_results(s3, source, tmp_path):
    prefix = uniq("roundtrip")
    url = create(s3, source, prefix)
    keys = s3.keys(prefix)
    assert "manifest.json" in keys and "manifest.sig" in keys
    manifest = json.loads(s3.get(f"{prefix}/manifest.json"))
    assert sorted(f"data/{f['path']}" for f in manifest["files"]) == sorted(
        k for k in keys if k.startswith("data/")
    )
    assert not any(k.endswith("master-key") or k == "data/LOCK" for k in keys), keys

    out = verify(s3, source, url)
    assert out.returncode == 0, out.stderr
    assert f"backup {url} intact" in out.stdout, out.stdout

    new_dir = tmp_path / "restored"
    out = restore(s3, source, url, new_dir)
    assert out.returncode == 0, out.stderr
    assert f"restored {url} into {new_dir}" in out.stdout, out.stdout
    srv = QuiverServer(new_dir, name="s3restored", extra_args=["--master-key-file", str(source.key_file)]).start()
    try:
        client = srv.client()
        client.load_collection(source.name)
        assert snapshot(client, source.name, source.data) == source.before
    finally:
        srv.stop_checked()


def a_data_key(s3: S3, prefix: str) -> str:
    """The largest data object of the backup (a segment or log file)."""
    return max((size, key) for key, size in s3.listing(prefix) if key.startswith("data/"))[1]


def flip_a_byte(s3: S3, prefix: str) -> str:
    rel = a_data_key(s3, prefix)
    body = bytearray(s3.get(f"{prefix}/{rel}"))
    body[len(body) // 2] ^= 1
    s3.put(f"{prefix}/{rel}", bytes(body))
    return rel


def delete_one(s3: S3, prefix: str) -> str:
    rel = a_data_key(s3, prefix)
    s3.delete(f"{prefix}/{rel}")
    return rel


def add_one(s3: S3, prefix: str) -> str:
    rel = "data/collections/extra.bin"
    s3.put(f"{prefix}/{rel}", b"not in the manifest")
    return rel


def change_the_manifest(s3: S3, prefix: str) -> str:
    body = s3.get(f"{prefix}/manifest.json")
    s3.put(f"{prefix}/manifest.json", body.replace(b'"tool_version": "', b'"tool_version": "x', 1))
    return "signature does not verify"


def forge_the_signature(s3: S3, prefix: str) -> str:
    body = s3.get(f"{prefix}/manifest.json")
    s3.put(f"{prefix}/manifest.sig", sign(os.urandom(32), body))
    return "signature does not verify"


@pytest.mark.parametrize(
    "tamper", [flip_a_byte, delete_one, add_one, change_the_manifest, forge_the_signature], ids=lambda f: f.__name__
)
def test_every_tamper_of_an_s3_backup_is_detected_and_named(s3, source, tmp_path, tamper):
    prefix = uniq("tamper")
    url = create(s3, source, prefix)
    named = tamper(s3, prefix)
    assert_refused(s3, source, url, tmp_path, named)


@pytest.mark.parametrize("bad", ["../escape", "/tmp/escape", "collections/../../escape"])
def test_a_signed_manifest_with_an_unsafe_path_is_refused(s3, source, tmp_path, bad):
    prefix = uniq("malicious")
    url = create(s3, source, prefix)
    body = s3.get(f"{prefix}/manifest.json")
    key = signing_key(source.key_file)
    # The derivation is Quiver's: re-signing the real manifest gives the real signature.
    assert sign(key, body) == s3.get(f"{prefix}/manifest.sig")
    manifest = json.loads(body)
    payload = b"escaped"
    manifest["files"].append({"path": bad, "size": len(payload), "blake3": "0" * 64})
    manifest["total_files"] += 1
    manifest["total_bytes"] += len(payload)
    forged = json.dumps(manifest, indent=2).encode()
    s3.put(f"{prefix}/manifest.json", forged)
    s3.put(f"{prefix}/manifest.sig", sign(key, forged))
    assert_refused(s3, source, url, tmp_path, "unsafe path", bad)
    assert not (tmp_path / "escape").exists()


def test_a_prefix_that_holds_objects_is_refused_and_left_as_it_was(s3, source):
    prefix = uniq("occupied")
    s3.put(f"{prefix}/someone-elses.txt", b"keep me")
    out = quiver(s3, "backup", "create", "--data-dir", str(source.data_dir), "--to", f"s3://{BUCKET}/{prefix}")
    assert out.returncode != 0, out.stdout
    assert "already holds objects" in out.stderr, out.stderr
    assert s3.keys(prefix) == ["someone-elses.txt"]
    assert s3.get(f"{prefix}/someone-elses.txt") == b"keep me"


def test_a_plain_http_endpoint_is_refused_unless_allowed(s3, source):
    prefix = uniq("plainhttp")
    env = {k: v for k, v in s3.env.items() if k != "AWS_ALLOW_HTTP"}
    full_env = {**env, "AWS_ALLOW_HTTP": "false"}
    out = quiver(
        s3, "backup", "create", "--data-dir", str(source.data_dir), "--to", f"s3://{BUCKET}/{prefix}", env=full_env
    )
    assert out.returncode != 0, out.stdout
    assert "http" in out.stderr.lower(), out.stderr
    assert s3.keys(prefix) == []
