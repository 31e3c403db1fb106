"""Our .proto declarations (crates/quiver-api/proto) against the Milvus descriptors that
pymilvus 3.0.2 ships: every message, field number, type, label, enum value and RPC we
declare must be Milvus's, or pymilvus would talk past the server."""
import pathlib
import subprocess
import sys

from conftest import requires_quiver

REPO = pathlib.Path(__file__).resolve().parents[4]
CHECKER = REPO / "crates/quiver-api/tests/proto_check.py"
PROTO_DIR = REPO / "crates/quiver-api/proto"


@requires_quiver
def test_proto_field_numbers_match_pymilvus_descriptors():
    result = subprocess.run(
        [sys.executable, str(CHECKER), str(PROTO_DIR)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all match" in result.stdout, result.stdout
    # The declarations cover the service: every RPC the server implements is checked.
    assert " 68 RPCs checked" in result.stdout, result.stdout
