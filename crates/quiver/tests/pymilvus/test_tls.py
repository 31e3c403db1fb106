"""TLS by default: the generated CA and server certificate, one-way TLS, plaintext and
untrusted clients refused, configured certificates, mutual TLS with and without a client
certificate, and --insecure (loopback only). Quiver only."""

import datetime
import ipaddress
import json
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import (
    READY_RE,
    QuiverServer,
    expect_login_refused,
    expect_refused,
    requires_quiver,
    strong_password,
    user_name,
    wrong_password,
)

pytestmark = requires_quiver

CONNECT_FAIL_TIMEOUT_S = 5


# -- certificates made with `cryptography` -------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(directory: Path, stem: str, cert: x509.Certificate, key) -> SimpleNamespace:
    pem = directory / f"{stem}.pem"
    key_path = directory / f"{stem}.key"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return SimpleNamespace(cert=cert, key=key, pem=pem, key_path=key_path)


def make_ca(directory: Path, cn: str) -> SimpleNamespace:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _write(directory, cn, cert, key)


def make_leaf(directory: Path, ca: SimpleNamespace, cn: str, *, server: bool) -> SimpleNamespace:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return _write(directory, cn, builder.sign(ca.key, hashes.SHA256()), key)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    client_ca = make_ca(d, "client-ca")
    rogue_ca = make_ca(d, "rogue-ca")
    server_ca = make_ca(d, "custom-server-ca")
    return SimpleNamespace(
        dir=d,
        client_ca=client_ca,
        client=make_leaf(d, client_ca, "quiver-test-client", server=False),
        rogue_client=make_leaf(d, rogue_ca, "rogue-client", server=False),
        rogue_ca=rogue_ca,
        server_ca=server_ca,
        server=make_leaf(d, server_ca, "localhost", server=True),
    )


def write_config(path: Path, **tls) -> Path:
    lines = ["[tls]"] + [f"{key} = {json.dumps(str(value))}" for key, value in tls.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


# -- the generated CA and certificate ------------------------------------------------------


def test_generated_certificates(server):
    tls = server.tls_dir
    for name in ("ca.pem", "server.pem", "server.key"):
        assert (tls / name).is_file(), f"missing {tls / name}"
    # Every private key the server keeps is readable by its owner only.
    for path in tls.iterdir():
        if path.is_file() and b"PRIVATE KEY" in path.read_bytes():
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, f"{path} has mode {oct(mode)}"
    assert stat.S_IMODE((tls / "server.key").stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in (tls / "ca.pem").read_bytes()
    assert b"PRIVATE KEY" not in (tls / "server.pem").read_bytes()

    ca = x509.load_pem_x509_certificate((tls / "ca.pem").read_bytes())
    certs = x509.load_pem_x509_certificates((tls / "server.pem").read_bytes())
    leaf = certs[0]
    leaf.verify_directly_issued_by(ca)  # raises if the CA did not sign it
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    try:  # absent means "not a CA" (RFC 5280)
        assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    except x509.ExtensionNotFound:
        pass
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    ips = set(san.get_values_for_type(x509.IPAddress))
    assert {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")} <= ips
    now = datetime.datetime.now(datetime.timezone.utc)
    assert leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc


def test_one_way_tls_with_the_generated_ca(server):
    assert server.client().get_server_version()
    # By IP address too: the certificate has 127.0.0.1 among its names.
    c = server.client(uri=f"https://127.0.0.1:{server.port}", tls={"server_pem_path": str(server.ca_pem)})
    assert "root" in c.list_users()


def test_plaintext_client_is_refused(server):
    expect_refused(
        lambda: server.client(uri=f"http://127.0.0.1:{server.port}", tls={}, timeout=CONNECT_FAIL_TIMEOUT_S)
    )


def test_client_that_does_not_trust_the_ca_is_refused(server, pki):
    # Trusting another CA, or the system's roots only.
    expect_refused(
        lambda: server.client(
            tls={"server_pem_path": str(pki.rogue_ca.pem), "server_name": "localhost"}, timeout=CONNECT_FAIL_TIMEOUT_S
        )
    )
    expect_refused(lambda: server.client(tls={"secure": True}, timeout=CONNECT_FAIL_TIMEOUT_S))


def test_certificate_must_name_the_server(server):
    expect_refused(
        lambda: server.client(
            tls={"server_pem_path": str(server.ca_pem), "server_name": "not-this-server.example"},
            timeout=CONNECT_FAIL_TIMEOUT_S,
        )
    )


# -- configured certificates and mutual TLS -------------------------------------------------


def test_configured_server_certificate(spawn, pki, tmp_path):
    config = write_config(tmp_path / "quiver.toml", cert=pki.server.pem, key=pki.server.key_path)
    srv = spawn("tls_custom", config=config)
    c = srv.client(tls={"server_pem_path": str(pki.server_ca.pem), "server_name": "localhost"})
    assert c.get_server_version()
    if srv.ca_pem.exists():  # a generated CA, if any, did not sign what is served
        expect_refused(lambda: srv.client(timeout=CONNECT_FAIL_TIMEOUT_S))


@pytest.fixture(scope="module")
def mtls(tmp_path_factory, pki):
    config = write_config(tmp_path_factory.mktemp("mtls_cfg") / "quiver.toml", client_ca=pki.client_ca.pem)
    srv = QuiverServer(tmp_path_factory.mktemp("mtls"), name="mtls", config=config)
    srv.client_tls = mtls_kwargs(srv, pki.client)  # what settle() and server.client() use
    srv.start()
    yield srv
    srv.stop_checked()


def mtls_kwargs(srv, leaf) -> dict:
    return {
        "client_pem_path": str(leaf.pem),
        "client_key_path": str(leaf.key_path),
        "ca_pem_path": str(srv.ca_pem),
        "server_name": "localhost",
    }


def test_mutual_tls_with_a_client_certificate(mtls, pki):
    c = mtls.client()  # with mtls_kwargs(mtls, pki.client)
    assert c.get_server_version()
    name = user_name("mtls")
    c.create_user(name, strong_password())
    assert name in c.list_users()


def test_mutual_tls_without_a_client_certificate_is_refused(mtls):
    one_way = {"server_pem_path": str(mtls.ca_pem), "server_name": "localhost"}
    expect_refused(lambda: mtls.client(tls=one_way, timeout=CONNECT_FAIL_TIMEOUT_S))


def test_mutual_tls_with_a_certificate_from_another_ca_is_refused(mtls, pki):
    expect_refused(lambda: mtls.client(tls=mtls_kwargs(mtls, pki.rogue_client), timeout=CONNECT_FAIL_TIMEOUT_S))


def test_mutual_tls_still_authenticates(mtls, pki):
    kwargs = mtls_kwargs(mtls, pki.client)
    expect_login_refused(mtls, lambda: mtls.client("root", wrong_password(), tls=kwargs))
    expect_login_refused(mtls, lambda: mtls.client(token="", tls=kwargs))


# -- --insecure ----------------------------------------------------------------------------


def test_insecure_mode_serves_plaintext_with_authentication(spawn):
    srv = spawn("insecure", insecure=True)
    assert srv.mode == "plaintext"
    c = srv.client()
    assert srv.uri.startswith("http://")
    assert c.get_server_version() and "root" in c.list_users()
    expect_login_refused(srv, lambda: srv.client(token=""))
    expect_login_refused(srv, lambda: srv.client("root", wrong_password()))


def test_insecure_mode_refuses_a_non_loopback_address(tmp_path_factory):
    srv = QuiverServer(
        tmp_path_factory.mktemp("insecure_any"), name="insecure_any", insecure=True, listen="0.0.0.0:0"
    )
    srv.start(wait_ready=False)
    rc = srv.wait_exit(20)
    assert rc != 0, f"--insecure accepted 0.0.0.0\n{srv.logs()}"
    stdout = [line.split("| ", 1)[1] for line in srv.lines if line.startswith("stdout| ")]
    assert not any(READY_RE.match(line) for line in stdout)
