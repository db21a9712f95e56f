"""TLS verification stays on: a destination with a certificate we do not trust is refused, not retried."""

from __future__ import annotations

import datetime as dt
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reverse_etl.config import SyncConfig
from reverse_etl.demo_server import WebhookServer
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience


def self_signed(folder) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


def test_untrusted_certificate_stops_the_sync_without_retrying(warehouse, tmp_path, make_destination):
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    create_audience(warehouse, 5)
    with WebhookServer() as server:
        server._server.socket = context.wrap_socket(server._server.socket, server_side=True)
        destination = make_destination(type="webhook", url=server.url.replace("http://", "https://"))
        result = run_sync(warehouse, SyncConfig(audience=AUDIENCE, destination="dest"), destination)
    assert result.status == "failed" and "TLS verification failed" in result.stopped
    assert "CERTIFICATE_VERIFY_FAILED" in result.stopped  # a real handshake, refused for trust
    assert result.retries == 0 and server.members(AUDIENCE) == {}
