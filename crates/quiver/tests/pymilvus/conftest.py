"""End-to-end tests of `quiver serve`, driven through pymilvus 3.0.2 exactly as a Milvus
application would use it.

How to run
==========
The Rust test `crates/quiver/tests/pymilvus_suite.rs` (part of `cargo test --workspace`)
creates a venv from requirements.txt and runs this directory with pytest, with
QUIVER_BIN set to the freshly built binary. By hand:

    python3 -m venv /tmp/pmvenv && /tmp/pmvenv/bin/pip install -r requirements.txt
    QUIVER_BIN=target/debug/quiver /tmp/pmvenv/bin/python -m pytest -q crates/quiver/tests/pymilvus

To check that the data-path tests expect what Milvus does, run them against milvus-lite
instead of Quiver (security, TLS, RBAC and restart tests are skipped in that mode only):

    QUIVER_TEST_TARGET=milvus-lite /tmp/pmvenv/bin/python -m pytest -q crates/quiver/tests/pymilvus

The server contract these tests hold `quiver serve` to
=======================================================
Start and readiness
  * `$QUIVER_BIN serve --data-dir DIR --listen 127.0.0.1:0 [--config FILE] [--insecure]`,
    with `QUIVER_ROOT_PASSWORD=<pw>` in the environment (the suite uses
    "Quiver-Test-Pw-7f3k9x"). The password must pass the password policy, which also refuses
    a password containing the user name: "Quiver-Test-Root-..." would not do for root.
  * When it accepts connections the server prints exactly one stdout line
    `quiver: listening on 127.0.0.1:PORT (tls)` (`(plaintext)` with --insecure). The
    fixture waits at most 60 s for it and takes PORT from it; stdout and stderr are drained
    for the whole life of the process and shown when a test fails.
  * Without QUIVER_ROOT_PASSWORD on the first start (empty DIR), the server generates the
    root password and writes it to DIR/initial-root-password with mode 0600; the password
    never appears on stdout or stderr (the file's path does). The root password comes from
    the environment or that file only on the first start; later starts keep the stored one.
  * A root password that fails the policy (e.g. "short") in QUIVER_ROOT_PASSWORD makes the
    first start fail with a non-zero exit and no "listening" line.
  * The SIGTERM handler is in place before the "listening" line is printed.
  * SIGTERM: the server stops accepting, finishes in-flight requests and exits with code 0.
    Every fixture that started a server asserts that on teardown, and that no password the
    test used (right or wrong) appears in the server's stdout or stderr.

TLS
  * On first start the server writes DIR/tls/ca.pem, DIR/tls/server.pem and DIR/tls/server.key
    (mode 0600); the server certificate is signed by that CA and has the SANs localhost,
    127.0.0.1 and ::1. A restart reuses them.
  * One-way TLS client: `MilvusClient(uri="https://localhost:PORT", token="root:<pw>",
    server_pem_path=DIR/tls/ca.pem, server_name="localhost")`. pymilvus 3.0.2 only reads
    `ca_pem_path` when `client_pem_path` and `client_key_path` are given too (mutual TLS);
    for one-way TLS the trusted CA must go in `server_pem_path`
    (pymilvus/client/grpc_handler.py, GrpcHandler._create_grpc_channel).
  * Config file (TOML), all keys optional:
        [tls]
        cert = "/path/server.pem"          # default: generated under DIR/tls
        key = "/path/server.key"
        client_ca = "/path/client-ca.pem"  # set: clients must present a certificate it signed
    Mutual-TLS client: `client_pem_path`, `client_key_path`, `ca_pem_path` (the server's CA).
  * `--insecure` is accepted only with a loopback listen address (otherwise the server exits
    non-zero without listening); it serves plaintext gRPC (uri http://127.0.0.1:PORT) with
    authentication still on. Without --insecure a plaintext client cannot connect.

Authentication (every RPC, Connect included)
  * No credentials, a malformed `authorization` header, a wrong password or an unknown user:
    the RPC fails with gRPC UNAUTHENTICATED. pymilvus surfaces it as a raw grpc.RpcError
    from ordinary calls (UNAUTHENTICATED is in its IGNORE_RETRY_CODES, not retried), and
    from the MilvusClient constructor (Connect) as MilvusException(code=2, "Fail connecting
    to server ...") whose __cause__ is that grpc.RpcError; `grpc_code()` below finds it.
  * A new user (root creating it) can connect: Connect needs authentication, no privilege.
  * Password policy: at least 12 characters, not a common password ("password1234"); refused
    with a message that says why and does not echo the password.
  * drop_user and update_password take effect at once: the old credential fails on the next
    RPC, also on an already open client.
  * Failed-login throttling: after 5 wrong passwords for one user, the right password is
    refused too (UNAUTHENTICATED or RESOURCE_EXHAUSTED) for a while. The suite makes about
    ten failed logins from 127.0.0.1 per server and assumes that does not trip a per-address
    limit that would lock out root; the throttling and raw-probe tests get their own server.

RBAC (Milvus's model)
  * Built-in roles admin and public; public holds NO privileges. A new user can do nothing
    but connect, describe themselves (describe_user) and change their own password.
  * Denial is gRPC PERMISSION_DENIED (a raw grpc.RpcError in pymilvus).
  * Grants via grant_privilege (v1, object type Global/Collection/User) and
    grant_privilege_v2 (db_name, collection_name with `*` wildcards); built-in privilege
    groups (CollectionReadOnly, ..., ClusterAdmin) and custom ones. Grants and revocations
    take effect on the next RPC.
  * Per-RPC privileges as in milvus.proto's privilege_ext_obj (see test_rbac.py's table);
    in particular GetLoadingProgress needs GetLoadState (pymilvus's load_collection polls it),
    and GetFlushState needs GetFlushState (flush polls it).
    Collection-level privileges granted on (db "default", collection C) cover C only;
    privileges whose level differs between Milvus's proto (Global) and its privilege groups
    (collection level: DescribeCollection and the alias privileges) are granted on
    (db "default", collection "*"); cluster-level ones on ("*", "*").
  * list_collections and list_databases return only objects the caller holds a grant on
    (a user with no grant sees []).
  * root cannot be dropped.

Milvus status codes the data-path tests check (validated against milvus-lite where it agrees)
  * collection not found: code 100 (has_collection returns False); database not found: 800.
  * Binary, Float16, BFloat16, Int8 and sparse vector fields are refused at create_collection
    with an error naming the type; the collection is not created.
  * Deliberate difference from Milvus: releasing some partitions of a loaded collection is
    refused with an error saying it is not supported (release the collection instead).
  * Collections are addressed by name per database (`dbname` metadata); query results with a
    limit come in primary-key order, as Milvus returns them.
"""

from __future__ import annotations

import atexit
import base64
import logging
import os
import re
import secrets
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable, List, Optional

import grpc
import numpy as np
import pytest
from pymilvus import MilvusClient, MilvusException
from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

TARGET = os.environ.get("QUIVER_TEST_TARGET", "quiver")
LITE = TARGET == "milvus-lite"
ROOT_PASSWORD = "Quiver-Test-Pw-7f3k9x"
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
READY_RE = re.compile(r"^quiver: listening on (?P<addr>\S+) \((?P<mode>tls|plaintext)\)\s*$")
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 10

# pymilvus logs every failed RPC at ERROR with a traceback; the tests provoke many on
# purpose. Their assertions say what went wrong.
logging.getLogger("pymilvus").setLevel(logging.CRITICAL)

requires_quiver = pytest.mark.skipif(
    LITE, reason="security/TLS/RBAC/restart behaviour of Quiver; milvus-lite has none"
)


def lite_differs(reason: str):
    """Skips a data-path test in milvus-lite mode only, where milvus-lite 3.2.2 is known to
    differ from Milvus (the reason says how). In Quiver mode the test always runs."""
    return pytest.mark.skipif(LITE, reason=f"milvus-lite 3.2.2 differs from Milvus: {reason}")


def pytest_configure(config):
    if TARGET not in ("quiver", "milvus-lite"):
        raise pytest.UsageError(f"QUIVER_TEST_TARGET must be quiver or milvus-lite, not {TARGET!r}")
    if not LITE:
        binary = os.environ.get("QUIVER_BIN")
        if not binary or not Path(binary).is_file():
            raise pytest.UsageError(
                f"QUIVER_BIN must name the quiver binary (got {binary!r}); "
                "or set QUIVER_TEST_TARGET=milvus-lite"
            )


def pytest_collection_modifyitems(config, items):
    # A hung RPC must fail its test, not the whole run: 120 s per test (fixture set-up
    # included), unless a test says otherwise. (pymilvus retries UNAVAILABLE, UNKNOWN and
    # INTERNAL for minutes when a call passes no timeout.)
    if config.pluginmanager.hasplugin("timeout"):
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(120))


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------

# Every password a test uses (right or wrong) is recorded so that server teardown can check
# that none of them ever reached a log line.
SECRETS: set = {ROOT_PASSWORD}


def uniq(prefix: str) -> str:
    """A fresh object name: letters, digits and underscores, as Milvus requires."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def user_name(prefix: str) -> str:
    """A fresh user name: starts with a letter, at most 32 characters (Milvus's limit)."""
    return f"{prefix[:20]}_{uuid.uuid4().hex[:8]}"


def strong_password() -> str:
    """A random password that satisfies the policy (>= 12 chars, not a common one)."""
    pw = "Pw-" + secrets.token_urlsafe(15)
    SECRETS.add(pw)
    return pw


def wrong_password() -> str:
    pw = "Wrong-" + secrets.token_urlsafe(12)
    SECRETS.add(pw)
    return pw


def grpc_code(exc: BaseException) -> Optional[grpc.StatusCode]:
    """The gRPC status code behind an exception pymilvus raised, if any (walks the chain)."""
    seen = set()
    e: Optional[BaseException] = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, grpc.RpcError) and callable(getattr(e, "code", None)):
            try:
                return e.code()
            except Exception:  # noqa: BLE001 - not a call error after all
                pass
        e = e.__cause__ or e.__context__
    return None


def error_text(exc: BaseException) -> str:
    """Everything an exception says: its message, and the gRPC details behind it."""
    parts: List[str] = []
    seen = set()
    e: Optional[BaseException] = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        parts.append(f"{type(e).__name__}: {e}")
        if isinstance(e, grpc.RpcError) and callable(getattr(e, "details", None)):
            try:
                parts.append(f"grpc details: {e.details()}")
            except Exception:  # noqa: BLE001
                pass
        e = e.__cause__ or e.__context__
    return " | ".join(parts)


def milvus_code(exc: BaseException) -> Optional[int]:
    return exc.code if isinstance(exc, MilvusException) else None


def expect_grpc_code(fn: Callable, *codes: grpc.StatusCode):
    """Runs fn, which must fail with one of the gRPC status codes; returns the exception."""
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - classified below
        code = grpc_code(exc)
        assert code in codes, f"expected gRPC {[c.name for c in codes]}, got {code}: {error_text(exc)}"
        return exc
    raise AssertionError(f"expected gRPC {[c.name for c in codes]}, but the call succeeded: {result!r}")


def expect_denied(fn: Callable):
    return expect_grpc_code(fn, grpc.StatusCode.PERMISSION_DENIED)


def expect_unauthenticated(fn: Callable):
    return expect_grpc_code(fn, grpc.StatusCode.UNAUTHENTICATED)


def expect_milvus_error(fn: Callable, code: Optional[int] = None) -> MilvusException:
    """Runs fn, which must fail with a MilvusException (a Milvus status, not a transport
    error); with `code`, that exact Milvus status code."""
    try:
        result = fn()
    except MilvusException as exc:
        if code is not None:
            assert exc.code == code, f"expected Milvus code {code}, got {exc.code}: {error_text(exc)}"
        return exc
    raise AssertionError(f"expected a MilvusException, but the call succeeded: {result!r}")


def expect_refused(fn: Callable) -> BaseException:
    """Runs fn, which must fail in any way pymilvus reports (MilvusException, ParamError,
    grpc.RpcError, ...); returns the exception."""
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001
        return exc
    raise AssertionError(f"expected the call to be refused, but it succeeded: {result!r}")


def vectors(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of b with a (float64)."""
    a64 = a.astype(np.float64)
    b64 = np.atleast_2d(b).astype(np.float64)
    return (b64 @ a64) / (np.linalg.norm(b64, axis=1) * np.linalg.norm(a64))


def ip(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.atleast_2d(b).astype(np.float64) @ a.astype(np.float64)


def l2sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared L2 distance, which is what Milvus reports for metric L2."""
    d = np.atleast_2d(b).astype(np.float64) - a.astype(np.float64)
    return np.einsum("ij,ij->i", d, d)


def hit_ids(hits) -> List:
    """The primary keys of search hits (Hit.id reads the field the server names in
    SearchResultData.primary_field_name)."""
    return [h.id for h in hits]


def count_rows(client: MilvusClient, collection: str, filter: str = "", **kw) -> int:
    res = client.query(collection, filter=filter, output_fields=["count(*)"], **kw)
    return res[0]["count(*)"]


def deleted_count(result) -> int:
    """MilvusClient.delete returns the deleted keys (older servers) or {"delete_count": n}."""
    if isinstance(result, list):
        return len(result)
    return result["delete_count"]


# --------------------------------------------------------------------------------------
# The Quiver server process
# --------------------------------------------------------------------------------------

def _kill_leftovers():
    """Servers still running when pytest exits (an interrupted run) are killed."""
    for srv in _SERVERS:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.proc.kill()


atexit.register(_kill_leftovers)


class ServerStartError(Exception):
    pass


_SERVERS: List["QuiverServer"] = []


class QuiverServer:
    """One `quiver serve` process on a data directory."""

    def __init__(
        self,
        data_dir: Path,
        *,
        name: str = "quiver",
        root_password: Optional[str] = ROOT_PASSWORD,
        config: Optional[Path] = None,
        insecure: bool = False,
        listen: str = "127.0.0.1:0",
        extra_args: Iterable[str] = (),
    ):
        self.name = name
        self.data_dir = Path(data_dir)
        self.root_password_env = root_password
        self.config = config
        self.insecure = insecure
        self.listen = listen
        self.extra_args = list(extra_args)
        self.proc: Optional[subprocess.Popen] = None
        self.lines: List[str] = []  # "stdout| ..." / "stderr| ..."
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._readers: List[threading.Thread] = []
        self.host: Optional[str] = None
        self.port: Optional[int] = None
        self.mode: Optional[str] = None
        self.clients: List[MilvusClient] = []
        self.stopped_at: Optional[float] = None
        # The TLS arguments of a working client (mutual-TLS servers set a client certificate
        # here); None: one-way TLS trusting DIR/tls/ca.pem.
        self.client_tls: Optional[dict] = None
        self.reported_lines = 0  # log lines already attached to a failure report

    # -- process ------------------------------------------------------------------------

    def command(self) -> List[str]:
        cmd = [os.environ["QUIVER_BIN"], "serve", "--data-dir", str(self.data_dir), "--listen", self.listen]
        if self.config is not None:
            cmd += ["--config", str(self.config)]
        if self.insecure:
            cmd.append("--insecure")
        return cmd + self.extra_args

    def start(self, wait_ready: bool = True) -> "QuiverServer":
        env = dict(os.environ)
        env.pop("QUIVER_ROOT_PASSWORD", None)
        env["NO_COLOR"] = "1"
        if self.root_password_env is not None:
            env["QUIVER_ROOT_PASSWORD"] = self.root_password_env
        self._ready.clear()
        self.port = None
        self.stopped_at = None
        self.lines.append(f"harness| $ {' '.join(self.command())}")
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._readers = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr, "stderr"), daemon=True),
        ]
        for t in self._readers:
            t.start()
        _SERVERS.append(self)
        if wait_ready:
            self.wait_ready()
        return self

    def _drain(self, stream, label: str):
        for raw in iter(stream.readline, b""):
            line = ANSI_RE.sub("", raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            with self._lock:
                self.lines.append(f"{label}| {line}")
            if label == "stdout" and not self._ready.is_set():
                m = READY_RE.match(line)
                if m:
                    host, _, port = m.group("addr").rpartition(":")
                    self.host = host.strip("[]")
                    self.port = int(port)
                    self.mode = m.group("mode")
                    self._ready.set()
        stream.close()

    def wait_ready(self, timeout: float = READY_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None:
                self._join_readers()
                if self._ready.is_set():
                    break
                raise ServerStartError(
                    f"{self.name}: exited with code {self.proc.returncode} before printing the "
                    f"'quiver: listening on ...' line\n{self.logs(tail=40)}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise ServerStartError(f"{self.name}: not ready after {timeout} s\n{self.logs(tail=40)}")
        expected = "plaintext" if self.insecure else "tls"
        assert self.mode == expected, f"{self.name}: listening in {self.mode} mode, expected {expected}"

    def wait_exit(self, timeout: float) -> int:
        """Waits for the process to exit by itself; returns its exit code."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name}: still running after {timeout} s\n{self.logs()}")
        self._join_readers()
        self.stopped_at = time.time()
        return rc

    def _join_readers(self):
        for t in self._readers:
            t.join(timeout=5)

    def close_clients(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - closing a client of a dead server
                pass
        self.clients.clear()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, then waits; returns the exit code (kills and fails after `timeout`)."""
        self.close_clients()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name}: did not exit within {timeout} s of SIGTERM\n{self.logs()}")
        self._join_readers()
        self.stopped_at = time.time()
        return rc

    def stop_checked(self):
        """SIGTERM; asserts exit code 0 and that no password reached the logs."""
        rc = self.stop()
        assert rc == 0, f"{self.name}: exit code {rc} after SIGTERM (expected 0)\n{self.logs()}"
        self.assert_no_secrets_logged()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._join_readers()
        self.stopped_at = time.time()

    def logs(self, tail: Optional[int] = None) -> str:
        with self._lock:
            lines = list(self.lines)
        if tail is not None and len(lines) > tail:
            lines = [f"... ({len(lines) - tail} earlier lines)"] + lines[-tail:]
        return "\n".join(lines)

    def output(self) -> str:
        """What the server printed (stdout and stderr), without the harness's lines."""
        with self._lock:
            return "\n".join(line for line in self.lines if not line.startswith("harness|"))

    def assert_no_secrets_logged(self, extra: Iterable[str] = ()):
        out = self.output()
        leaked = [s for s in set(SECRETS) | set(extra) if s and s in out]
        assert not leaked, f"{self.name}: password(s) in the server's output: {leaked}\n{out}"

    # -- TLS files ------------------------------------------------------------------------

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def ca_pem(self) -> Path:
        return self.tls_dir / "ca.pem"

    # -- clients ----------------------------------------------------------------------------

    @property
    def root_password(self) -> str:
        if self.root_password_env is not None:
            return self.root_password_env
        return (self.data_dir / "initial-root-password").read_text().strip()

    @property
    def uri(self) -> str:
        if self.insecure:
            return f"http://127.0.0.1:{self.port}"
        return f"https://localhost:{self.port}"

    def tls_kwargs(self) -> dict:
        """pymilvus's TLS arguments for a client that should get in."""
        if self.insecure:
            return {}
        if self.client_tls is not None:
            return dict(self.client_tls)
        return {"server_pem_path": str(self.ca_pem), "server_name": "localhost"}

    def client(
        self,
        user: str = "root",
        password: Optional[str] = None,
        *,
        token: Optional[str] = None,
        db_name: str = "",
        uri: Optional[str] = None,
        tls: Optional[dict] = None,
        timeout: float = CONNECT_TIMEOUT_S,
    ) -> MilvusClient:
        """A dedicated MilvusClient (never shared with another test's connection)."""
        if token is None:
            token = f"{user}:{self.root_password if password is None else password}"
        kwargs = self.tls_kwargs() if tls is None else tls
        c = MilvusClient(
            uri=uri or self.uri, token=token, db_name=db_name, timeout=timeout, dedicated=True, **kwargs
        )
        self.clients.append(c)
        return c


    # -- raw gRPC, below pymilvus -----------------------------------------------------------

    def raw_channel(self) -> grpc.Channel:
        """A channel that adds no metadata of its own (pymilvus always adds its own)."""
        if self.insecure:
            return grpc.insecure_channel(f"127.0.0.1:{self.port}")
        kw = self.tls_kwargs()

        def read(key):
            return Path(kw[key]).read_bytes() if kw.get(key) else None

        creds = grpc.ssl_channel_credentials(
            root_certificates=read("server_pem_path") or read("ca_pem_path"),
            private_key=read("client_key_path"),
            certificate_chain=read("client_pem_path"),
        )
        return grpc.secure_channel(f"localhost:{self.port}", creds)

    def raw_call(self, method: str, request, metadata=(), timeout: float = 10):
        with self.raw_channel() as channel:
            stub = milvus_pb2_grpc.MilvusServiceStub(channel)
            return getattr(stub, method)(request, metadata=list(metadata), timeout=timeout)

    def settle(self, timeout: float = 60):
        """Waits until root can log in again. Failed-login throttling locks the client address
        (127.0.0.1, shared by every test) for a while after 5 failures within 60 s, so tests
        call this after provoking failed logins, before anything else."""
        deadline = time.monotonic() + timeout
        last: Optional[BaseException] = None
        while time.monotonic() < deadline:
            try:
                resp = self.raw_call("GetVersion", milvus_pb2.GetVersionRequest(), [auth_header("root", self.root_password)], timeout=5)
                if resp.status.code == 0 and resp.status.error_code == 0:
                    return
                last = AssertionError(f"GetVersion status {resp.status}")
            except grpc.RpcError as exc:
                last = exc
            time.sleep(0.25)
        raise AssertionError(f"{self.name}: root still refused {timeout} s after failed logins: {error_text(last)}")


def auth_header(user: str, password: str):
    """The `authorization` metadata pymilvus sends: base64("user:password")."""
    return ("authorization", base64.b64encode(f"{user}:{password}".encode()).decode())


def expect_login_refused(server: "QuiverServer", fn: Callable):
    """fn must fail with UNAUTHENTICATED; then waits out any address lockout it caused."""
    try:
        return expect_unauthenticated(fn)
    finally:
        server.settle()


class LiteTarget:
    """milvus-lite on a local file, standing in for Quiver in QUIVER_TEST_TARGET=milvus-lite
    mode. It has no users: every client is the same anonymous one."""

    def __init__(self, directory: Path):
        self.db = Path(directory) / "milvus.db"
        self.clients: List[MilvusClient] = []

    def client(self, user: str = "root", password: Optional[str] = None, *, db_name: str = "", **_ignored):
        c = MilvusClient(uri=str(self.db), db_name=db_name, dedicated=True)
        self.clients.append(c)
        return c

    def close(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass


def start_server(tmp_path_factory, name: str, **kwargs) -> QuiverServer:
    return QuiverServer(tmp_path_factory.mktemp(name), name=name, **kwargs).start()


@pytest.fixture(scope="module")
def target(tmp_path_factory, request):
    """The system under test for data-path tests: a Quiver server for the module, or
    milvus-lite in QUIVER_TEST_TARGET=milvus-lite mode."""
    if LITE:
        t = LiteTarget(tmp_path_factory.mktemp("lite"))
        yield t
        t.close()
        return
    name = request.module.__name__.rpartition(".")[2]
    srv = start_server(tmp_path_factory, name)
    yield srv
    srv.stop_checked()


@pytest.fixture(scope="module")
def root(target) -> MilvusClient:
    """An administrator's client on `target` (root in Quiver mode)."""
    return target.client()


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """A Quiver server for the module (Quiver-only modules)."""
    if LITE:
        pytest.skip("needs the Quiver server")
    name = request.module.__name__.rpartition(".")[2]
    srv = start_server(tmp_path_factory, name)
    yield srv
    srv.stop_checked()


@pytest.fixture
def spawn(tmp_path_factory):
    """Starts servers of the test's own: spawn(name, data_dir=None, **QuiverServer kwargs).
    Those still running at teardown get SIGTERM and must exit 0 without logging a secret."""
    started: List[QuiverServer] = []

    def _spawn(name: str, data_dir: Optional[Path] = None, wait_ready: bool = True, **kwargs) -> QuiverServer:
        if LITE:
            pytest.skip("needs the Quiver server")
        srv = QuiverServer(data_dir or tmp_path_factory.mktemp(name), name=name, **kwargs)
        started.append(srv)
        return srv.start(wait_ready=wait_ready)

    yield _spawn
    for srv in started:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.stop_checked()
        else:
            srv.assert_no_secrets_logged()


# --------------------------------------------------------------------------------------
# A machine-readable record of outcomes for the Rust harness (pymilvus_suite.rs)
# --------------------------------------------------------------------------------------

_RESULTS = os.environ.get("QUIVER_PYTEST_RESULTS")


def _record(phase: str, outcome: str, nodeid: str):
    if _RESULTS:
        with open(_RESULTS, "a", encoding="utf-8") as f:
            f.write(f"{phase}\t{outcome}\t{nodeid}\n")


def pytest_runtest_logreport(report):
    outcome = report.outcome  # passed, failed, skipped
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else "xpassed"
    if report.when == "call" or outcome != "passed":
        _record(report.when, outcome, report.nodeid)


def pytest_collectreport(report):
    if report.failed:
        _record("collect", "failed", report.nodeid or "<collection>")


# --------------------------------------------------------------------------------------
# Failure reports carry the server logs
# --------------------------------------------------------------------------------------


def pytest_runtest_logstart(nodeid, location):
    global _ITEM_STARTED
    _ITEM_STARTED = time.time()


_ITEM_STARTED = 0.0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for srv in _SERVERS:
        alive = srv.proc is not None and srv.proc.poll() is None
        stopped_during_test = srv.stopped_at is not None and srv.stopped_at >= _ITEM_STARTED
        if alive or stopped_during_test:
            with srv._lock:
                new = srv.lines[srv.reported_lines :]
                srv.reported_lines = len(srv.lines)
            if len(new) > 200:
                new = [f"... ({len(new) - 200} earlier lines)"] + new[-200:]
            text = "\n".join(new) if new else "(nothing new since the log shown with an earlier failure)"
            report.sections.append((f"quiver server '{srv.name}' ({srv.data_dir}) output", text))
